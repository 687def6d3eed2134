"""Benchmark: meshplane on Spark and inside PostgreSQL against the hand-written single query.

The data and the contract are the ones of `contract_test.py` (orders, 6 columns; 13 quality
checks plus schema checks: required, unique, pattern, ranges, enum, null percentage, rowCount, a
SQL rule, freshness). For each engine, interleaved over several runs:

  Spark       (a) `run_contract(..., engine="spark")` on the Parquet file
              (b) the same aggregates written by hand in Spark SQL, one pass over the same file
  PostgreSQL  (a) `run_contract(..., engine="postgres")` on the table
              (b) the same aggregates written by hand in PostgreSQL, one SELECT

Both variants of an engine run in this one process against the same server: Spark shares one
session (started and warmed up before timing, so JVM start-up does not dominate), and every
PostgreSQL variant opens its own connection. Each (b) includes what (a) does besides the query:
Spark reads the file's schema, PostgreSQL connects. The result: median wall times and a/b
(target <= 1.2 for both engines).

    .venv/bin/python benchmarks/engines.py                   # 2M rows, 5 runs, both engines
    .venv/bin/python benchmarks/engines.py --rows 10000000 --only spark
    .venv/bin/python benchmarks/engines.py --postgres-url postgresql://user@host/db

PostgreSQL: `--postgres-url` (default MESHPLANE_TEST_POSTGRES_URL, which `make test` uses) names
a server where the benchmark may create a database; it is dropped at the end (`--keep` keeps it).
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from contract_test import CONTRACT, DATA, EMAIL_PATTERN, STATUSES, prepare

TARGET = 1.2
STATUS_LIST = ", ".join(f"'{s}'" for s in STATUSES)
AGGREGATES: dict[str, dict[str, str]] = {
    "spark": {
        "order_id_nulls": "count_if(order_id IS NULL)",
        "order_id_duplicates": "count(order_id) - count(DISTINCT order_id)",
        "email_pattern": f"count_if(customer_email IS NOT NULL AND NOT customer_email RLIKE '{EMAIL_PATTERN.replace(chr(92), chr(92) * 2)}')",
        "email_null_percent": "100.0 * count_if(customer_email IS NULL) / count(*)",
        "status_nulls": "count_if(status IS NULL)",
        "status_invalid": f"count_if(status IS NOT NULL AND status NOT IN ({STATUS_LIST}))",
        "amount_minimum": "count_if(amount < 0)",
        "amount_maximum": "count_if(amount > 100000)",
        "quantity_minimum": "count_if(quantity < 1)",
        "quantity_maximum": "count_if(quantity > 100)",
        "row_count": "count(*)",
        "sql_rule": "count_if(amount = 0 AND quantity > 10)",
        "freshness_newest": "max(created_at)",
    },
    "postgres": {
        "order_id_nulls": "count(*) FILTER (WHERE order_id IS NULL)",
        "order_id_duplicates": "count(order_id) - count(DISTINCT order_id)",
        "email_pattern": f"count(*) FILTER (WHERE customer_email IS NOT NULL AND customer_email !~ '{EMAIL_PATTERN}')",
        "email_null_percent": "100.0 * count(*) FILTER (WHERE customer_email IS NULL) / count(*)",
        "status_nulls": "count(*) FILTER (WHERE status IS NULL)",
        "status_invalid": f"count(*) FILTER (WHERE status IS NOT NULL AND status NOT IN ({STATUS_LIST}))",
        "amount_minimum": "count(*) FILTER (WHERE amount < 0)",
        "amount_maximum": "count(*) FILTER (WHERE amount > 100000)",
        "quantity_minimum": "count(*) FILTER (WHERE quantity < 1)",
        "quantity_maximum": "count(*) FILTER (WHERE quantity > 100)",
        "row_count": "count(*)",
        "sql_rule": "count(*) FILTER (WHERE amount = 0 AND quantity > 10)",
        "freshness_newest": "max(created_at)",
    },
}
"""What the contract asks, written by hand in each engine's SQL (the same as contract_test.py's)."""

PG_COLUMNS = (
    "order_id bigint, customer_email text, status text, amount double precision, quantity integer, "
    "created_at timestamp without time zone"
)


def _contract(rows: int, server: str) -> Any:
    """The benchmark contract with `server` as its only server, loaded."""
    from meshplane.spec.loader import load_contract

    text = CONTRACT.format(path="PATH", pattern=EMAIL_PATTERN.replace("\\", "\\\\"), rows=rows,
                           statuses=", ".join(STATUSES))  # fmt: skip
    head, _, tail = text.partition("servers:\n")
    tail = tail[tail.index("schema:") :]
    path = DATA / f"engines-{uuid.uuid4().hex[:8]}.odcs.yaml"
    path.write_text(f"{head}servers:\n{server}{tail}", encoding="utf-8")
    try:
        loaded = load_contract(path)
    finally:
        path.unlink()
    assert loaded.ok and loaded.model is not None, [str(d) for d in loaded.diagnostics]
    return loaded.model


def _agree(run: Any, hand: dict[str, Any]) -> None:
    """meshplane's observed values are the hand-written query's."""
    if run.error is not None or run.result.value != "passed":
        bad = [(c.spec.id, c.message) for c in run.checks if c.status.value not in ("passed", "skipped")]
        raise SystemExit(f"meshplane did not pass on the benchmark data: {run.error or bad}")
    observed = {c.spec.id: c.observed for c in run.checks}
    assert observed["orders.rowCount"] == hand["row_count"], (observed["orders.rowCount"], hand["row_count"])
    assert observed["orders.order_id.unique"] == hand["order_id_duplicates"]
    assert abs(observed["orders.customer_email.nullValues"] - float(hand["email_null_percent"])) < 1e-6
    assert observed["orders.status.invalidValues"] == hand["status_invalid"]
    assert observed["orders.sql"] == hand["sql_rule"]


def _time(variants: dict[str, Callable[[], Any]], runs: int, label: str) -> dict[str, float]:
    """Median seconds of each variant over interleaved runs (the order rotates every run)."""
    times: dict[str, list[float]] = {k: [] for k in variants}
    order = list(variants)
    for run in range(runs):
        for key in order[run % len(order) :] + order[: run % len(order)]:
            started = time.perf_counter()
            variants[key]()
            times[key].append(time.perf_counter() - started)
        print(f"  {label} run {run + 1}: " + ", ".join(f"{k} {times[k][-1]:.2f}s" for k in order), flush=True)
    return {k: statistics.median(v) for k, v in times.items()}


def bench_spark(rows: int, runs: int, data: Path) -> dict[str, float]:
    from meshplane.engines import registry
    from meshplane.service.testing import run_contract

    engine = registry.engine_named("spark")
    problem = engine.missing_requirement()
    if problem:
        raise SystemExit(f"Spark cannot run here: {problem}")
    started = time.perf_counter()
    spark = engine.session()  # type: ignore[attr-defined]
    print(f"Spark session ({spark.conf.get('spark.master', 'connect')}) up in {time.perf_counter() - started:.1f} s")
    contract = _contract(rows, f"  - server: lake\n    type: local\n    path: {data}\n    format: parquet\n")
    columns = ",\n  ".join(f"{expr} AS {name}" for name, expr in AGGREGATES["spark"].items())
    query = f"SELECT\n  {columns}\nFROM bench_orders"

    def meshplane() -> Any:
        return run_contract(contract, base_dir=DATA, engine="spark")

    def hand_written() -> dict[str, Any]:
        spark.read.parquet(str(data)).createOrReplaceTempView("bench_orders")
        return spark.sql(query).collect()[0].asDict()

    print("warm-up (JIT, file cache) ...", flush=True)
    for _ in range(2):
        run, hand = meshplane(), hand_written()
    _agree(run, hand)
    try:
        return _time({"a": meshplane, "b": hand_written}, runs, "spark")
    finally:
        engine.stop()  # type: ignore[attr-defined]


def _load_postgres(conn: Any, data: Path) -> None:
    """The Parquet file into table `orders`, batch by batch through COPY (CSV)."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    conn.execute(f"CREATE TABLE orders ({PG_COLUMNS})")
    with conn.cursor() as cursor, cursor.copy("COPY orders FROM STDIN WITH (FORMAT csv)") as copy:
        for batch in pq.ParquetFile(data).iter_batches(batch_size=500_000):
            buffer = io.BytesIO()
            pacsv.write_csv(batch, buffer, pacsv.WriteOptions(include_header=False))
            copy.write(buffer.getvalue())
    conn.execute("ANALYZE orders")


