"""Benchmark: `meshplane test` against the single-query limit.

Generates an orders dataset (Parquet, 6 columns, default 10M rows, written in batches with
pyarrow) and a contract with 13 quality checks (required, unique, pattern, ranges, enum, null
percentage, rowCount, a SQL rule, freshness) plus schema checks, then times as whole processes,
interleaved, over several runs:

  (a) `meshplane test` on the contract (JSON output),
  (b) one hand-written DuckDB query computing the same aggregates,
  (c) one DuckDB query per check.

It prints median wall time, peak RSS per process (from `os.wait4`) and the ratios a/b and c/b.
Acceptance (issue 3, issue 18): a/b <= 1.1 in time and in peak RSS at 10M rows.

With ``--format csv`` the same rows are written as CSV (a clean file, and a dirty copy with four
unparseable values: ``x<id>`` in the integer ``order_id``, ``n/a`` in ``amount`` and ``quantity``,
``yesterday`` in ``created_at``), and the variants are (a) `meshplane test` on the clean file,
(b) the hand-written query over it (DuckDB's own CSV detection) and (d) `meshplane test` on the
dirty copy, which must fail exactly the four type checks, nothing else. Acceptance (issue 18):
a/b <= 1.5 in time, d/a <= 1.3.

    .venv/bin/python benchmarks/contract_test.py              # 10M rows, 5 runs
    .venv/bin/python benchmarks/contract_test.py --rows 1000000 --runs 3
    .venv/bin/python benchmarks/contract_test.py --format csv --rows 1000000 --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / ".data"
BATCH = 1_000_000
STATUSES = ["placed", "paid", "shipped", "delivered"]
EMAIL_PATTERN = r"^[a-z0-9._]+@[a-z0-9.-]+\.[a-z]+$"

CONTRACT = """\
apiVersion: v3.1.0
kind: DataContract
id: bench-orders
version: 1.0.0
status: active
servers:
  - server: local
    type: local
    path: {path}
    format: {fmt}
schema:
  - name: orders
    properties:
      - name: order_id
        logicalType: integer
        required: true
        unique: true
      - name: customer_email
        logicalType: string
        classification: pii
        logicalTypeOptions:
          pattern: "{pattern}"
        quality:
          - metric: nullValues
            unit: percent
            mustBeLessOrEqualTo: 1
      - name: status
        logicalType: string
        required: true
        quality:
          - metric: invalidValues
            arguments:
              validValues: [{statuses}]
            mustBe: 0
      - name: amount
        logicalType: number
        logicalTypeOptions:
          minimum: 0
          maximum: 100000
      - name: quantity
        logicalType: integer
        logicalTypeOptions:
          minimum: 1
          maximum: 100
      - name: created_at
        logicalType: timestamp
    quality:
      - metric: rowCount
        mustBeGreaterOrEqualTo: {rows}
      - type: sql
        query: SELECT COUNT(*) FROM {{object}} WHERE amount = 0 AND quantity > 10
        mustBeLessThan: 1000
slaProperties:
  - property: freshness
    value: 2
    unit: d
    element: orders.created_at
