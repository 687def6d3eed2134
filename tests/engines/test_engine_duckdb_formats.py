"""The DuckDB engine reads every supported format and gives the same answers on the same data."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
import yaml

from meshplane.engines.base import DatasetNotFound, DatasetRequest, EngineError
from meshplane.engines.duckdb import DuckDBEngine
from meshplane.service.testing import run_contract
from meshplane.spec.loader import load_contract
from meshplane.spec.odcs import Server

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
ROWS = {
    "id": [1, 2, 2, 4],
    "name": ["Zoë", "Ørsted", None, "日本語テキスト"],
    "amount": [10.5, -1.0, 3.25, 7.0],
    "ts": [NOW - timedelta(hours=h) for h in (1, 2, 3, 30)],
}
SCHEMA = pa.schema([("id", pa.int64()), ("name", pa.string()), ("amount", pa.float64()),
                    ("ts", pa.timestamp("us", tz="UTC"))])  # fmt: skip
OBJECT = {
    "name": "orders",
    "properties": [
        {"name": "id", "logicalType": "integer", "required": True, "unique": True},
        {"name": "name", "logicalType": "string", "required": True, "logicalTypeOptions": {"maxLength": 6}},
        {"name": "amount", "logicalType": "number", "logicalTypeOptions": {"minimum": 0}},
        {"name": "ts", "logicalType": "timestamp"},
    ],
    "quality": [
        {"metric": "rowCount", "mustBe": 4},
        {"type": "sql", "query": "SELECT COUNT(*) FROM {object} WHERE amount > 5", "mustBe": 2},
    ],
}
EXPECTED = {
    "orders.schema.object": ("passed", None),
    "orders.id.schema.type": ("passed", None),
    "orders.name.schema.type": ("passed", None),
    "orders.amount.schema.type": ("passed", None),
    "orders.ts.schema.type": ("passed", None),
    "orders.id.required": ("passed", 0),
    "orders.id.unique": ("failed", 1),
    "orders.name.required": ("failed", 1),
    "orders.name.maxLength": ("failed", 1),
    "orders.amount.minimum": ("failed", 1),
    "orders.rowCount": ("passed", 4),
    "orders.sql": ("passed", 2),
    "sla.freshness": ("passed", 0.042),
}


def _table() -> pa.Table:
    return pa.table(ROWS, schema=SCHEMA)


def _rows_as_text() -> list[dict[str, Any]]:
    return [{**row, "ts": row["ts"].isoformat()} for row in _table().to_pylist()]


def _write_parquet(folder: Path) -> dict[str, Any]:
    pq.write_table(_table(), folder / "orders.parquet")
    return {"type": "local", "path": "{model}.parquet", "format": "parquet"}


def _write_parquet_glob(folder: Path) -> dict[str, Any]:
    (folder / "data").mkdir()
    table = _table()
    pq.write_table(table.slice(0, 2), folder / "data" / "part-0.parquet")
    pq.write_table(table.slice(2), folder / "data" / "part-1.parquet")
    return {"type": "local", "path": "data/*.parquet", "format": "parquet"}


def _write_parquet_folder(folder: Path) -> dict[str, Any]:
    (folder / "orders" / "day=1").mkdir(parents=True)
    pq.write_table(_table(), folder / "orders" / "day=1" / "part-0.parquet")
    return {"type": "local", "path": "./{object}", "format": "parquet"}


def _write_csv(folder: Path) -> dict[str, Any]:
    pacsv.write_csv(_table(), folder / "orders.csv")
    return {"type": "local", "path": "orders.csv", "format": "csv"}


def _write_json(folder: Path) -> dict[str, Any]:
    (folder / "orders.json").write_text(json.dumps(_rows_as_text(), ensure_ascii=False), encoding="utf-8")
    return {"type": "local", "path": "orders.json", "format": "json"}


def _write_ndjson(folder: Path) -> dict[str, Any]:
    lines = "\n".join(json.dumps(row, ensure_ascii=False) for row in _rows_as_text())
    (folder / "orders.ndjson").write_text(lines + "\n", encoding="utf-8")
    return {"type": "local", "path": "orders.ndjson", "format": "ndjson"}


def _write_delta(folder: Path) -> dict[str, Any]:
    from deltalake import write_deltalake

    table = _table()
    write_deltalake(str(folder / "orders_delta"), table.slice(0, 2))
    write_deltalake(str(folder / "orders_delta"), table.slice(2), mode="append")
    return {"type": "local", "path": "orders_delta", "format": "delta"}


def _write_iceberg(folder: Path) -> dict[str, Any]:
    from pyiceberg.catalog.sql import SqlCatalog

    warehouse = folder / "warehouse"
    warehouse.mkdir()
    catalog = SqlCatalog("test", uri=f"sqlite:///{warehouse}/catalog.db", warehouse=warehouse.as_uri())
    catalog.create_namespace("shop")
    table = catalog.create_table("shop.orders", schema=SCHEMA)
    table.append(_table().slice(0, 2))
    table.append(_table().slice(2))
    location = Path(table.location().removeprefix("file://"))
    return {"type": "local", "path": str(location.relative_to(folder)), "format": "iceberg"}


def _write_duckdb(folder: Path) -> dict[str, Any]:
    con = duckdb.connect(str(folder / "shop.duckdb"))
    con.execute("CREATE SCHEMA sales")
    data = _table()
    con.register("data", data)
    con.execute("CREATE TABLE sales.orders AS SELECT * FROM data")
    con.close()
    return {"type": "duckdb", "database": "shop.duckdb", "schema": "sales"}


WRITERS = {
    "parquet": _write_parquet,
    "parquet-glob": _write_parquet_glob,
    "parquet-folder": _write_parquet_folder,
    "csv": _write_csv,
    "json": _write_json,
    "ndjson": _write_ndjson,
    "delta": _write_delta,
    "iceberg": _write_iceberg,
    "duckdb": _write_duckdb,
}


def _contract(folder: Path, server: dict[str, Any]) -> Path:
    doc = {
        "apiVersion": "v3.1.0", "kind": "DataContract", "id": "formats", "version": "1.0.0", "status": "active",
        "servers": [{"server": "s", **server}],
        "schema": [OBJECT],
        "slaProperties": [{"property": "freshness", "value": 1, "unit": "d", "element": "orders.ts"}],
    }  # fmt: skip
    path = folder / "formats.odcs.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _run(folder: Path, server: dict[str, Any]):
    loaded = load_contract(_contract(folder, server))
    assert loaded.ok and loaded.model is not None, loaded.diagnostics
    return run_contract(loaded.model, base_dir=folder, clock=lambda: NOW)


@pytest.mark.parametrize("fmt", list(WRITERS))
def test_every_format_gives_the_same_results(tmp_path, fmt) -> None:
    run = _run(tmp_path, WRITERS[fmt](tmp_path))
    assert run.error is None
    got = {c.spec.id: c for c in run.checks}
    for check_id, (status, observed) in EXPECTED.items():
        assert got[check_id].status.value == status, (check_id, got[check_id].message)
        if observed is not None:
            assert got[check_id].observed == observed, (check_id, got[check_id].message)
    assert run.engine == "duckdb"
    (dataset,) = run.datasets
    if fmt in ("delta", "iceberg"):
        assert dataset.snapshot  # provenance: the version read
    assert dataset.format == ("parquet" if fmt.startswith("parquet") else fmt)


def test_csv_keeps_text_as_written(tmp_path) -> None:
    (tmp_path / "orders.csv").write_text("zip,qty\n01234,1\n00042,x\n", encoding="utf-8")
    doc_server = {"type": "local", "path": "orders.csv", "format": "csv"}
    obj = {"name": "orders", "properties": [
        {"name": "zip", "logicalType": "string", "logicalTypeOptions": {"pattern": "^[0-9]{5}$"}},
        {"name": "qty", "logicalType": "integer", "physicalType": "int"},
    ]}  # fmt: skip
    path = tmp_path / "c.odcs.yaml"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v3.1.0", "kind": "DataContract", "id": "c", "version": "1", "status": "active",
        "servers": [{"server": "s", **doc_server}], "schema": [obj]}), encoding="utf-8")  # fmt: skip
    contract = load_contract(path).model
    assert contract is not None
    run = run_contract(contract, base_dir=tmp_path, clock=lambda: NOW)
    got = {c.spec.id: c for c in run.checks}
    assert got["orders.zip.pattern"].status.value == "passed"  # leading zeros kept
    qty = got["orders.qty.schema.type"]
    assert (qty.status.value, qty.observed) == ("failed", 1)
    assert qty.samples == [{"zip": "00042", "qty": "x"}]


def test_missing_data_is_a_run_error_with_the_reason(tmp_path) -> None:
    run = _run(tmp_path, {"type": "local", "path": "nowhere/*.parquet", "format": "parquet"})
    assert run.result.value == "error"
    assert run.error and "no parquet file matches" in run.error
    assert {c.spec.id: c.status.value for c in run.checks}["orders.schema.object"] == "failed"


@pytest.mark.parametrize(
    ("server", "message"),
    [
        ({"type": "duckdb", "database": "missing.duckdb"}, "not found"),
        ({"type": "local", "path": "orders.xyz", "format": "excel"}, "not supported"),
        ({"type": "local", "path": "orders.xyz", "format": ""}, "cannot tell the file format"),
    ],
)
def test_unusable_servers_end_the_run_in_error(tmp_path, server, message) -> None:
    run = _run(tmp_path, server)
    assert run.result.value == "error" and run.error and message in run.error
    assert run.checks == []


def test_missing_table_in_a_database(tmp_path) -> None:
    server = _write_duckdb(tmp_path)
    run = _run(tmp_path, {**server, "schema": "main"})
    assert run.result.value == "error" and "main.orders not found" in str(run.error)


def test_views_not_copies_and_no_extension_downloads(tmp_path) -> None:
    _write_parquet(tmp_path)
    _write_delta(tmp_path)
    engine = DuckDBEngine()
    for server in (Server(server="p", type="local", path="{model}.parquet", format="parquet"),
                   Server(server="d", type="local", path="orders_delta", format="delta")):  # fmt: skip
        session = engine.connect(server, tmp_path)
        with session:
            dataset = session.open(DatasetRequest("orders", "orders"))
            assert [c.name for c in dataset.columns] == ["id", "name", "amount", "ts"]
            con = session.con  # type: ignore[attr-defined]
            assert con.execute("SELECT count(*) FROM duckdb_tables()").fetchone()[0] == 0  # nothing materialized
            assert con.execute("SELECT count(*) FROM duckdb_views() WHERE NOT internal").fetchone()[0] >= 1
            setting = con.execute("SELECT current_setting('autoinstall_known_extensions')").fetchone()[0]
            assert setting is False
            # the sandbox: no file outside the data (the extension folder included) can be read
            assert con.execute("SELECT current_setting('enable_external_access')").fetchone()[0] is False
            loaded = {r[0] for r in con.execute("SELECT name FROM pragma_database_list").fetchall()}
            assert loaded == {"memory"}
            if "{model}" in str(server.setting("path")):
                with pytest.raises(DatasetNotFound):
                    session.open(DatasetRequest("nothing", "nothing"))


def test_connect_errors_are_engine_errors(tmp_path) -> None:
    with pytest.raises(EngineError, match="no `path`"):
        DuckDBEngine().connect(Server(server="x", type="local"), tmp_path)
