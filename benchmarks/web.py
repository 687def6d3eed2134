"""Web cockpit benchmark: server time per page and page weight on a synthetic mesh (SQLite).

    .venv/bin/python benchmarks/web.py                    # 2,000 products, 10,000 edges, 100,000 test runs
    .venv/bin/python benchmarks/web.py --quick            # 200 products, 1,000 edges, 10,000 runs

A synthetic mesh (`tests/registry/synthetic_mesh.py`) is applied to a fresh SQLite registry, and
--runs test runs (spread over the last 30 days and over every contract, one in ten failed) are
inserted in bulk. The server's worker jobs (`api.app.server_jobs`) then run until nothing waits,
as the server's worker would have while those runs arrived one by one (the incident job reads
every run once): the registry is in its steady state. The server (`create_app` under uvicorn on
127.0.0.1, `demo.server.LocalServer`) starts — its start-up warm-up (`api.app.warm_up`: templates,
read models, the worker's first pass) is timed apart — and answers --requests GETs of each page
from one signed-in client over a keep-alive connection. **Every request counts**, the first one of
each page after the start included: the p50 and p95 of the time to the full answer over loopback
(an upper bound of the server time); the first request is also shown on its own. The reference in
the same run is ``GET /health`` on the same server. Page weight: the HTML plus every asset the page
names (CSS, script, icon), uncompressed. Bounded by --max-seconds per page.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from meshplane.access import Principal
from meshplane.api import create_app
from meshplane.api.app import server_jobs
from meshplane.demo.server import LocalServer
from meshplane.registry import Registry
from meshplane.registry import models as m
from meshplane.registry.worker import Worker
from meshplane.service.gitops import apply_mesh
from meshplane.service.tokens import create_token
from meshplane.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "registry"))  # test support
from synthetic_mesh import write_synthetic_mesh

ASSET = re.compile(r'(?:href|src)="(/static/[^"]+)"')


def insert_runs(registry: Registry, contracts: list[str], runs: int, seed: int = 0) -> None:
    """`runs` test runs over the last 30 days, round-robin over the contracts, one in ten failed."""
    rng = random.Random(seed)
    now = datetime.now(UTC)

    def work(session: Any) -> None:
        versions = dict(session.execute(sa.select(m.ContractVersion.contract_id, m.ContractVersion.id)).all())
        batch = []
        for index in range(runs):
            contract = contracts[index % len(contracts)]
            started = now - timedelta(seconds=rng.randrange(30 * 86400))
            batch.append(
                {
                    "contract_id": contract,
                    "contract_version": "1.0.0",
                    "contract_version_id": versions.get(contract),
                    "server": "lake",
                    "engine": "duckdb",
                    "result": "failed" if index % 10 == 0 else "passed",
                    "started_at": started,
                    "finished_at": started + timedelta(seconds=2),
                    "recorded_at": started + timedelta(seconds=3),
                    "recorded_by": "benchmark",
                    "check_count": 0,
                    "extra": {},
                }
            )
            if len(batch) == 5000:
                session.execute(sa.insert(m.TestRun), batch)
                batch = []
        if batch:
            session.execute(sa.insert(m.TestRun), batch)

    registry.write(work)


def measure(client: httpx.Client, path: str, requests: int, max_seconds: float) -> list[float]:
    times = []
    deadline = time.monotonic() + max_seconds
    for _ in range(requests):
        began = time.perf_counter()
        answer = client.get(path)
        times.append((time.perf_counter() - began) * 1000)
        if answer.status_code != 200:
            raise SystemExit(f"{path}: {answer.status_code}")
        if time.monotonic() > deadline:
            break
    return times


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 2 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--edges", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--domains", type=int, default=20)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--max-seconds", type=float, default=60.0)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.products, args.edges, args.runs, args.requests = 200, 1000, 10_000, 10
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        mesh = write_synthetic_mesh(folder / "mesh", domains=args.domains, products=args.products, edges=args.edges)
        url = f"sqlite:///{folder / 'registry.db'}"
        with Registry(url) as registry:
            began = time.perf_counter()
            apply_mesh(mesh.root, registry=registry, actor="benchmark")
            insert_runs(registry, mesh.contracts, args.runs)
            settings = Settings()
            caught_up = time.perf_counter()
            Worker(registry, server_jobs(settings), worker_id="benchmark").run(once=True)
            registry.cache.clear()  # what the catch-up built: the server builds its read models itself
            print(f"mesh: {args.products} products, {args.edges} edges, {args.runs} runs "
                  f"(set up in {caught_up - began:.1f} s, worker caught up in {time.perf_counter() - caught_up:.1f} s)")  # fmt: skip
            token = create_token(registry, Principal.local_admin("benchmark"), role="admin").token
            product, contract, domain = mesh.products[-1], mesh.contracts[-1], mesh.domains[0]
            pages = {
                "health (reference)": "/health",
                "marketplace": "/",
                "marketplace search": "/?q=synthetic&domain=" + domain,
                "product": f"/products/{product}",
                "lineage (depth 5)": f"/products/{product}?depth=5",
                "contract": f"/contracts/{contract}",
                "governance": "/governance",
                "agreements": "/agreements",
                "mesh map": "/map",
                "incidents": "/incidents",
                "migrations": "/migrations",
            }
            starting = time.perf_counter()
            with LocalServer(create_app(registry, settings=settings)) as server:
                print(f"server started (its warm-up included) in {time.perf_counter() - starting:.1f} s")
                base = str(server.url).rstrip("/")
                with httpx.Client(base_url=base, timeout=120) as client:
                    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/signin").text)
                    assert csrf is not None
                    client.post("/signin", data={"csrf": csrf.group(1), "token": token, "next": "/"})
                    print(f"{'page':<22} {'first ms':>9} {'p50 ms':>8} {'p95 ms':>8} {'weight KB':>10}")
                    for name, path in pages.items():
                        times = measure(client, path, args.requests, args.max_seconds)
                        html = client.get(path).content
                        assets = set(ASSET.findall(html.decode()))
                        weight = len(html) + sum(len(client.get(a).content) for a in assets)
                        median = statistics.median(times)
                        print(f"{name:<22} {times[0]:>9.1f} {median:>8.1f} {p95(times):>8.1f} {weight / 1024:>10.1f}")


if __name__ == "__main__":
    main()
