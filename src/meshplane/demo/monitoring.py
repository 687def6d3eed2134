"""The demo's monitoring step: incidents from failing tests, notified to a local webhook, resolved by a fix.

Every domain of the demo mesh declares a webhook on a receiver the step starts on 127.0.0.1 (one
path per domain), applied like any domain.yaml change. The worker's incidents and notifications
jobs then run a few cycles: the planted bad product (campaign responses, tested by the earlier step)
opens its incidents and marketing hears of them. The step then breaks the retail orders (a file of
rows without an order id lands in the lake), tests them: retail hears of the incident, and so does
every domain consuming the orders, with its products named. Removing the file and testing again
resolves the incident, and everyone hears that too. The domain files are put back as they were.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from meshplane.demo.steps import DemoOptions, DemoStep
    from meshplane.registry import Registry

ORDERS = "retail.sales.orders"
ORDERS_FOLDER = Path("retail/sales/orders")
BROKEN_FILE = "zz-demo-missing-order-ids.parquet"


@dataclass
class WebhookInbox:
    """A local webhook receiver: every JSON body it was sent, with the path (the domain) it came to."""

    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self) -> list[tuple[str, dict[str, Any]]]:
        """What arrived since the last call."""
        with self.lock:
            out, self.received = self.received, []
        return out


@contextmanager
def webhook_receiver() -> Iterator[tuple[str, WebhookInbox]]:
    """Serve a receiver on 127.0.0.1 while the block runs; (its base URL, its inbox)."""
    inbox = WebhookInbox()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with inbox.lock:
                inbox.received.append((self.path.strip("/"), json.loads(body)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", inbox
    finally:
        server.shutdown()
        server.server_close()


def _cycles(registry: Registry, count: int = 4) -> None:
    from meshplane.registry.worker import Worker
    from meshplane.service.incidents import IncidentJob
    from meshplane.service.notifications import NotificationJob

    worker = Worker(registry, [IncidentJob(), NotificationJob()], worker_id="demo")
    for _ in range(count):
        worker.run_jobs_once()


def _describe(messages: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """One line per incident event: what it says, which webhooks heard it, which consumers it names."""
    events: dict[int, tuple[dict[str, Any], list[str]]] = {}
    for domain, payload in messages:
        events.setdefault(payload["event"]["id"], (payload, []))[1].append(domain)
    lines = []
    for payload, domains in events.values():
        incident, event = payload["incident"], payload["event"]
        provider = incident["domain"]
        others = sorted(d for d in domains if d != provider)
        heard = ", ".join(([f"{provider} (provider)"] if provider in domains else []) + others)
        lines.append(
            f"  {event['kind']} #{incident['id']} {incident['contract']} {incident['check']} "
            f"(last observed {incident['observed']!r}) → webhooks of {heard}"
        )
        consumers = [
            f"{c['product']} ({c['domain']})" for c in payload["affected"]["consumers"] if c["domain"] != provider
        ]
        if consumers:
            lines.append(f"      consumers in other domains: {', '.join(consumers)}")
    return lines


def _test_orders(options: DemoOptions, registry: Registry, minutes: int) -> str:
    """Test the orders as of `minutes` after the demo's moment (each run its own, never a duplicate of another)."""
    from meshplane.registry import record_test_run
    from meshplane.service.testing import run_tests

    mesh = options.work_dir / "mesh"
    moment = (options.now or datetime.now(UTC)) + timedelta(minutes=minutes)
    [run] = run_tests(ORDERS, mesh_root=mesh, clock=lambda: moment)
    record_test_run(registry, run.to_dict(), actor="demo")
    return str(run.to_dict()["result"])


def _break_orders(lake: Path) -> Path:
    """Write a file of three orders without an order id beside the good ones."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = lake / ORDERS_FOLDER
    sample = pq.read_table(sorted(folder.glob("*.parquet"))[0]).slice(0, 3)
    column = sample.schema.get_field_index("order_id")
    field_ = sample.schema.field(column)
    broken = sample.set_column(column, field_.with_nullable(True), pa.nulls(3, field_.type))
    target = folder / BROKEN_FILE
    pq.write_table(broken, target)
    return target


def monitor_and_notify(options: DemoOptions) -> DemoStep:
    """Run the worker's monitoring for a few cycles against a local webhook; break and fix the orders."""
    from meshplane.demo.steps import DemoStep, demo_registry
    from meshplane.service.gitops import apply_mesh
    from meshplane.service.incidents import list_incidents

    mesh = options.work_dir / "mesh"
    domain_files = sorted((mesh / "domains").glob("*/domain.yaml"))
    originals = {path: path.read_text(encoding="utf-8") for path in domain_files}
    lines: list[str] = []
    with webhook_receiver() as (base, inbox), demo_registry(options) as registry:
        try:
            for path in domain_files:
                target = f"notifications:\n  - name: demo-webhook\n    webhook: {base}/{path.parent.name}\n"
                path.write_text(originals[path].rstrip("\n") + "\n" + target, encoding="utf-8")
            apply_mesh(mesh, actor="demo", registry=registry)
            lines.append(f"webhook receiver on {base}/<domain>, declared in every domain.yaml and applied")

            _cycles(registry)
            planted = inbox.take()
            opened = list_incidents(registry, state="open").total
            lines.append(f"worker cycles over the recorded test runs: {opened} incident(s) open")
            lines += _describe(planted)

            broken = _break_orders(Path(str(mesh / "lake")))
            result = _test_orders(options, registry, 1)
            _cycles(registry)
            on_break = inbox.take()
            lines.append(f"{ORDERS} with 3 orders lacking an order id: test {result}")
            lines += _describe(on_break)

            broken.unlink()
            result = _test_orders(options, registry, 2)
            _cycles(registry)
            on_fix = inbox.take()
            lines.append(f"the file removed, {ORDERS} tested again: {result}")
            lines += _describe(on_fix)
            still = list_incidents(registry, state="unresolved", contract=ORDERS).total
        finally:
            for path, text in originals.items():
                path.write_text(text, encoding="utf-8")
            apply_mesh(mesh, actor="demo", registry=registry)
    heard = {domain for domain, payload in on_break if payload["event"]["kind"] in ("opened", "reopened")}
    ok = (
        bool(planted)
        and {"retail", "finance"} <= heard
        and still == 0
        and any(payload["event"]["kind"] == "resolved" for _, payload in on_fix)
    )
    return DemoStep("Monitor: incidents, notifications to a local webhook, resolved by a fix", ok, lines, on_break)


__all__ = ["WebhookInbox", "monitor_and_notify", "webhook_receiver"]
