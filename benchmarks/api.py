"""API benchmark: catalog reads and search on a 2,000-product mesh, over loopback HTTP.

    .venv/bin/python benchmarks/api.py                          # SQLite, 2,000 products
    .venv/bin/python benchmarks/api.py --postgres URL           # the same on PostgreSQL too
    .venv/bin/python benchmarks/api.py --quick                  # 200 products, 300 requests (a smoke run)

A synthetic mesh (`tests/registry/synthetic_mesh.py`) of --products products is applied to a fresh
registry; `meshplane serve` runs it in its own process on 127.0.0.1 (one worker, or --workers);
--threads client threads, each with its own keep-alive connection, send --requests requests per
scenario:

* product detail   GET /api/v1/products/{id}           (random products)
* product list     GET /api/v1/products?limit=50&offset (random pages)
* search           GET /api/v1/search?...               (text, tag, owner, column and combined queries)

and report requests/s, p50 and p95 latency. References in the same run: ``GET /health`` on the same
server (HTTP + framework, no token, no database), and each scenario's use case called directly
through the service layer in this process (no HTTP); the ratios say what HTTP, authentication
and serialization add. Bounded: every scenario stops after --requests requests or --max-seconds.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from meshplane.access import Principal
from meshplane.registry import Registry
from meshplane.service.catalog import ProductQuery, get_product, search_products
from meshplane.service.gitops import apply_mesh
from meshplane.service.tokens import create_token

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "registry"))  # test support
from synthetic_mesh import write_synthetic_mesh

MESHPLANE = Path(sys.executable).parent / "meshplane"


def fresh_postgres(server_url: str, name: str) -> str:
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{server_url.rsplit('/', 1)[0]}/{name}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


class Result:
    """Latencies of one scenario and its wall-clock time."""

    def __init__(self, name: str, latencies: list[float], seconds: float, errors: int) -> None:
        self.name, self.latencies, self.seconds, self.errors = name, latencies, seconds, errors

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def row(self) -> str:
        p50 = statistics.median(self.latencies) * 1000
        p95 = percentile(self.latencies, 0.95) * 1000
        return f"{self.name:<26} {len(self.latencies):>6} {self.rps:>9.0f} {p50:>8.2f} {p95:>8.2f} {self.errors:>6}"


def load(base: str, name: str, urls: list[str], headers: dict[str, str], threads: int, max_seconds: float) -> Result:
    """Send `urls` from `threads` clients at once; every answer must be 200."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    cursor = iter(range(len(urls)))
    deadline = time.monotonic() + max_seconds

    def worker() -> None:
        mine: list[float] = []
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            while time.monotonic() < deadline:
                with lock:
                    index = next(cursor, None)
                if index is None:
                    break
                start = time.perf_counter()
                response = client.get(urls[index])
                mine.append(time.perf_counter() - start)
                if response.status_code != 200:
                    with lock:
                        errors[0] += 1
        with lock:
            latencies.extend(mine)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    began = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return Result(name, latencies, time.perf_counter() - began, errors[0])


def direct(name: str, calls: list[Callable[[], Any]]) -> Result:
    """The same work through the service layer, one call after the other (no HTTP)."""
    latencies = []
    began = time.perf_counter()
    for call in calls:
        start = time.perf_counter()
        call()
        latencies.append(time.perf_counter() - start)
    return Result(name, latencies, time.perf_counter() - began, 0)


def search_params(rng: random.Random, products: list[str], domains: list[str]) -> dict[str, str]:
    kind = rng.randrange(5)
    if kind == 0:
        return {"q": f"synthetic {rng.choice(products).split('.')[1]}"}
    if kind == 1:
        return {"domain": rng.choice(domains), "column": f"c{rng.randrange(1, 6)}"}
    if kind == 2:
        return {"owner": f"owner@{rng.choice(domains)}"}
    if kind == 3:
        return {"column": "id", "limit": "20"}
    return {"q": "product", "domain": rng.choice(domains)}