"""

# (b) and (c) compute exactly what the contract asks, written by hand.
CHECK_QUERIES = {
    "order_id_nulls": "count(*) FILTER (WHERE order_id IS NULL)",
    "order_id_duplicates": "count(order_id) - count(DISTINCT order_id)",
    "email_pattern": f"count(*) FILTER (WHERE customer_email IS NOT NULL AND NOT regexp_matches(customer_email, '{EMAIL_PATTERN}'))",
    "email_null_percent": "100.0 * count(*) FILTER (WHERE customer_email IS NULL) / count(*)",
    "status_nulls": "count(*) FILTER (WHERE status IS NULL)",
    "status_invalid": "count(*) FILTER (WHERE status IS NOT NULL AND status NOT IN ({}))".format(
        ", ".join(f"'{s}'" for s in STATUSES)
    ),
    "amount_minimum": "count(*) FILTER (WHERE amount < 0)",
    "amount_maximum": "count(*) FILTER (WHERE amount > 100000)",
    "quantity_minimum": "count(*) FILTER (WHERE quantity < 1)",
    "quantity_maximum": "count(*) FILTER (WHERE quantity > 100)",
    "row_count": "count(*)",
    "sql_rule": "count(*) FILTER (WHERE amount = 0 AND quantity > 10)",
    "freshness_newest": "epoch_us(max(created_at))",
}


def generate(rows: int, path: Path) -> None:
    """Write the orders dataset in batches (memory stays flat whatever the row count)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    schema = pa.schema(
        [
            ("order_id", pa.int64()),
            ("customer_email", pa.string()),
            ("status", pa.string()),
            ("amount", pa.float64()),
            ("quantity", pa.int32()),
            ("created_at", pa.timestamp("us")),
        ]
    )
    now = datetime.now(UTC).replace(tzinfo=None)
    newest_us = int((now - datetime(1970, 1, 1)).total_seconds() * 1_000_000)
    month_us = int(timedelta(days=30).total_seconds() * 1_000_000)
    statuses = pa.array(STATUSES)
    tmp = path.with_suffix(".tmp")
    with pq.ParquetWriter(tmp, schema, compression="snappy") as writer:
        for start in range(0, rows, BATCH):
            n = min(BATCH, rows - start)
            ids = pa.array(range(start + 1, start + n + 1), pa.int64())
            r1 = pc.random(n, initializer=start + 1)
            r2 = pc.random(n, initializer=start + 2)
            r3 = pc.random(n, initializer=start + 3)
            users = pc.cast(pc.floor(pc.multiply(r1, 200_000)), pa.int64())
            email = pc.binary_join_element_wise("user", pc.cast(users, pa.string()), "@example.com", "")
            email = pc.if_else(pc.less(r2, 0.005), pa.scalar(None, pa.string()), email)
            status = pc.take(statuses, pc.cast(pc.floor(pc.multiply(r2, 4)), pa.int32()))
            amount = pc.round(pc.multiply(r3, 1000), 2)
            quantity = pc.cast(pc.add(pc.floor(pc.multiply(r1, 20)), 1), pa.int32())
            age = pc.cast(pc.floor(pc.multiply(r3, month_us)), pa.int64())
            created = pc.cast(pc.subtract(pa.scalar(newest_us, pa.int64()), age), pa.timestamp("us"))
            # the newest order is recent, so the freshness SLA holds
            writer.write_batch(pa.record_batch([ids, email, status, amount, quantity, created], schema=schema))
    tmp.replace(path)


DIRTY = {0: "x{id}", 3: "n/a", 4: "n/a", 5: "yesterday"}
"""Column index -> the unparseable text one row of the dirty CSV holds there (one row each)."""


