"""`meshplane import` / `export`: Parquet, CSV and SQL DDL in, SQL DDL out; round trips on the example
mesh's contracts (names, types, required, keys kept); DDL per dialect; bad input (exit 2, nothing written)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from interop_support import EXAMPLE_CONTRACTS, lints_clean, shape
from typer.testing import CliRunner

from meshplane.cli.app import app
from meshplane.interop import ExportOptions, ImportOptions, export_contract, import_source

REPO = Path(__file__).resolve().parents[2]
DIALECTS = ("postgres", "duckdb", "spark", "snowflake", "bigquery")
runner = CliRunner()
VALUE = {"string": "'x'", "integer": "1", "number": "1.5", "boolean": "true", "date": "DATE '2026-01-02'",
         "timestamp": "TIMESTAMPTZ '2026-01-02 03:04:05+00'", "time": "TIME '03:04:05'"}  # fmt: skip


# ---- parquet and csv ------------------------------------------------------------------------------


def test_parquet_import_types_and_required(tmp_path: Path) -> None:
    schema = pa.schema([
        pa.field("id", pa.int64(), nullable=False), pa.field("name", pa.string()),
        pa.field("amount", pa.decimal128(10, 2)), pa.field("day", pa.date32()),
        pa.field("at", pa.timestamp("us", tz="UTC")), pa.field("ok", pa.bool_()),
        pa.field("tags", pa.list_(pa.string())),
    ])  # fmt: skip
    pq.write_table(
        pa.table({n: [None] if n != "id" else [1] for n in schema.names}, schema=schema), tmp_path / "t.parquet"
    )
    imported = import_source("parquet", tmp_path / "t.parquet", ImportOptions(product="sales.orders", port="orders"))
    doc = imported.document
    assert (doc["id"], doc["domain"], doc["apiVersion"]) == ("sales.orders.orders", "sales", "v3.1.0")
    props = {p["name"]: (p["logicalType"], p["physicalType"], p["required"]) for p in doc["schema"][0]["properties"]}
    assert props == {
        "id": ("integer", "BIGINT", True), "name": ("string", "VARCHAR", False),
        "amount": ("number", "DECIMAL(10,2)", False), "day": ("date", "DATE", False),
        "at": ("timestamp", "TIMESTAMP WITH TIME ZONE", False), "ok": ("boolean", "BOOLEAN", False),
        "tags": ("array", "VARCHAR[]", False),
    }  # fmt: skip
    assert "id: BIGINT → integer" in imported.notes
    assert lints_clean(doc, tmp_path)


def test_csv_import_states_inferred_types(tmp_path: Path) -> None:
    (tmp_path / "people.csv").write_text("id,name,born,score\n1,Ann,2001-02-03,1.5\n2,Bob,1999-12-31,2\n")
    imported = import_source("csv", tmp_path / "people.csv", ImportOptions())
    props = [(p["name"], p["logicalType"], p["physicalType"]) for p in imported.document["schema"][0]["properties"]]
    assert props == [("id", "integer", "BIGINT"), ("name", "string", "VARCHAR"), ("born", "date", "DATE"),
                     ("score", "number", "DOUBLE")]  # fmt: skip
    assert "born: DATE → date (inferred from the data)" in imported.notes
    assert any("nullability" in d for d in imported.dropped)
    assert lints_clean(imported.document, tmp_path)


@pytest.mark.parametrize("contract", EXAMPLE_CONTRACTS, ids=lambda p: p.stem)
def test_parquet_round_trip_on_the_example_contracts(contract: Path, tmp_path: Path) -> None:
    """contract → DuckDB DDL → a Parquet file written by DuckDB → import: names, types, required kept."""
    original = yaml.safe_load(contract.read_text(encoding="utf-8"))
    ddl = export_contract("sql", original, ExportOptions(dialect="duckdb")).text
    with duckdb.connect() as con:
        con.execute(ddl)
        for name, props in shape(original):  # one row: a value where required, NULL elsewhere
            values = [VALUE[logical] if required else "NULL" for _, logical, required, _ in props]
            con.execute(f"INSERT INTO {name} VALUES ({', '.join(values)})")
            con.execute(f"COPY {name} TO '{tmp_path / name}.parquet' (FORMAT parquet)")
    for name, props in shape(original):
        back = import_source("parquet", tmp_path / f"{name}.parquet", ImportOptions(port=name)).document
        assert [p[:3] for p in shape(back)[0][1]] == [p[:3] for p in props]


# ---- SQL DDL --------------------------------------------------------------------------------------

DDL = {
    "postgres": "CREATE TABLE IF NOT EXISTS public.orders (id BIGSERIAL PRIMARY KEY, ref UUID NOT NULL UNIQUE, "
    "amount NUMERIC(12,2), tags TEXT[], at TIMESTAMPTZ NOT NULL DEFAULT now(), doc JSONB);",
    "duckdb": "CREATE OR REPLACE TABLE orders (id HUGEINT PRIMARY KEY, ref VARCHAR NOT NULL UNIQUE, amount DECIMAL(12,2), "
    "tags VARCHAR[], at TIMESTAMP NOT NULL, doc STRUCT(a INTEGER));",
    "spark": "CREATE TABLE orders (id BIGINT NOT NULL, ref STRING NOT NULL, amount DECIMAL(12,2), tags ARRAY<STRING>, "
    "at TIMESTAMP NOT NULL, doc MAP<STRING, STRING>) USING DELTA PARTITIONED BY (at)",
    "snowflake": "CREATE OR REPLACE TABLE db.sch.orders (id NUMBER(38,0) NOT NULL, ref VARCHAR(36) NOT NULL UNIQUE, "
    "amount NUMBER(12,2), tags ARRAY, at TIMESTAMP_NTZ NOT NULL, doc VARIANT, PRIMARY KEY (id))",
    "bigquery": "CREATE TABLE `proj.ds.orders` (id INT64 NOT NULL, ref STRING NOT NULL, amount NUMERIC(12, 2), "
    "tags ARRAY<STRING>, at TIMESTAMP NOT NULL, doc STRUCT<a INT64>, PRIMARY KEY (id) NOT ENFORCED)",
}
EXPECTED_TYPES = ["integer", "string", "number", "array", "timestamp"]  # then doc: JSONB is a string


@pytest.mark.parametrize("dialect", DIALECTS)
def test_sql_import_per_dialect(dialect: str, tmp_path: Path) -> None:
    (tmp_path / "orders.sql").write_text(DDL[dialect] + "\n", encoding="utf-8")
    imported = import_source("sql", tmp_path / "orders.sql", ImportOptions(dialect=dialect, product="sales.orders"))
    ((table, props),) = shape(imported.document)
    assert table == "orders"
    assert [p[0] for p in props] == ["id", "ref", "amount", "tags", "at", "doc"]
    assert [p[1] for p in props] == [*EXPECTED_TYPES[:5], "string" if dialect == "postgres" else "object"]
    assert [p[2] for p in props] == [True, True, False, False, True, False]
    if dialect != "spark":  # Spark DDL has no primary key
        assert props[0][3] == 1
    assert imported.document["id"] == "sales.orders.orders"
    assert lints_clean(imported.document, tmp_path)


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("contract", EXAMPLE_CONTRACTS, ids=lambda p: p.stem)
def test_sql_round_trip_on_the_example_contracts(contract: Path, dialect: str, tmp_path: Path) -> None:
    """contract → export sql → import sql keeps names, logical types, required and the primary key."""
    original = yaml.safe_load(contract.read_text(encoding="utf-8"))
    exported = export_contract("sql", original, ExportOptions(dialect=dialect))
    assert "description (" in "\n".join(exported.dropped)  # what SQL does not carry is said
    (tmp_path / "c.sql").write_text(exported.text, encoding="utf-8")
    back = import_source("sql", tmp_path / "c.sql", ImportOptions(dialect=dialect)).document
    assert shape(back) == shape(original)
    assert lints_clean(back, tmp_path)


# ---- the commands and bad input -------------------------------------------------------------------


def test_import_and_export_commands(tmp_path: Path) -> None:
    (tmp_path / "o.sql").write_text(DDL["postgres"], encoding="utf-8")
    out = tmp_path / "contracts" / "orders.odcs.yaml"
    result = runner.invoke(app, ["import", "sql", str(tmp_path / "o.sql"), "--dialect", "postgres", "--product",
                                 "sales.orders", "--port", "orders", "-o", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "DEFAULT CURRENT_TIMESTAMP" in result.stderr and f"created {out}" in result.stderr
    assert yaml.safe_load(out.read_text())["id"] == "sales.orders.orders"
    again = runner.invoke(app, ["import", "sql", str(tmp_path / "o.sql"), "-o", str(out)])
    assert again.exit_code == 2 and "exists" in again.stderr
    exported = runner.invoke(app, ["export", "sql", str(out), "--dialect", "snowflake"])
    assert exported.exit_code == 0 and exported.stdout.startswith("CREATE TABLE orders (")
    stdout = runner.invoke(app, ["import", "csv", str(_csv(tmp_path))])
    assert stdout.exit_code == 0 and yaml.safe_load(stdout.stdout)["kind"] == "DataContract"


def _csv(folder: Path) -> Path:
    path = folder / "x.csv"
    path.write_text("a,b\n1,x\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["import", "sql", "{bin}"], "a binary file, not SQL DDL"),
        (["import", "sql", "{bad_sql}"], "sqlglot cannot parse this DDL"),
        (["import", "sql", "{no_table}"], "no CREATE TABLE statement"),
        (["import", "sql", "{typo}"], "no CREATE TABLE statement found (sqlglot could not read: CREATE"),
        (["import", "parquet", "{bad_sql}"], "cannot be read as parquet"),
        (["import", "csv", "{bin}"], "cannot be read as csv"),
        (["import", "parquet", "{missing}"], "no such file"),
        (["import", "xml", "{bad_sql}"], "unknown import kind 'xml'"),
        (["import", "sql", "{bad_sql}", "--dialect", "nosuch"], "nosuch"),
        (["export", "nosuch", "{contract}"], "unknown export format 'nosuch'"),
        (["export", "sql", "{bad_sql}"], "is not a valid ODCS contract"),
        (["export", "sql", "{contract}", "--dialect", "nosuch"], "nosuch"),
    ],
)
def test_bad_input_is_exit_2_and_writes_nothing(args: list[str], message: str, tmp_path: Path) -> None:
    files = {
        "bin": tmp_path / "b.sql", "bad_sql": tmp_path / "bad.sql", "no_table": tmp_path / "v.sql",
        "missing": tmp_path / "nope.parquet", "contract": EXAMPLE_CONTRACTS[0], "typo": tmp_path / "t.sql",
    }  # fmt: skip
    files["typo"].write_text("CREATE TABL oops (\n  id int\n);\n", encoding="utf-8")
    files["bin"].write_bytes(b"\x00\x01\x02PAR1\xff")
    files["bad_sql"].write_text("CREATE TABLE (id INT", encoding="utf-8")
    files["no_table"].write_text("CREATE VIEW v AS SELECT 1;", encoding="utf-8")
    out = tmp_path / "out" / "written.yaml"
    named = {k: str(v) for k, v in files.items()}
    result = runner.invoke(app, [*(a.format(**named) for a in args), "--output", str(out)])
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "Traceback" not in result.output
    assert "Falling back" not in result.output  # sqlglot's own warning is not printed beside the error
    assert not out.exists() and not out.parent.exists()
