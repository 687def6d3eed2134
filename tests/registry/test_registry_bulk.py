"""`meshplane.registry.bulk` stores on SQLite exactly what SQLAlchemy's executemany stores.

The same rows (timestamps with and without microseconds in several zones, None, booleans, JSON
lists with unicode and nesting, big integers, SQL keywords as column names) are written once with
``connection.execute(table.insert(), rows)`` / an UPDATE statement, and once with `insert_rows` /
`update_rows`, into two fresh registries; the raw values SQLite then holds (read with sqlite3, no
type processing) must be identical.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from meshplane.registry import Registry
from meshplane.registry.bulk import insert_rows, update_rows
from meshplane.registry.lineage import ColumnUsage, LineageRun, RunDataset

PARIS = timezone(timedelta(hours=1))
TIMES = [
    datetime(2026, 11, 24, 10, 0, tzinfo=UTC),
    datetime(2026, 11, 24, 10, 0, 0, 123456, tzinfo=PARIS),
    datetime(1999, 12, 31, 23, 59, 59, 1, tzinfo=timezone(timedelta(hours=-5))),
]


def _runs() -> list[dict[str, Any]]:
    return [
        {
            "run_key": f"run-{i}", "kind": "run", "job_namespace": "ns é", "job_name": f"job.{i}",
            "domain": None if i % 2 else "retail", "rule": "namespace", "rule_detail": None,
            "parent_run_id": None, "state": "COMPLETE" if i else None, "state_at": TIMES[i % 3] if i else None,
            "first_seen": TIMES[i % 3], "last_seen": TIMES[(i + 1) % 3], "day": "2026-11-24", "events": i,
        }
        for i in range(6)
    ]  # fmt: skip


def _datasets() -> list[dict[str, Any]]:
    return [
        {
            "run_key": f"run-{i % 6}", "role": "input" if i % 2 else "output", "identity_sha": f"{i:064x}",
            "namespace": "file", "name": f"/lake/ä/{i}", "domain": "retail", "product": "retail.sales",
            "port": "orders", "contract_id": "retail.sales.orders", "contract_version": "1.2.0",
            "object": "orders", "match": "exact" if i % 3 else None, "in_lake": bool(i % 2),
            "first_seen": TIMES[i % 3], "last_seen": TIMES[(i + 2) % 3], "row_count": 2**40 + i if i else None,
            "byte_count": i * 1000, "file_count": None, "stats_at": TIMES[1], "stats_final": [True, False, None][i % 3],
            "schema_at": None, "drift": None if i % 2 else [{"column": "é", "change": ["a", 1, 2.5, None, True]}],
        }
        for i in range(10)
    ]  # fmt: skip


def _usage() -> list[dict[str, Any]]:
    return [
        {
            "usage_key": f"{i:064x}", "consumer_product": "finance.ledger", "consumer_domain": None,
            "provider_product": "retail.sales", "port": "orders", "contract_id": "retail.sales.orders",
            "object": "orders", "field": f"col_{i}", "first_seen": TIMES[i % 3], "last_seen": TIMES[2],
        }
        for i in range(4)
    ]  # fmt: skip


def _table(model: Any) -> sa.Table:
    table = model.__table__
    assert isinstance(table, sa.Table)
    return table


def _write(url: str, *, bulk: bool) -> None:
    with Registry(url) as registry, registry.transaction(immediate=True) as session:
        connection = session.connection()
        for model, rows in ((LineageRun, _runs()), (RunDataset, _datasets()), (ColumnUsage, _usage())):
            if bulk:
                insert_rows(connection, _table(model), rows)
            else:
                connection.execute(_table(model).insert(), rows)
        changed_runs = [{**row, "state": "FAIL", "state_at": TIMES[2], "events": 99} for row in _runs()[:3]]
        changed_sets = [{**row, "drift": [{"x": "ü"}], "stats_final": True} for row in _datasets()[:4]]
        for row_id, row in enumerate(changed_sets, start=1):
            row["id"] = row_id
        for model, key, rows in ((LineageRun, "run_key", changed_runs), (RunDataset, "id", changed_sets)):
            if bulk:
                update_rows(connection, _table(model), key, rows)
            else:
                table = _table(model)
                names = [n for n in rows[0] if n != key]
                statement = (
                    table.update()
                    .where(table.c[key] == sa.bindparam("_key"))
                    .values({n: sa.bindparam(f"_{n}") for n in names})
                )
                connection.execute(statement, [{f"_{k}": v for k, v in r.items()} | {"_key": r[key]} for r in rows])


def _raw(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(path) as connection:
        return {
            table: connection.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
            for table in ("lineage_runs", "lineage_run_datasets", "lineage_column_usage")
        }


def test_bulk_writes_store_what_sqlalchemy_stores(tmp_path: Path) -> None:
    _write(f"sqlite:///{tmp_path / 'core.db'}", bulk=False)
    _write(f"sqlite:///{tmp_path / 'bulk.db'}", bulk=True)
    core, bulk = _raw(tmp_path / "core.db"), _raw(tmp_path / "bulk.db")
    assert [len(rows) for rows in core.values()] == [6, 10, 4]
    assert core == bulk
    with sqlite3.connect(tmp_path / "bulk.db") as connection:
        drift = connection.execute("SELECT drift FROM lineage_run_datasets").fetchall()
    assert any(value is not None for (value,) in drift)  # JSON was written, not only NULLs


def test_nothing_to_write_is_no_statement(tmp_path: Path) -> None:
    with Registry(f"sqlite:///{tmp_path / 'r.db'}") as registry, registry.transaction(immediate=True) as session:
        insert_rows(session.connection(), _table(LineageRun), [])
        update_rows(session.connection(), _table(LineageRun), "run_key", [])
