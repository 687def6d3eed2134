"""`meshplane import duckdb`: tables of a DuckDB file from its catalog; round trips on the example mesh."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import yaml
from interop_support import EXAMPLE_CONTRACTS, lints_clean, shape
from typer.testing import CliRunner

from meshplane.cli.app import app
from meshplane.interop import ExportOptions, ImportOptions, export_contract, import_source

runner = CliRunner()


@pytest.mark.parametrize("contract", EXAMPLE_CONTRACTS, ids=lambda p: p.stem)
def test_duckdb_round_trip_on_the_example_contracts(contract: Path, tmp_path: Path) -> None:
    """contract → export sql (duckdb) → a DuckDB database → import duckdb keeps names, types, required, keys."""
    original = yaml.safe_load(contract.read_text(encoding="utf-8"))
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        con.execute(export_contract("sql", original, ExportOptions(dialect="duckdb")).text)
    before = (tmp_path / "w.duckdb").read_bytes()
    back = import_source("duckdb", tmp_path / "w.duckdb", ImportOptions()).document
    assert shape(back) == shape(original)
    physical = [[p["physicalType"] for p in o["properties"]] for o in back["schema"]]
    assert physical == [[p["physicalType"] for p in o["properties"]] for o in original["schema"]]
    assert lints_clean(back, tmp_path)
    assert (tmp_path / "w.duckdb").read_bytes() == before  # opened read-only


def test_duckdb_table_choice_comments_and_unique(tmp_path: Path) -> None:
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        con.execute("CREATE SCHEMA sales")
        con.execute("CREATE TABLE sales.orders (id BIGINT PRIMARY KEY, ref VARCHAR UNIQUE, amount DECIMAL(10,2))")
        con.execute("CREATE TABLE other (x INT)")
        con.execute("COMMENT ON TABLE sales.orders IS 'Orders.'")
        con.execute("COMMENT ON COLUMN sales.orders.amount IS 'Total in EUR.'")
    imported = import_source("duckdb", tmp_path / "w.duckdb", ImportOptions(table="sales.orders", product="s.o"))
    (obj,) = imported.document["schema"]
    assert (obj["name"], obj["description"]) == ("orders", "Orders.")
    assert [(p["name"], p.get("unique"), p.get("description")) for p in obj["properties"]] == [
        ("id", None, None), ("ref", True, None), ("amount", None, "Total in EUR.")
    ]  # fmt: skip
    every = import_source("duckdb", tmp_path / "w.duckdb", ImportOptions()).document
    assert [o["name"] for o in every["schema"]] == ["other", "orders"]


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        ("text", [], "not a DuckDB database"),
        ("db", ["--table", "nosuch"], "no table 'nosuch' in the database (tables: main.t)"),
        ("empty", [], "the database has no table"),
    ],
)
def test_duckdb_bad_input(setup: str, args: list[str], message: str, tmp_path: Path) -> None:
    source = tmp_path / "w.duckdb"
    if setup == "text":
        source.write_text("not a database", encoding="utf-8")
    else:
        with duckdb.connect(str(source)) as con:
            if setup == "db":
                con.execute("CREATE TABLE t (x INT)")
    out = tmp_path / "o.odcs.yaml"
    result = runner.invoke(app, ["import", "duckdb", str(source), *args, "-o", str(out)])
    assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.output
    assert not out.exists()
