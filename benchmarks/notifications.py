"""Notifications benchmark: from a breach to the webhook delivered, through a running worker.

    .venv/bin/python benchmarks/notifications.py                # 40 breaches on SQLite
    .venv/bin/python benchmarks/notifications.py --breaches 10  # a smoke run

The example mesh is applied to a fresh SQLite registry with a webhook target (signed) on the
providing domain and one on a consumer domain, both a real HTTP receiver on 127.0.0.1. A worker
runs in a thread with its production jobs for incidents and notifications (poll interval
`MESHPLANE_WORKER_POLL_SECONDS`, 0.2 s). Each breach is a failing test run stored as CI stores it
(the moment the evaluation cycle records its outcome); the sample is the time until the provider's
receiver has the ``opened`` (later ``reopened``) message. It includes the incidents pass that opens the incident, the
fan-out, the blast radius and the delivery: everything after the cycle. A passing run then resolves
the incident before the next breach (its messages are delivered too, not timed).

Reference in the same run: a bare signed POST of the same payload to the same receiver (the floor of
any delivery). Target (issue 16): p95 <= 2 s beyond the cycle.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from meshplane.registry import Registry, store_test_run
from meshplane.registry.worker import Worker
from meshplane.service.gitops import apply_mesh
from meshplane.service.incidents import IncidentJob
from meshplane.service.notifications import NotificationJob
from meshplane.service.notify.webhook import signature
from meshplane.settings import get_settings

REPO = Path(__file__).resolve().parents[1]
ORDERS = "retail.sales.orders"


class Receiver:
    """Records when each event kind arrived."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, str]] = []
        self.cond = threading.Condition()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with outer.cond:
                    outer.arrivals.append((time.perf_counter(), self.headers.get("X-Meshplane-Event", "")))
                    outer.cond.notify_all()
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def wait_for(self, kinds: tuple[str, ...], after: float, timeout: float = 30.0) -> float:
        """The arrival time of the first message of one of `kinds` after `after`."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for at, got in self.arrivals:
                    if got in kinds and at > after:
                        return at
                left = deadline - time.monotonic()
                if left <= 0:
                    raise SystemExit(f"no {'/'.join(kinds)} message within {timeout} s")
                self.cond.wait(left)


def run_document(result: str, n: int) -> dict[str, Any]:
    """The `n`-th test run of the orders contract with one check failing or passing (distinct: not a duplicate)."""
    return {
        "contract": {"id": ORDERS, "version": "1.2.0"}, "server": "lake", "engine": "duckdb", "result": result,
        "startedAt": f"2026-11-20T10:00:{n % 60:02d}.{n:06d}+00:00",
        "checks": [{"id": "orders.order_id.required", "kind": "required", "object": "orders", "property": "order_id",
                    "status": result, "observed": 4 if result == "failed" else 0, "message": "nulls"}],
    }  # fmt: skip


def percentile(values: list[float], q: float) -> float:
    """The `q` quantile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--breaches", type=int, default=40)
    args = parser.parse_args()
    os.environ["BENCH_WEBHOOK_SECRET"] = "benchmark-secret"
    get_settings.cache_clear()
    provider, consumer = Receiver(), Receiver()
    with tempfile.TemporaryDirectory() as tmp:
        mesh = Path(
            shutil.copytree(REPO / "examples/holding", Path(tmp) / "mesh", ignore=shutil.ignore_patterns("lake"))
        )
        for domain, receiver in (("retail", provider), ("finance", consumer)):
            path = mesh / "domains" / domain / "domain.yaml"
            path.write_text(
                path.read_text(encoding="utf-8")
                + f"notifications:\n  - name: hook\n    webhook: {receiver.url}\n    secretEnv: BENCH_WEBHOOK_SECRET\n",
                encoding="utf-8",
            )
        with Registry(f"sqlite:///{tmp}/r.db") as registry:
            apply_mesh(mesh, registry=registry, actor="benchmark")
            worker = Worker(registry, [IncidentJob(), NotificationJob()], poll_s=get_settings().worker_poll_seconds)
            worker.start()
            samples: list[float] = []
            for n in range(args.breaches):
                started = time.perf_counter()
                store_test_run(registry, run_document("failed", 2 * n), actor="benchmark")
                samples.append(provider.wait_for(("opened", "reopened"), started) - started)
                resolved_at = time.perf_counter()
                store_test_run(registry, run_document("passed", 2 * n + 1), actor="benchmark")
                provider.wait_for(("resolved",), resolved_at)
            worker.stop()
        body = json.dumps({"schema": "meshplane/incident-notification/v1", "bench": True}).encode()
        floor: list[float] = []
        with httpx.Client() as client:
            for _ in range(args.breaches):
                started = time.perf_counter()
                client.post(provider.url, content=body, headers={"X-Meshplane-Signature": signature("x", body)})
                floor.append(time.perf_counter() - started)
    p50, p95 = statistics.median(samples), percentile(samples, 0.95)
    report = {
        "breaches": args.breaches,
        "breachToWebhookP50Seconds": round(p50, 3),
        "breachToWebhookP95Seconds": round(p95, 3),
        "breachToWebhookMaxSeconds": round(max(samples), 3),
        "barePostP95Seconds": round(percentile(floor, 0.95), 4),
        "ratioP95ToBarePost": round(p95 / max(percentile(floor, 0.95), 1e-6), 1),
        "consumerMessages": len(consumer.arrivals),
        "targetP95Seconds": 2.0,
        "met": p95 <= 2.0,
    }
    print(json.dumps(report, indent=2))
    return 0 if report["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
