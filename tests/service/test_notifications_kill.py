"""A worker killed (SIGKILL) in the middle of a delivery: no duplicate incident, no lost delivery.

The doomed worker is a real process running the incidents and notifications jobs; the receiver (a
real HTTP server on 127.0.0.1) holds its first request until the worker is dead. Another worker
then finds the delivery's lease run out and delivers it. The receiver may have seen the first
attempt too (at-least-once): it is the same delivery id (``X-Meshplane-Delivery``), which is what
receivers deduplicate on. SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from notify_support import add_targets

from meshplane.registry import Registry, store_test_run
from meshplane.registry import incidents as incident_store
from meshplane.registry import notifications as store
from meshplane.registry.worker import Worker
from meshplane.service import incidents
from meshplane.service.gitops import apply_mesh
from meshplane.service.notifications import NotificationJob
from meshplane.settings import get_settings

REPO = Path(__file__).resolve().parents[2]
ORDERS = "retail.sales.orders"

WORKER = textwrap.dedent(
    """
    import sys
    from meshplane.registry import Registry
    from meshplane.registry.worker import Worker
    from meshplane.service.incidents import IncidentJob
    from meshplane.service.notifications import NotificationJob

    with Registry(sys.argv[1]) as registry:
        Worker(registry, [IncidentJob(), NotificationJob()], worker_id="doomed", lease_s=1, poll_s=0.1).run()
    """
)


class HoldingReceiver:
    """Holds its first request until `release`; answers 200; records every hit's delivery id."""

    def __init__(self) -> None:
        self.first = threading.Event()
        self.release = threading.Event()
        self.hits: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.hits.append(self.headers["X-Meshplane-Delivery"])
                if not outer.first.is_set():
                    outer.first.set()
                    outer.release.wait(30)
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the sender is gone

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh registry (SQLite, PostgreSQL); short notification timeouts for this process and the doomed one."""
    monkeypatch.delenv("MESHPLANE_DATABASE_URL", raising=False)
    monkeypatch.setenv("MESHPLANE_NOTIFY_TIMEOUT_SECONDS", "2")
    monkeypatch.setenv("MESHPLANE_NOTIFY_BACKOFF_SECONDS", "0.1")
    get_settings.cache_clear()
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'r.db'}"
    else:
        yield str(request.getfixturevalue("postgres_url"))
    get_settings.cache_clear()


@pytest.mark.timeout(120)
def test_a_worker_killed_mid_delivery_loses_nothing_and_duplicates_no_incident(url: str, tmp_path: Path) -> None:
    receiver = HoldingReceiver()
    try:
        mesh = Path(
            shutil.copytree(REPO / "examples/holding", tmp_path / "mesh", ignore=shutil.ignore_patterns("lake"))
        )
        add_targets(mesh / "domains/retail/domain.yaml", f"  - name: ops\n    webhook: {receiver.url}\n")
        add_targets(mesh / "domains/finance/domain.yaml", f"  - name: fin\n    webhook: {receiver.url}\n")
        with Registry(url) as registry:
            apply_mesh(mesh, registry=registry, actor="test")
            run = {
                "contract": {"id": ORDERS, "version": "1.2.0"}, "server": "lake", "engine": "duckdb",
                "result": "failed", "startedAt": "2026-11-20T10:00:00+00:00",
                "checks": [{"id": "orders.order_id.required", "object": "orders", "property": "order_id",
                            "status": "failed", "observed": 2, "message": "2 nulls"}],
            }  # fmt: skip
            store_test_run(registry, run, actor="ci")

        script = tmp_path / "doomed_worker.py"
        script.write_text(WORKER, encoding="utf-8")
        doomed = subprocess.Popen([sys.executable, str(script), url], env=dict(os.environ))
        try:
            assert receiver.first.wait(60), "the doomed worker never delivered"
            os.kill(doomed.pid, signal.SIGKILL)  # in the middle of its first delivery
            doomed.wait(10)
        finally:
            if doomed.poll() is None:
                doomed.kill()
        receiver.release.set()

        with Registry(url) as registry:
            with registry.read() as session:
                held = [d for d in store.of_incident(session, 1) if d.claimed_by == "doomed"]
            assert held and all(d.state == "pending" for d in held)  # died holding its claim
            survivor = Worker(registry, [NotificationJob()], worker_id="survivor", lease_s=1)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                survivor.run_jobs_once()
                with registry.read() as session:
                    rows = store.of_incident(session, 1)
                if rows and all(d.state == "delivered" for d in rows):
                    break
                time.sleep(0.2)
            assert incidents.process_test_runs(registry)[0] == 0  # every run was processed, once
            page = incidents.list_incidents(registry, contract=ORDERS)
            with registry.read() as session:
                rows = store.of_incident(session, 1)
                events = incident_store.events_of(session, 1)
    finally:
        receiver.close()
    assert page.total == 1  # no duplicate incident
    assert [e.kind for e in events] == ["opened"] and events[0].notified_at is not None
    assert sorted((d.domain_id, d.target, d.state) for d in rows) == [("finance", "fin", "delivered"),
                                                                     ("retail", "ops", "delivered")]  # fmt: skip
    assert {str(d.id) for d in rows} == set(receiver.hits)  # nothing lost; a repeat carries the same id
    assert any(d.attempts_log[-1]["by"] == "survivor" for d in rows)