def write_csv(parquet: Path, clean: Path, dirty: Path) -> None:
    """The Parquet rows as CSV, and a copy with one unparseable value in each of four columns."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    table = pq.read_table(parquet)
    tmp = clean.with_suffix(".tmp")
    pacsv.write_csv(table, tmp, pacsv.WriteOptions(quoting_style="none"))
    tmp.replace(clean)
    rows = table.num_rows
    spoiled = {max(1, rows * (k + 1) // 5): column for k, column in enumerate(DIRTY)}
    with clean.open(encoding="utf-8") as src, dirty.with_suffix(".tmp").open("w", encoding="utf-8") as out:
        for number, line in enumerate(src):
            column = spoiled.get(number)
            if column is not None:
                fields = line.rstrip("\n").split(",")
                fields[column] = DIRTY[column].format(id=fields[0])
                out.write(",".join(fields) + "\n")
            else:
                out.write(line)
    dirty.with_suffix(".tmp").replace(dirty)


def _contract(name: str, data: Path, fmt: str, rows: int) -> Path:
    contract = DATA / name
    pattern = EMAIL_PATTERN.replace("\\", "\\\\")
    contract.write_text(
        CONTRACT.format(path=data.name, fmt=fmt, pattern=pattern, rows=rows, statuses=", ".join(STATUSES)),
        encoding="utf-8",
    )
    return contract


def prepare(rows: int, fmt: str = "parquet") -> tuple[Path, Path]:
    DATA.mkdir(parents=True, exist_ok=True)
    data = DATA / f"orders-{rows}.parquet"
    if not data.exists():
        print(f"generating {rows:,} rows -> {data} ...", flush=True)
        started = time.perf_counter()
        # in a child process: a child inherits its parent's peak RSS, so the parent stays small
        subprocess.run([sys.executable, __file__, "--generate", str(rows)], check=True)
        print(f"  done in {time.perf_counter() - started:.1f} s ({data.stat().st_size / 1e6:.0f} MB)", flush=True)
    if fmt == "csv":
        clean, dirty = DATA / f"orders-{rows}.csv", DATA / f"orders-{rows}-dirty.csv"
        if not (clean.exists() and dirty.exists()):
            print(f"writing {clean.name} and {dirty.name} ...", flush=True)
            subprocess.run([sys.executable, __file__, "--write-csv", str(rows)], check=True)
        _contract(f"orders-{rows}-dirty.odcs.yaml", dirty, "csv", rows)
        return clean, _contract(f"orders-{rows}-csv.odcs.yaml", clean, "csv", rows)
    return data, _contract(f"orders-{rows}.odcs.yaml", data, "parquet", rows)


def _reader(data: Path) -> str:
    return f"read_csv('{data}')" if data.suffix == ".csv" else f"read_parquet('{data}')"


def single_query_script(data: Path) -> str:
    columns = ",\n  ".join(f"{expr} AS {name}" for name, expr in CHECK_QUERIES.items())
    sql = f"SELECT\n  {columns}\nFROM {_reader(data)}"
    return textwrap.dedent(
        f"""
        import json, duckdb
        con = duckdb.connect()
        con.execute("SET enable_progress_bar = false")
        cur = con.execute({sql!r})
        names = [d[0] for d in cur.description]
        print(json.dumps(dict(zip(names, cur.fetchone())), default=str))
        """
    )


def per_check_script(data: Path) -> str:
    queries = {name: f"SELECT {expr} FROM {_reader(data)}" for name, expr in CHECK_QUERIES.items()}
    return textwrap.dedent(
        f"""
        import json, duckdb
        con = duckdb.connect()
        con.execute("SET enable_progress_bar = false")
        out = {{name: con.execute(sql).fetchone()[0] for name, sql in {queries!r}.items()}}
        print(json.dumps(out, default=str))
        """
    )


def measure(argv: list[str], cwd: Path) -> tuple[float, int, int, str]:
    """Wall seconds, peak RSS (bytes) and exit code of one process, and its stdout."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = proc.stdout.read() if proc.stdout else ""
    _pid, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, usage.ru_maxrss * 1024, proc.returncode, out