def bench_postgres(rows: int, runs: int, data: Path, url: str, keep: bool) -> dict[str, float]:
    import psycopg

    from meshplane.service.testing import run_contract

    server_url = url.replace("postgresql+psycopg://", "postgresql://", 1)
    name = f"meshplane_bench_{rows}"
    bench_url = f"{server_url.rsplit('/', 1)[0]}/{name}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
    try:
        with psycopg.connect(bench_url, autocommit=True) as conn:
            present = conn.execute("SELECT to_regclass('orders') IS NOT NULL").fetchone()
            if not (present and present[0]):
                started = time.perf_counter()
                print(f"loading {rows:,} rows into PostgreSQL ({name}) ...", flush=True)
                _load_postgres(conn, data)
                print(f"  done in {time.perf_counter() - started:.1f} s", flush=True)
        os.environ["MESHPLANE_SERVER_BENCH_PG_DSN"] = bench_url
        contract = _contract(rows, "  - server: bench-pg\n    type: postgres\n    host: ignored\n    port: 5432\n"
                                   f"    database: {name}\n    schema: public\n")  # fmt: skip
        columns = ",\n  ".join(f"{expr} AS {key}" for key, expr in AGGREGATES["postgres"].items())
        query = f"SELECT\n  {columns}\nFROM orders"

        def meshplane() -> Any:
            return run_contract(contract, base_dir=DATA, engine="postgres")

        def hand_written() -> dict[str, Any]:
            with psycopg.connect(bench_url, autocommit=True) as conn:
                cursor = conn.execute(query)  # type: ignore[arg-type]
                names = [d.name for d in cursor.description or []]
                row = cursor.fetchone() or ()
                return dict(zip(names, row, strict=True))

        print("warm-up (buffer cache) ...", flush=True)
        run, hand = meshplane(), hand_written()
        _agree(run, hand)
        return _time({"a": meshplane, "b": hand_written}, runs, "postgres")
    finally:
        if not keep:
            with psycopg.connect(server_url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", choices=["spark", "postgres"], help="benchmark one engine")
    parser.add_argument("--postgres-url", default=os.environ.get("MESHPLANE_TEST_POSTGRES_URL", ""))
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL benchmark database")
    parser.add_argument("--check", action="store_true", help=f"exit 1 when a ratio is above {TARGET}")
    args = parser.parse_args()

    data, _contract_file = prepare(args.rows)
    results: dict[str, dict[str, float]] = {}
    if args.only in (None, "spark"):
        results["spark"] = bench_spark(args.rows, args.runs, data)
    if args.only in (None, "postgres"):
        if not args.postgres_url:
            print("PostgreSQL skipped: give --postgres-url or set MESHPLANE_TEST_POSTGRES_URL")
        else:
            results["postgres"] = bench_postgres(args.rows, args.runs, data, args.postgres_url, args.keep)

    print(f"\n{args.rows:,} rows, {args.runs} interleaved runs, {os.cpu_count()} CPUs, "
          f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC")  # fmt: skip
    print(f"{'engine':12}{'(a) meshplane':>16}{'(b) hand-written':>19}{'a/b':>8}")
    ok = True
    for engine, medians in results.items():
        ratio = medians["a"] / medians["b"]
        ok = ok and ratio <= TARGET
        print(f"{engine:12}{medians['a']:>14.2f} s{medians['b']:>17.2f} s{ratio:>8.2f}")
    print(f"target: a/b <= {TARGET} for every engine:", "met" if ok else "NOT met")
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
