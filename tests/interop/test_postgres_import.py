"""`meshplane import postgres URL --table T`: a table from PostgreSQL's catalog; round trips on the example mesh."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from interop_support import EXAMPLE_CONTRACTS, lints_clean, shape
from typer.testing import CliRunner

from meshplane.cli.app import app
from meshplane.interop import ExportOptions, ImportOptions, export_contract, import_source

pytestmark = pytest.mark.postgres
runner = CliRunner()


@pytest.fixture
def libpq_url(postgres_url: str) -> str:
    """The test database as a libpq URL (postgresql://…)."""
    return postgres_url.replace("postgresql+psycopg://", "postgresql://", 1)


def _run(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        con.execute(sql)


def test_postgres_round_trip_on_the_example_contracts(libpq_url: str, tmp_path: Path) -> None:
    """contract → export sql (postgres) → PostgreSQL → import postgres keeps names, types, required, keys."""
    for number, contract in enumerate(EXAMPLE_CONTRACTS):
        original = yaml.safe_load(contract.read_text(encoding="utf-8"))
        _run(libpq_url, f"CREATE SCHEMA s{number}; SET search_path TO s{number};"
             + export_contract("sql", original, ExportOptions(dialect="postgres")).text)  # fmt: skip
        for obj in original["schema"]:
            back = import_source("postgres", libpq_url, ImportOptions(table=f"s{number}.{obj['name']}")).document
            assert shape(back) == [t for t in shape(original) if t[0] == obj["name"]], contract.name
            assert lints_clean(back, tmp_path)


def test_postgres_comments_unique_and_the_command(libpq_url: str, tmp_path: Path) -> None:
    _run(libpq_url, "CREATE TABLE orders (id bigint, line int, ref varchar(36) UNIQUE NOT NULL, amount numeric(12,2), "
         "tags text[], CONSTRAINT pk PRIMARY KEY (id, line), CONSTRAINT positive CHECK (amount > 0));"
         "COMMENT ON TABLE orders IS 'Orders.'; COMMENT ON COLUMN orders.amount IS 'Total.'")  # fmt: skip
    out = tmp_path / "orders.odcs.yaml"
    result = runner.invoke(app, ["import", "postgres", libpq_url, "--table", "orders", "--product", "sales.orders",
                                 "-o", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "public.orders: constraint positive" in result.stderr
    (obj,) = yaml.safe_load(out.read_text())["schema"]
    assert obj["description"] == "Orders."
    assert [(p["name"], p["logicalType"], p["physicalType"], p.get("required"), p.get("primaryKeyPosition"),
             p.get("unique"), p.get("description")) for p in obj["properties"]] == [
        ("id", "integer", "bigint", True, 1, None, None),
        ("line", "integer", "integer", True, 2, None, None),
        ("ref", "string", "character varying(36)", True, None, True, None),
        ("amount", "number", "numeric(12,2)", None, None, None, "Total."),
        ("tags", "array", "text[]", None, None, None, None),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--table", "nosuch"], "no table 'public.nosuch' in the database at"),
        ([], "name the table to import with --table"),
    ],
)
def test_postgres_bad_input(args: list[str], message: str, libpq_url: str, tmp_path: Path) -> None:
    out = tmp_path / "o.odcs.yaml"
    result = runner.invoke(app, ["import", "postgres", libpq_url, *args, "-o", str(out)])
    assert result.exit_code == 2 and message in result.stderr and not out.exists()


def test_postgres_unreachable_and_not_a_url(tmp_path: Path) -> None:
    dead = runner.invoke(app, ["import", "postgres", "postgresql://nobody:secret@127.0.0.1:9/db", "--table", "t"])
    assert dead.exit_code == 2 and "cannot read public.t at 127.0.0.1:9/db" in dead.stderr
    assert "secret" not in dead.output
    bad = runner.invoke(app, ["import", "postgres", "orders.csv", "--table", "t"])
    assert bad.exit_code == 2 and "a postgres SOURCE is a postgresql://" in bad.stderr