def run(url: str, label: str, args: argparse.Namespace, folder: Path) -> None:
    print(f"\n== {label}: {args.products} products, {args.requests} requests x {args.threads} threads ==")
    mesh = write_synthetic_mesh(
        folder / f"mesh-{label}", domains=args.domains, products=args.products, edges=args.products * 2, columns=6
    )
    with Registry(url) as registry:
        began = time.perf_counter()
        apply_mesh(mesh.root, registry=registry, actor="benchmark")
        print(f"apply of the mesh: {time.perf_counter() - began:.1f} s")
        token = create_token(registry, Principal.local_admin("benchmark"), role="reader").token
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MESHPLANE_")}
    env |= {"MESHPLANE_DATABASE_URL": url, "MESHPLANE_LOG_LEVEL": "warning"}
    server = subprocess.Popen(
        [str(MESHPLANE), "serve", "--port", str(port), "--workers", str(args.workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError as exc:
                if time.monotonic() > deadline or server.poll() is not None:
                    detail = server.stderr.read() if server.stderr else ""
                    raise SystemExit(f"the server did not start: {detail}") from exc
                time.sleep(0.1)
        headers = {"Authorization": f"Bearer {token}"}
        rng = random.Random(7)
        n = args.requests
        detail = [f"/api/v1/products/{rng.choice(mesh.products)}" for _ in range(n)]
        pages = [f"/api/v1/products?limit=50&offset={rng.randrange(0, args.products, 50)}" for _ in range(n)]
        searches = [search_params(rng, mesh.products, mesh.domains) for _ in range(n)]
        search_urls = ["/api/v1/search?" + httpx.QueryParams(p).__str__() for p in searches]
        load(base, "warm-up", detail[:200] + search_urls[:50], headers, args.threads, args.max_seconds)
        results = [
            load(base, "GET /health (reference)", ["/health"] * n, {}, args.threads, args.max_seconds),
            load(base, "product detail", detail, headers, args.threads, args.max_seconds),
            load(base, "product list page (50)", pages, headers, args.threads, args.max_seconds),
            load(base, "search", search_urls, headers, args.threads, args.max_seconds),
        ]
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
    with Registry(url) as registry:
        calls = max(n // 4, 50)

        def query(params: dict[str, str]) -> ProductQuery:
            return ProductQuery(
                text=params.get("q"),
                domain=params.get("domain"),
                owner=params.get("owner"),
                column=params.get("column"),
            )

        references = [
            direct(
                "  service: get_product",
                [lambda p=p: get_product(registry, p.rsplit("/", 1)[1]) for p in detail[:calls]],
            ),
            direct("  service: list page", [lambda: search_products(registry, ProductQuery(), limit=50)] * calls),
            direct("  service: search", [lambda s=s: search_products(registry, query(s)) for s in searches[:calls]]),
        ]
    print(f"{'scenario':<26} {'reqs':>6} {'req/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'errors':>6}")
    for result in results + references:
        print(result.row())
    health = results[0].rps
    for result, reference in zip(results[1:], references, strict=True):
        print(
            f"{result.name}: {result.rps / health:.2f} x the /health rate; p50 over HTTP "
            f"{statistics.median(result.latencies) / statistics.median(reference.latencies):.1f} x the direct call"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--domains", type=int, default=20)
    parser.add_argument("--requests", type=int, default=2000, help="requests per scenario")
    parser.add_argument("--threads", type=int, default=8, help="concurrent clients")
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="time limit per scenario")
    parser.add_argument("--postgres", help="also run on this PostgreSQL server (a scratch database is created)")
    parser.add_argument("--quick", action="store_true", help="200 products, 300 requests")
    args = parser.parse_args()
    if args.quick:
        args.products, args.requests, args.domains = 200, 300, 5
    with tempfile.TemporaryDirectory(prefix="meshplane-api-bench-") as tmp:
        folder = Path(tmp)
        run(f"sqlite:///{folder / 'registry.db'}", "SQLite", args, folder)
        if args.postgres:
            run(fresh_postgres(args.postgres, "meshplane_api_bench"), "PostgreSQL", args, folder)


if __name__ == "__main__":
    main()
