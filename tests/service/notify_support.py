"""A real webhook receiver for the notification tests: an http.server on 127.0.0.1 in a thread."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    """Answers POSTs with the next status of `statuses` (then 200), recording what it accepted and every hit."""

    def __init__(self, statuses: list[int] | None = None, *, delay_s: float = 0.0) -> None:
        self.statuses = list(statuses or [])
        self.delay_s = delay_s
        self.hits: list[tuple[int, dict[str, str], bytes]] = []
        self.accepted: list[tuple[dict[str, str], bytes]] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if outer.delay_s:
                    time.sleep(outer.delay_s)
                with outer.lock:
                    status = outer.statuses.pop(0) if outer.statuses else 200
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    outer.hits.append((status, headers, body))
                    if status < 300:
                        outer.accepted.append((headers, body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The receiver's address."""
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def payloads(self) -> list[dict[str, Any]]:
        """The JSON bodies accepted, in order."""
        with self.lock:
            return [json.loads(body) for _, body in self.accepted]


def add_targets(domain_yaml: Any, targets: str) -> None:
    """Append a ``notifications:`` block (YAML text, indented list items) to a domain.yaml."""
    text = domain_yaml.read_text(encoding="utf-8")
    domain_yaml.write_text(text.rstrip("\n") + "\nnotifications:\n" + targets, encoding="utf-8")


PUBLIC = "https://meshplane.test.example"
"""The public URL the notification tests give the server (links in messages)."""


def notify_environment(monkeypatch: Any, secret: str) -> None:
    """Short backoff and retry window, a public URL and the webhook secret (``HOOK_SECRET``) in the
    environment, no registry URL; the settings are read again (clear `get_settings`'s cache after the test)."""
    from meshplane.settings import get_settings

    monkeypatch.delenv("MESHPLANE_DATABASE_URL", raising=False)
    monkeypatch.setenv("MESHPLANE_NOTIFY_BACKOFF_SECONDS", "0.05")
    monkeypatch.setenv("MESHPLANE_NOTIFY_RETRY_WINDOW_SECONDS", "60")
    monkeypatch.setenv("MESHPLANE_NOTIFY_TIMEOUT_SECONDS", "2")
    monkeypatch.setenv("MESHPLANE_PUBLIC_URL", PUBLIC + "/")
    monkeypatch.setenv("HOOK_SECRET", secret)
    get_settings.cache_clear()
