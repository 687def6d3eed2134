"""OpenLineage receiver benchmark: ingest rate of single events and of batches through the HTTP API on 127.0.0.1.

    .venv/bin/python benchmarks/lineage.py                      # SQLite, the issue's measurement
    .venv/bin/python benchmarks/lineage.py --quick              # small sizes (a smoke run)
    .venv/bin/python benchmarks/lineage.py --postgres URL       # the same on PostgreSQL too
    .venv/bin/python benchmarks/lineage.py --postgres URL --scale   # PostgreSQL: 1 server + 1 worker vs 2 + 2
    .venv/bin/python benchmarks/lineage.py --baseline REV       # this checkout and commit REV, same run
    .venv/bin/python benchmarks/lineage.py --json               # the figures as JSON as well
    .venv/bin/python benchmarks/lineage.py --symlinks 20000     # only: parse + derive one event with N symlinks
    .venv/bin/python benchmarks/lineage.py --reindex 100000     # only: reindex N stored events (SQLite)
    .venv/bin/python benchmarks/lineage.py --reindex 100000 --quick   # the same, at most 10,000 events

The server is `meshplane serve` in its own process (on SQLite one process, its worker a thread of
it; on PostgreSQL --workers server processes and as many `meshplane worker` processes beside
them), on a fresh registry with the example
mesh applied (so events resolve to ports, and are attributed and flagged as in production). The
clients are --clients processes, each with one keep-alive `http.client` connection, posting pre-serialized bodies
(`POST /api/v1/lineage` one event per request; `POST /api/v1/lineage/batch` --batch events per
request). Every event is new: per run of an example job a START (its inputs) and a COMPLETE (input
and output statistics, the output's schema, column lineage), 2 inputs and 1 output.

The receiver answers once an event is stored (and queued); the server derives runs, datasets and
movements in bulk right after. Each figure is reported twice: events/s until the last answer
(ingest), and events/s until the server's derivation queue is empty again (movements current).

References measured in the same run, so that the ratios say what the receiver itself costs:

* the HTTP floor: ``GET /health`` (no token, no database) and ``GET /api/v1/whoami`` (the token
  check every request pays; verified tokens are remembered for `token_cache_seconds`), same
  clients and concurrency;
* check and parse: `meshplane.lineage.check_event` (what the receiver runs per event) and
  `parse_event` (what the deriver runs) of the same events, in this process (one core);
* raw inserts of the same rows ingestion writes (event, run and dataset rows; no parsing, no
  resolution, no dedup) with plain SQL executemany: one transaction per event, and one per batch.

Targets (issue 7): >= 1,000 events/s single, >= 10,000 events/s batched, on SQLite.

``--symlinks N`` measures one large event instead (issue 19): a COMPLETE reading a Hive table with N
``symlinks`` identifiers (the last one the retail orders port), stored, then parsed and derived on
SQLite; target: 20,000 symlinks derived in <= 1 s (was 53 s: quadratic).

``--reindex N`` measures a reindex (issue 13): N events stored on SQLite (the example mesh applied)
and derived, then `meshplane.service.reindex.reindex` (clear what was derived, queue every event
again) and the derivation of all of them in this process (as ``meshplane lineage reindex`` does),
against the first derivation of the same events in the same run; the derived rows must be identical
after both. Target: 100,000 events reindexed in <= 60 s. With ``--quick``, at most 10,000 events.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from meshplane.access import Principal
from meshplane.lineage import check_event, parse_event
from meshplane.registry import Registry
from meshplane.registry import lineage as store
from meshplane.registry.database import create_registry_engine
from meshplane.service.gitops import apply_mesh
from meshplane.service.tokens import create_token

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_MESH = REPO / "examples" / "holding"
JOBS = [  # (namespace, name, [input ports], output port, output columns)
    ("airflow-finance", "ledger.post_entries", ["retail/sales/orders", "retail/sales/order_lines"], "finance/ledger/ledger_entries",
     ["entry_id", "source_reference", "debit_amount", "credit_amount", "currency"]),
    ("airflow-logistics", "shipments.load", ["retail/sales/orders", "retail/catalog/products"], "logistics/shipments/shipments",
     ["shipment_id", "order_id", "carrier", "weight_kg", "shipping_cost"]),
    ("airflow-customer", "customer360.build", ["customer/profiles/customers", "retail/sales/orders"],
     "customer/customer360/customer_summary", ["customer_id", "full_name", "segment", "total_spend", "order_count"]),
]  # fmt: skip


# --- events ---------------------------------------------------------------------------------------------


def make_events(lake: Path, runs: int, seed: str) -> list[bytes]:
    """2 events per run (START, COMPLETE), as JSON bytes."""
    out = []
    for run in range(runs):
        namespace, name, reads, writes, columns = JOBS[run % len(JOBS)]
        run_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{seed}/{run}"))
        day = f"2026-11-{1 + run % 28:02d}"
        inputs = [{"namespace": "file", "name": str(lake / r)} for r in reads]
        start = {
            "eventType": "START", "eventTime": f"{day}T05:00:00Z", "producer": "https://example.org/bench",
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
            "run": {"runId": run_id}, "job": {"namespace": namespace, "name": name}, "inputs": inputs, "outputs": [],
        }  # fmt: skip
        output = {
            "namespace": "file",
            "name": f"{lake / writes}/dt={day}/part-00000-{run_id}.parquet",
            "facets": {
                "schema": {"fields": [{"name": c, "type": "VARCHAR"} for c in columns]},
                "columnLineage": {"fields": {c: {"inputFields": [
                    {"namespace": "file", "name": str(lake / reads[i % 2]), "field": c}]} for i, c in enumerate(columns)}},
            },
            "outputFacets": {"outputStatistics": {"rowCount": 1000 + run, "size": 80_000 + run}},
        }  # fmt: skip
        complete = dict(start, eventType="COMPLETE", eventTime=f"{day}T05:07:00Z", outputs=[output])
        complete["inputs"] = [
            {**i, "inputFacets": {"inputStatistics": {"rowCount": 5000 + run, "size": 400_000}}} for i in inputs
        ]
        out += [json.dumps(start).encode(), json.dumps(complete).encode()]
    return out


# --- the server and its clients -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """`meshplane serve` on 127.0.0.1 in its own process(es); on PostgreSQL `meshplane worker` processes beside."""

    def __init__(self, registry_url: str, workers: int = 1, derivers: int = 0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("MESHPLANE_")}
        env |= {"MESHPLANE_DATABASE_URL": registry_url, "MESHPLANE_LOG_LEVEL": "warning"}
        env |= {k: v for k, v in os.environ.items() if k == "MESHPLANE_WORKER_IN_SERVER"}
        command = [sys.executable, "-m", "meshplane", "serve", "--port", str(self.port), "--workers", str(workers)]
        quiet: dict[str, Any] = {"env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        self.process = subprocess.Popen(command, **quiet)
        self.derivers = [
            subprocess.Popen([sys.executable, "-m", "meshplane", "worker", "--quiet"], **quiet) for _ in range(derivers)
        ]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("the server did not start")

    def stop(self) -> None:
        for process in [self.process, *self.derivers]:
            if process.poll() is None:
                process.terminate()
        for process in [self.process, *self.derivers]:
            process.wait(20)


def _client(args: tuple[str, str, str, list[bytes], Any]) -> tuple[int, list[str]]:
    """One client process: wait for the others, send its bodies, count what was accepted.

    A plain keep-alive `http.client` connection: the lightest client, so that on a small machine
    the clients leave the CPU to the server being measured (httpx costs several times more per request).
    """
    url, token, path, bodies, barrier = args
    host, port = url.removeprefix("http://").split(":")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    errors: list[str] = []
    accepted = 0
    connection = http.client.HTTPConnection(host, int(port), timeout=300)
    barrier.wait()
    for body in bodies:
        connection.request("POST" if body else "GET", path, body=body or None, headers=headers)
        answer = connection.getresponse()
        text = answer.read()
        if answer.status >= 300:
            errors.append(f"{answer.status} {text[:200]!r}")
        else:
            accepted += 1
    connection.close()
    return accepted, errors


def caught_up(url: str, token: str, timeout: float = 600) -> float:
    """Wait until the server has derived every stored event (its queue is empty); the seconds waited."""
    start = time.perf_counter()
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
        while time.perf_counter() - start < timeout:
            derivation = http.get("/api/v1/lineage/status").json()["derivation"]
            if derivation["failed"]:
                raise RuntimeError(f"derivation failed: {derivation['failures'][:1]}")
            if derivation["waiting"] == 0:
                return time.perf_counter() - start
            time.sleep(0.05)
    raise RuntimeError("the server did not derive its backlog in time")


def drive(url: str, token: str, path: str, bodies: list[bytes], clients: int) -> float:
    """Send `bodies` (empty bytes: a GET) from `clients` processes at once; the wall time from the start signal."""
    manager = multiprocessing.Manager()
    barrier = manager.Barrier(clients + 1)
    shares = [bodies[i::clients] for i in range(clients)]
    with multiprocessing.get_context("fork").Pool(clients) as pool:
        pending = pool.map_async(_client, [(url, token, path, share, barrier) for share in shares])
        barrier.wait()
        start = time.perf_counter()
        results = pending.get(1800)
        elapsed = time.perf_counter() - start
    manager.shutdown()
    errors = [e for _, errs in results for e in errs]
    if errors:
        raise RuntimeError(f"{len(errors)} request(s) failed, e.g. {errors[0]}")
    return elapsed


# --- references ---------------------------------------------------------------------------------------------


def parse_rate(bodies: list[bytes], parse: Any = parse_event) -> float:
    start = time.perf_counter()
    for body in bodies:
        parse(body)
    return len(bodies) / (time.perf_counter() - start)


def raw_insert_rate(url: str, bodies: list[bytes], per_transaction: int) -> float:
    """Plain executemany of the rows ingestion writes for `bodies`, `per_transaction` events per transaction.

    On an engine set up as the registry's (SQLite: WAL, synchronous NORMAL), so commits cost the same.
    """
    events = [json.loads(b) for b in bodies]
    now = "2026-11-24 10:00:00"
    engine = create_registry_engine(url)
    statements = {
        "event": sa.text(
            "INSERT INTO lineage_events (fingerprint, kind, event_type, event_time, run_id, job_namespace, job_name,"
            " received_at, received_by, body) VALUES (:f, 'RunEvent', :t, :at, :r, :ns, :n, :now, 'bench', :b)"
        ),
        "run": sa.text(
            "INSERT INTO lineage_runs (run_key, kind, job_namespace, job_name, domain, state, first_seen, last_seen,"
            " day, events) VALUES (:r, 'run', :ns, :n, 'finance', :t, :at, :at, '2026-11-01', 1)"
        ),
        "dataset": sa.text(
            "INSERT INTO lineage_run_datasets (run_key, role, identity_sha, namespace, name, in_lake, first_seen,"
            " last_seen, row_count) VALUES (:r, :role, :sha, 'file', :name, true, :at, :at, 1)"
        ),
    }
    rows: list[dict[str, list[dict[str, Any]]]] = []
    for event in events:
        base = {"t": event["eventType"], "at": now, "r": uuid.uuid4().hex, "ns": event["job"]["namespace"],
                "n": event["job"]["name"], "now": now}  # fmt: skip
        datasets = [
            {**base, "role": role, "sha": uuid.uuid4().hex, "name": d["name"]}
            for role in ("input", "output")
            for d in event.get(f"{role}s", [])
        ]
        rows.append(
            {"event": [{**base, "f": uuid.uuid4().hex, "b": json.dumps(event)}], "run": [base], "dataset": datasets}
        )
    start = time.perf_counter()
    for first in range(0, len(rows), per_transaction):
        chunk = rows[first : first + per_transaction]
        with engine.begin() as connection:
            for name, statement in statements.items():
                values = [v for r in chunk for v in r[name]]
                if values:
                    connection.execute(statement, values)
    elapsed = time.perf_counter() - start
    engine.dispose()
    return len(rows) / elapsed


# --- one database ---------------------------------------------------------------------------------------


def world(url: str, folder: Path) -> tuple[str, Path]:
    mesh = folder / "holding"
    shutil.copytree(EXAMPLE_MESH, mesh, ignore=shutil.ignore_patterns("lake", ".meshplane"))
    with Registry(url) as registry:
        apply_mesh(mesh, registry=registry, actor="bench")
        token = create_token(registry, Principal.local_admin("bench"), role="admin", name="bench").token
    return token, (mesh / "lake").absolute()


def fresh_postgres(server_url: str, name: str) -> str:
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{server_url.rsplit('/', 1)[0]}/{name}"


def measure(label: str, url: str, reference_url: str, folder: Path, options: argparse.Namespace) -> dict[str, Any]:
    token, lake = world(url, folder)
    singles = make_events(lake, options.single // 2, f"{label}-single")
    batched = make_events(lake, options.batched // 2, f"{label}-batch")
    batches = [b"[" + b",".join(batched[i : i + options.batch]) + b"]" for i in range(0, len(batched), options.batch)]
    gets = [b""] * options.single
    derivers = options.derivers if options.derivers is not None else options.workers
    server = Server(url, options.workers, derivers if url.startswith("postgresql") else 0)
    try:
        drive(server.url, token, "/health", [b""] * 200, options.clients)  # warm up connections and caches
        figures: dict[str, Any] = {"database": label, "clients": options.clients, "batch": options.batch}
        figures["health_per_s"] = len(gets) / drive(server.url, token, "/health", gets, options.clients)
        figures["whoami_per_s"] = len(gets) / drive(server.url, token, "/api/v1/whoami", gets, options.clients)
        runs, derived = [], []
        for _ in range(options.runs):
            elapsed = drive(server.url, token, "/api/v1/lineage", singles, options.clients)
            runs.append(len(singles) / elapsed)
            derived.append(len(singles) / (elapsed + caught_up(server.url, token)))
            singles = make_events(lake, options.single // 2, f"{label}-single-{len(runs)}")
        figures["single_per_s"] = statistics.median(runs)
        figures["single_derived_per_s"] = statistics.median(derived)
        runs, derived = [], []
        for _ in range(options.runs):
            elapsed = drive(server.url, token, "/api/v1/lineage/batch", batches, options.clients)
            runs.append(len(batched) / elapsed)
            derived.append(len(batched) / (elapsed + caught_up(server.url, token)))
            batched = make_events(lake, options.batched // 2, f"{label}-batch-{len(runs)}")
            batches = [
                b"[" + b",".join(batched[i : i + options.batch]) + b"]" for i in range(0, len(batched), options.batch)
            ]
        figures["batch_per_s"] = statistics.median(runs)
        figures["batch_derived_per_s"] = statistics.median(derived)
    finally:
        server.stop()
    with Registry(url) as registry, registry.read() as session:
        counts = store.lineage_counts(session)
    expected = options.runs * (options.single + options.batched)
    if counts["events"] != expected or counts["runs"] != expected // 2:
        raise RuntimeError(f"{counts['events']} events stored, {counts['runs']} runs derived; {expected} events sent")
    figures["check_per_s"] = parse_rate(singles[: min(len(singles), 4000)], check_event)
    figures["parse_per_s"] = parse_rate(singles[: min(len(singles), 4000)])
    sample = singles[: min(len(singles), 2000)]
    with Registry(reference_url):  # the same schema, empty
        pass
    figures["raw_single_per_s"] = raw_insert_rate(reference_url, sample, 1)
    figures["raw_batch_per_s"] = raw_insert_rate(reference_url, sample, options.batch)
    figures["ratios"] = {
        "single/whoami": figures["single_per_s"] / figures["whoami_per_s"],
        "single/raw_single": figures["single_per_s"] / figures["raw_single_per_s"],
        "batch/raw_batch": figures["batch_per_s"] / figures["raw_batch_per_s"],
        "batch/check": figures["batch_per_s"] / figures["check_per_s"],
    }
    return figures


def scale(server_url: str, folder: Path, options: argparse.Namespace) -> dict[str, Any]:
    """PostgreSQL: batched ingest with 1 server process + 1 worker, then 2 + 2 (fresh databases, same events)."""
    out: dict[str, Any] = {}
    for n in (1, 2):
        url = fresh_postgres(server_url, f"meshplane_bench_scale_{n}")
        (folder / f"scale{n}").mkdir()
        token, lake = world(url, folder / f"scale{n}")
        rates, derived = [], []
        server = Server(url, n, n)
        try:
            for run in range(options.runs):
                events = make_events(lake, options.batched // 2, f"scale-{run}")
                bodies = [
                    b"[" + b",".join(events[i : i + options.batch]) + b"]" for i in range(0, len(events), options.batch)
                ]
                elapsed = drive(server.url, token, "/api/v1/lineage/batch", bodies, options.clients)
                rates.append(len(events) / elapsed)
                derived.append(len(events) / (elapsed + caught_up(server.url, token)))
        finally:
            server.stop()
        out[f"{n}+{n}"] = {"batch_per_s": statistics.median(rates), "batch_derived_per_s": statistics.median(derived)}
    out["ratio"] = out["2+2"]["batch_per_s"] / out["1+1"]["batch_per_s"]
    out["ratio_derived"] = out["2+2"]["batch_derived_per_s"] / out["1+1"]["batch_derived_per_s"]
    return out


def baseline(revision: str, options: argparse.Namespace) -> list[dict[str, Any]]:
    """The same benchmark at commit `revision` (its own script and code, this interpreter and packages)."""
    with tempfile.TemporaryDirectory(prefix="meshplane-bench-baseline-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), revision],
            check=True,
            capture_output=True,
        )
        try:
            args = [sys.executable, str(tree / "benchmarks" / "lineage.py"), "--json"]
            args += ["--single", str(options.single), "--batched", str(options.batched), "--batch", str(options.batch)]
            args += ["--clients", str(options.clients), "--runs", str(options.runs)]
            env = {**os.environ, "PYTHONPATH": str(tree / "src")}
            done = subprocess.run(args, env=env, capture_output=True, text=True, check=True, cwd=tree)
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], check=False)
    text = done.stdout
    figures: list[dict[str, Any]] = json.loads(text[text.index("\n[") + 1 :])
    return figures


def symlinks_figure(folder: Path, links: int) -> dict[str, Any]:
    """Seconds to check, parse and derive one event with `links` symlinks (SQLite, the example mesh applied)."""
    from meshplane.service import lineage as service

    url = f"sqlite:///{folder / 'symlinks.db'}"
    _token, lake = world(url, folder)
    identifiers = [{"namespace": "file", "name": f"/elsewhere/t/part-{i}", "type": "TABLE"} for i in range(links - 1)]
    identifiers.append({"namespace": "file", "name": f"{lake}/retail/sales/orders", "type": "TABLE"})
    event = {
        "eventType": "COMPLETE", "eventTime": "2026-11-20T05:00:00Z", "producer": "https://example.org/bench",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": str(uuid.uuid4())}, "job": {"namespace": "airflow-finance", "name": "ledger.post_entries"},
        "inputs": [{"namespace": "hive://metastore:9083", "name": "sales.orders",
                    "facets": {"symlinks": {"identifiers": identifiers}}}],
    }  # fmt: skip
    body = json.dumps(event).encode()
    started = time.perf_counter()
    check_event(body)
    checked = time.perf_counter() - started
    started = time.perf_counter()
    parse_event(body)
    parsed = time.perf_counter() - started
    with Registry(url) as registry:
        service.receive_event(registry, body, Principal.local_admin("bench"))
        started = time.perf_counter()
        outcome = service.derive_pending(registry)
        derived = time.perf_counter() - started
    return {"symlinks": links, "check_s": checked, "parse_s": parsed, "derive_s": derived, "outcome": str(outcome)}


def derived_digest(registry: Registry) -> str:
    """sha256 of every derived row (runs, run datasets, column usage; without row ids): equal digests, equal lineage."""
    digest = hashlib.sha256()
    tables = {"lineage_runs": "run_key", "lineage_run_datasets": "run_key, role, identity_sha",
              "lineage_column_usage": "usage_key"}  # fmt: skip
    with registry.read() as session:
        for table, order in tables.items():
            rows = session.execute(sa.text(f"SELECT * FROM {table} ORDER BY {order}")).mappings()
            for row in rows:
                digest.update(repr(sorted((k, v) for k, v in row.items() if k != "id")).encode())
    return digest.hexdigest()


def reindex_figure(folder: Path, events: int) -> dict[str, Any]:
    """Seconds to derive `events` stored events, then to reindex them (reset + derive), on SQLite.

    The first derivation runs as the worker derives arriving events (chunks of `DERIVE_CHUNK`), the
    reindex as ``meshplane lineage reindex`` does (chunks of `BACKLOG_CHUNK`); both must derive the
    same rows (their digests are compared).
    """
    from meshplane.service import lineage as service
    from meshplane.service.derivation import BACKLOG_CHUNK
    from meshplane.service.reindex import reindex

    url = f"sqlite:///{folder / 'reindex.db'}"
    load_before = os.getloadavg()[0]
    _token, lake = world(url, folder)
    bodies = make_events(lake, events // 2, "reindex")
    admin = Principal.local_admin("bench")
    with Registry(url) as registry:
        for start in range(0, len(bodies), 1000):
            service.receive_batch(registry, b"[" + b",".join(bodies[start : start + 1000]) + b"]", admin)
        started, cpu = time.perf_counter(), time.process_time()
        first = service.derive_pending(registry)
        derived, derived_cpu = time.perf_counter() - started, time.process_time() - cpu
        before = derived_digest(registry)
        started, cpu = time.perf_counter(), time.process_time()
        queued = reindex(registry, reason="benchmark", by="bench")
        reset = time.perf_counter() - started
        again = service.derive_pending(registry, chunk=BACKLOG_CHUNK)
        total, total_cpu = time.perf_counter() - started, time.process_time() - cpu
        with registry.read() as session:
            counts = store.lineage_counts(session)
        if derived_digest(registry) != before:
            raise RuntimeError("the reindex derived other rows than the first derivation")
    return {
        "events": len(bodies),
        "first_derive_s": derived,
        "first_derive_cpu_s": derived_cpu,
        "reset_s": reset,
        "reindex_s": total,
        "reindex_cpu_s": total_cpu,
        "queued": queued,
        "outcomes": [str(first), str(again)],
        "counts": counts,
        "identical": True,
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
    }


def report_reindex(figure: dict[str, Any]) -> None:
    print(f"\nreindex of {figure['events']:,} stored events (SQLite, in this process):")
    print(f"  {'first derivation (reference)':<44} {figure['first_derive_s']:>10.1f} s")
    print(f"  {'reset (clear derived, queue every event)':<44} {figure['reset_s']:>10.1f} s")
    print(f"  {'reindex: reset + derive all again':<44} {figure['reindex_s']:>10.1f} s   target <= 60 s at 100,000")
    print(f"  {'  CPU time of this process (first; reindex)':<44} {figure['first_derive_cpu_s']:>10.1f} s; "
          f"{figure['reindex_cpu_s']:.1f} s (wall time on a loaded machine is larger)")  # fmt: skip
    print(f"  ratio reindex / first derivation: {figure['reindex_s'] / figure['first_derive_s']:.2f}")
    print("  derived rows identical after the reindex: yes (digest of runs, run datasets, column usage)")
    print(f"  load average before / after: {figure['load_before']:.2f} / {figure['load_after']:.2f}")


def report_symlinks(figure: dict[str, Any]) -> None:
    print(f"\none event with {figure['symlinks']:,} symlinks (SQLite, one core):")
    print(f"  {'check_event (the receiver)':<44} {figure['check_s']:>10.3f} s")
    print(f"  {'parse_event':<44} {figure['parse_s']:>10.3f} s")
    print(f"  {'derive (parse, resolve, store)':<44} {figure['derive_s']:>10.3f} s   target <= 1 s at 20,000")


def report(figures: dict[str, Any]) -> None:
    print(f"\n{figures['database']}: {figures['clients']} client processes, batches of {figures['batch']}")
    rows = [
        ("GET /health (no token, no database)", figures["health_per_s"], "requests/s", ""),
        ("GET /api/v1/whoami (token check)", figures["whoami_per_s"], "requests/s", ""),
        ("POST /api/v1/lineage, one event each", figures["single_per_s"], "events/s", "target >= 1,000"),
        ("  ... until derived (movements current)", figures["single_derived_per_s"], "events/s", ""),
        (
            f"POST /api/v1/lineage/batch, {figures['batch']} each",
            figures["batch_per_s"],
            "events/s",
            "target >= 10,000",
        ),
        ("  ... until derived (movements current)", figures["batch_derived_per_s"], "events/s", ""),
        ("reference: check_event, one core", figures["check_per_s"], "events/s", ""),
        ("reference: parse_event, one core", figures["parse_per_s"], "events/s", ""),
        ("reference: raw inserts, 1 event per txn", figures["raw_single_per_s"], "events/s", ""),
        (f"reference: raw inserts, {figures['batch']} per txn", figures["raw_batch_per_s"], "events/s", ""),
    ]
    for label, value, unit, target in rows:
        print(f"  {label:<44} {value:>10,.0f} {unit:<11} {target}")
    print("  ratios: " + ", ".join(f"{k} {v:.2f}" for k, v in figures["ratios"].items()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--single", type=int, default=4000, help="events sent one per request (per run)")
    parser.add_argument("--batched", type=int, default=40_000, help="events sent in batches (per run)")
    parser.add_argument("--batch", type=int, default=500, help="events per batch request")
    parser.add_argument("--clients", type=int, default=4, help="client processes")
    parser.add_argument(
        "--workers", type=int, default=1, help="server processes (meshplane serve --workers; PostgreSQL)"
    )
    parser.add_argument("--derivers", type=int, help="`meshplane worker` processes on PostgreSQL (default: --workers)")
    parser.add_argument(
        "--scale", action="store_true", help="with --postgres: batched ingest, 1 server + 1 worker vs 2 + 2"
    )
    parser.add_argument("--baseline", metavar="REV", help="also run the benchmark of commit REV (same sizes) first")
    parser.add_argument("--runs", type=int, default=3, help="measurements per figure (the median is reported)")
    parser.add_argument("--postgres", help="also measure on this PostgreSQL server (a database is created)")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    parser.add_argument("--symlinks", type=int, metavar="N", help="only: one event with N symlinks, parsed and derived")
    parser.add_argument("--reindex", type=int, metavar="N", help="only: reindex N stored events (SQLite)")
    options = parser.parse_args()
    if options.reindex:
        size = min(options.reindex, 10_000) if options.quick else options.reindex
        with tempfile.TemporaryDirectory(prefix="meshplane-bench-reindex-") as tmp:
            figure = reindex_figure(Path(tmp), size)
        report_reindex(figure)
        print(f"load average at the end: {os.getloadavg()[0]:.2f} (other processes on the machine inflate the times)")
        if options.json:
            print(json.dumps(figure, indent=2))
        return 0
    if options.symlinks:
        with tempfile.TemporaryDirectory(prefix="meshplane-bench-symlinks-") as tmp:
            figure = symlinks_figure(Path(tmp), options.symlinks)
        report_symlinks(figure)
        if options.json:
            print(json.dumps(figure, indent=2))
        return 0
    if options.quick:
        options.single, options.batched, options.batch, options.runs = 400, 2000, 100, 1
    results = []
    before = baseline(options.baseline, options) if options.baseline else None
    scaled = None
    with tempfile.TemporaryDirectory(prefix="meshplane-bench-lineage-") as tmp:
        folder = Path(tmp)
        (folder / "sqlite").mkdir()
        results.append(
            measure(
                "SQLite",
                f"sqlite:///{folder / 'bench.db'}",
                f"sqlite:///{folder / 'raw.db'}",
                folder / "sqlite",
                options,
            )
        )
        if options.postgres:
            (folder / "pg").mkdir()
            url = fresh_postgres(options.postgres, "meshplane_bench_lineage")
            reference = fresh_postgres(options.postgres, "meshplane_bench_lineage_raw")
            results.append(measure("PostgreSQL", url, reference, folder / "pg", options))
            if options.scale:
                scaled = scale(options.postgres, folder, options)
    workers = "one server worker" if options.workers == 1 else f"{options.workers} server workers"
    print(f"\nOpenLineage ingest through HTTP on 127.0.0.1 ({os.cpu_count()} cores; {workers})")
    for figures in results:
        report(figures)
    if before is not None:
        print(f"\nbaseline {options.baseline} (same run, same sizes) -> this checkout:")
        keys = ("single_per_s", "single_derived_per_s", "batch_per_s", "batch_derived_per_s", "whoami_per_s")
        for old, new in zip(before, results, strict=False):
            for key in keys:
                print(
                    f"  {old['database']:<10} {key:<22} {old[key]:>10,.0f} -> {new[key]:>10,.0f}  ({new[key] / old[key]:.2f}x)"
                )
    if scaled is not None:
        print("\nPostgreSQL scale-out, batched ingest (server processes + worker processes):")
        for setup in ("1+1", "2+2"):
            row = scaled[setup]
            print(
                f"  {setup}: {row['batch_per_s']:>10,.0f} events/s ingest, {row['batch_derived_per_s']:>10,.0f} until derived"
            )
        print(
            f"  2+2 / 1+1: {scaled['ratio']:.2f}x ingest, {scaled['ratio_derived']:.2f}x until derived (target >= 1.3)"
        )
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f} (other processes on the machine inflate the times)")
    if options.json:
        print(json.dumps(results, indent=2))
        if scaled is not None or before is not None:
            print(json.dumps({"baseline": before, "scale": scaled}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