def time_startup(python: str, fmt: str) -> dict[str, float]:
    """Median wall time of each variant's process on a 10-row copy of the dataset (fixed costs)."""
    data, contract = prepare(10, fmt)
    argv = {
        "a": [python, "-m", "meshplane", "test", str(contract), "--format", "json", "-q"],
        "b": [python, "-c", single_query_script(data)],
    }
    return {k: statistics.median(measure(v, DATA)[0] for _ in range(3)) for k, v in argv.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--check", action="store_true", help="exit 1 when the acceptance ratios do not hold")
    parser.add_argument("--format", choices=("parquet", "csv"), default="parquet", help="the data's format")
    parser.add_argument("--generate", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--write-csv", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        generate(args.generate, DATA / f"orders-{args.generate}.parquet")
        return 0
    if args.write_csv:
        rows = args.write_csv
        write_csv(DATA / f"orders-{rows}.parquet", DATA / f"orders-{rows}.csv", DATA / f"orders-{rows}-dirty.csv")
        return 0

    csv = args.format == "csv"
    data, contract = prepare(args.rows, args.format)
    python = sys.executable
    # as an installed package is: byte-compiled (with PYTHONDONTWRITEBYTECODE set, an editable
    # install would otherwise compile meshplane's sources again in every process)
    subprocess.run([python, "-m", "compileall", "-q", str(HERE.parent / "src" / "meshplane")], check=True)
    variants = {
        "a": ("meshplane test", [python, "-m", "meshplane", "test", str(contract), "--format", "json", "-q"]),
        "b": ("single hand-written query", [python, "-c", single_query_script(data)]),
        "c": ("one query per check", [python, "-c", per_check_script(data)]),
    }
    if csv:  # one query per check is 13 CSV parses: left out; the dirty copy instead
        dirty = DATA / f"orders-{args.rows}-dirty.odcs.yaml"
        del variants["c"]
        variants["d"] = (
            "meshplane test, dirty CSV",
            [python, "-m", "meshplane", "test", str(dirty), "--format", "json"],
        )
    times: dict[str, list[float]] = {k: [] for k in variants}
    peaks: dict[str, list[int]] = {k: [] for k in variants}
    order = list(variants)
    print(f"warm-up (file cache), then {args.runs} interleaved runs ...", flush=True)
    outputs = {k: measure(argv, DATA)[3] for k, (_label, argv) in variants.items()}
    report = json.loads(outputs["a"])
    if report["result"] != "passed":
        failed = [c["id"] for c in report["checks"] if c["status"] not in ("passed", "skipped")]
        print(f"meshplane did not pass on the benchmark data: {report['result']} {failed}")
        return 2
    by_kind = {c["id"]: c["observed"] for c in report["checks"]}
    hand = json.loads(outputs["b"])
    assert by_kind["orders.rowCount"] == hand["row_count"], (by_kind["orders.rowCount"], hand["row_count"])
    assert by_kind["orders.order_id.unique"] == hand["order_id_duplicates"]
    assert abs(by_kind["orders.customer_email.nullValues"] - hand["email_null_percent"]) < 1e-6
    assert by_kind["orders.sql"] == hand["sql_rule"]
    if csv:
        spoiled = json.loads(outputs["d"])
        broken = sorted(c["id"] for c in spoiled["checks"] if c["status"] not in ("passed", "skipped"))
        expected = sorted(f"orders.{c}.schema.type" for c in ("order_id", "amount", "quantity", "created_at"))
        if broken != expected or any(c["observed"] != 1 for c in spoiled["checks"] if c["id"] in expected):
            print(f"the dirty CSV should fail its four type checks (one value each) and nothing else: {broken}")
            return 2
        print("dirty CSV: the four type checks fail with one value each, every other check passes")
    quality = [c for c in report["checks"] if not c["kind"].startswith("schema.")]
    print(
        f"meshplane: {len(report['checks'])} checks ({len(quality)} beyond schema), result {report['result']}; "
        "observed values agree with the hand-written query"
    )
    for run in range(args.runs):
        for key in order[run % len(order) :] + order[: run % len(order)]:
            elapsed, peak, code, _ = measure(variants[key][1], DATA)
            if code != (1 if key == "d" else 0):  # the dirty CSV fails its type checks: exit 1
                print(f"{variants[key][0]} exited {code}")
                return 2
            times[key].append(elapsed)
            peaks[key].append(peak)
        print(
            f"  run {run + 1}: " + ", ".join(f"{k} {times[k][-1]:.2f}s/{peaks[k][-1] / 2**20:.0f}MB" for k in order),
            flush=True,
        )

    med_t = {k: statistics.median(v) for k, v in times.items()}
    med_m = {k: statistics.median(v) for k, v in peaks.items()}
    print(f"\n{args.rows:,} rows, {args.runs} runs, {os.cpu_count()} CPUs")
    print(f"{'':5}{'variant':28}{'median time':>14}{'peak RSS':>12}")
    for key, (label, _argv) in variants.items():
        print(f"({key}){' ' * (3 - len(key))}{label:28}{med_t[key]:>12.2f} s{med_m[key] / 2**20:>9.0f} MB")
    ratio_t, ratio_m = med_t["a"] / med_t["b"], med_m["a"] / med_m["b"]
    if csv:
        dirty_t = med_t["d"] / med_t["a"]
        print(f"\na/b:  time {ratio_t:.2f}, peak RSS {ratio_m:.2f}   (acceptance: time <= 1.5)")
        print(f"d/a:  time {dirty_t:.2f}, peak RSS {med_m['d'] / med_m['a']:.2f}   (acceptance: time <= 1.3)")
        ok = ratio_t <= 1.5 and dirty_t <= 1.3
    else:
        print(f"\na/b:  time {ratio_t:.2f}, peak RSS {ratio_m:.2f}   (acceptance: both <= 1.1)")
        print(f"c/b:  time {med_t['c'] / med_t['b']:.2f}, peak RSS {med_m['c'] / med_m['b']:.2f}")
        ok = ratio_t <= 1.1 and ratio_m <= 1.1
    tiny = time_startup(python, args.format)
    print("fixed cost of a process on an empty dataset: " + ", ".join(f"{k} {v:.2f} s" for k, v in tiny.items()))
    print("acceptance:", "met" if ok else "NOT met")
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
