"""The SQL sandbox of each engine: a rule reads the data under test, writes nothing, sets nothing.

DuckDB's file sandbox is tested end to end in tests/checks/test_checks_sandbox.py; here the
parse-time gate (every engine), PostgreSQL's read-only transactions and statement timeout, and
Spark's gate and settings.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from sqlglot import exp

from meshplane.checks.sqltext import gate_refusal, parse_read_only
from meshplane.engines.base import quoted_table
from meshplane.engines.duckdb import DuckDBEngine
from meshplane.engines.postgres import PostgresEngine
from meshplane.engines.spark import SparkEngine
from meshplane.settings import get_settings


def _refusal(engine: Any, query: str, home: exp.Table) -> str | None:
    return gate_refusal(parse_read_only(query, engine.dialect), home, engine.denied_functions, engine.denied_relations)


PG_HOME = quoted_table("shop", "orders")


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("SELECT length(pg_read_file('/etc/passwd')) FROM shop.orders", "pg_read_file()"),
        ("SELECT length(pg_catalog.pg_read_binary_file('/etc/passwd'))", "pg_read_binary_file()"),
        ("SELECT count(*) FROM pg_ls_dir('/')", "pg_ls_dir()"),
        ("SELECT lo_import('/etc/passwd')", "lo_import()"),
        ("SELECT lo_from_bytea(0, 'x')", "lo_from_bytea()"),
        ("SELECT set_config('default_transaction_read_only', 'off', false)", "set_config()"),
        ("SELECT count(*) FROM dblink('host=elsewhere', 'SELECT 1') AS t(a int)", "dblink()"),
        ("SELECT pg_sleep(100)", "pg_sleep()"),
        ("SELECT count(*) FROM (SELECT query_to_xml('DELETE FROM shop.orders', true, true, '')) x", "query_to_xml()"),
        ("SELECT nextval('shop.s')", "nextval()"),
        ("SELECT count(*) FROM other.secrets", "other.secrets"),
        ("SELECT count(*) FROM information_schema.tables", "information_schema.tables"),
        ("SELECT count(*) FROM pg_authid", "pg_authid"),
        ("WITH x AS (SELECT * FROM pg_catalog.pg_user) SELECT count(*) FROM x", "pg_catalog.pg_user"),
    ],
)
def test_postgres_gate_refuses_and_names_it(query: str, named: str) -> None:
    refusal = _refusal(PostgresEngine(), query, PG_HOME)
    assert refusal is not None and named in refusal


@pytest.mark.parametrize(
    "query",
    [
        "SELECT count(*) FROM shop.orders WHERE amount < 0",
        'SELECT count(*) FROM "shop"."orders" o JOIN shop.customers c ON c.id = o.customer',
        "WITH pg_x AS (SELECT 1 AS a) SELECT count(*) FROM pg_x",
        "SELECT count(*) FROM orders WHERE upper(status) = 'X' AND now() > created_at",
    ],
)
def test_postgres_gate_lets_ordinary_rules_through(query: str) -> None:
    assert _refusal(PostgresEngine(), query, PG_HOME) is None


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("SELECT count(*) FROM parquet.`/etc/data.parquet`", "parquet./etc/data.parquet"),
        ("SELECT count(*) FROM text.`/etc/passwd`", "text./etc/passwd"),
        ("SELECT count(*) FROM read_files('/etc/passwd')", "read_files()"),
        ("SELECT reflect('java.lang.System', 'getenv', 'HOME')", "reflect()"),
        ("SELECT java_method('java.lang.System', 'getenv', 'HOME')", "java_method()"),
        ("SELECT count(*) FROM other_db.orders", "other_db.orders"),
    ],
)
def test_spark_gate_refuses_files_and_java(query: str, named: str) -> None:
    refusal = _refusal(SparkEngine(), query, quoted_table("orders"))
    assert refusal is not None and named in refusal


def test_duckdb_relies_on_its_file_sandbox_but_refuses_qualified_names() -> None:
    engine = DuckDBEngine()
    assert _refusal(engine, "SELECT count(*) FROM orders", quoted_table("orders")) is None
    refusal = _refusal(engine, "SELECT count(*) FROM other.main.orders", quoted_table("orders"))
    assert refusal is not None and "other.main.orders" in refusal


# -- PostgreSQL: the transaction, whatever the gate misses ---------------------------------------

psycopg = pytest.importorskip("psycopg")
from test_engine_postgres import _checks, _connect, _run, _server_of  # noqa: E402 - after the skip

WRITERS = """
CREATE TABLE t (id int);
INSERT INTO t VALUES (1);
CREATE FUNCTION lift() RETURNS text LANGUAGE sql
  AS $$ SELECT set_config('default_transaction_read_only', 'off', false) $$;
CREATE FUNCTION lift_now() RETURNS text LANGUAGE sql
  AS $$ SELECT set_config('transaction_read_only', 'off', true) $$;
CREATE FUNCTION scribble() RETURNS int LANGUAGE sql AS $$ INSERT INTO t VALUES (2) RETURNING id $$;
CREATE FUNCTION big_object() RETURNS oid LANGUAGE sql AS $$ SELECT lo_from_bytea(0, 'x') $$;
CREATE FUNCTION slow() RETURNS int LANGUAGE sql AS $$ SELECT 1 FROM pg_sleep(5) $$;
"""


def _rule(query: str) -> dict[str, Any]:
    return {"type": "sql", "query": query, "mustBeGreaterThan": 0}


@pytest.mark.postgres
def test_postgres_rules_cannot_lift_read_only_or_write(postgres_url, tmp_path, monkeypatch) -> None:
    with _connect(postgres_url) as conn:
        conn.execute(WRITERS)
    rules = [_rule("SELECT length(lift()) FROM {object}"), _rule("SELECT length(lift_now()) FROM {object}"),
             _rule("SELECT scribble()"), _rule("SELECT big_object()::bigint"),
             _rule("SELECT length(pg_read_file('/etc/passwd'))")]  # fmt: skip
    run = _run(tmp_path, _server_of(postgres_url, monkeypatch), [{"name": "t", "quality": rules}])
    got = [c for c in run.checks if c.spec.kind == "sql"]
    # the first rule's setting is rolled back with its transaction: the next ones stay read-only;
    # PostgreSQL lets a large object be created in a read-only transaction: rolled back with it
    assert [c.status.value for c in got] == ["passed", "error", "error", "passed", "error"], [c.message for c in got]
    assert "read-write mode" in str(got[1].message)
    assert "read-only transaction" in str(got[2].message)
    assert "pg_read_file() is not allowed" in str(got[4].message) and "root:" not in str(got[4].message)
    with _connect(postgres_url) as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (1,)
        assert conn.execute("SELECT count(*) FROM pg_largeobject_metadata").fetchone() == (0,)


@pytest.mark.postgres
def test_postgres_statement_timeout(postgres_url, tmp_path, monkeypatch) -> None:
    with _connect(postgres_url) as conn:
        conn.execute(WRITERS)
    monkeypatch.setenv("MESHPLANE_QUERY_TIMEOUT_SECONDS", "0.5")
    get_settings.cache_clear()
    try:
        run = _run(
            tmp_path, _server_of(postgres_url, monkeypatch), [{"name": "t", "quality": [_rule("SELECT slow()")]}]
        )
    finally:
        get_settings.cache_clear()
    check = _checks(run)["t.sql"]
    assert check.status.value == "error" and "statement timeout" in str(check.message)


# -- Spark: the gate, and SQL on files switched off below it -------------------------------------

from test_engine_spark import spark  # noqa: E402, F401 - the session fixture


@pytest.mark.spark
def test_spark_rules_cannot_read_files(spark, tmp_path) -> None:  # noqa: F811 - the fixture
    from meshplane.engines.base import QueryError
    from meshplane.service.testing import run_contract
    from meshplane.spec.loader import load_contract
    from meshplane.spec.odcs import Server

    (tmp_path / "orders.csv").write_text("id\n1\n2\n", encoding="utf-8")
    server = {"server": "s", "type": "local", "path": "orders.csv", "format": "csv"}
    rules = [_rule("SELECT count(*) FROM text.`/etc/passwd`"),
             _rule("SELECT length(reflect('java.lang.System', 'getenv', 'HOME'))"),
             _rule("SELECT count(*) FROM {object}")]  # fmt: skip
    doc = {"apiVersion": "v3.1.0", "kind": "DataContract", "id": "c", "version": "1", "status": "active",
           "servers": [server], "schema": [{"name": "orders", "quality": rules}]}  # fmt: skip
    path = tmp_path / "c.odcs.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    contract = load_contract(path).model
    assert contract is not None
    run = run_contract(contract, base_dir=tmp_path, engine="spark")
    got = [c for c in run.checks if c.spec.kind == "sql"]
    assert [c.status.value for c in got] == ["error", "error", "passed"], [c.message for c in got]
    assert "text./etc/passwd" in str(got[0].message) and "reflect()" in str(got[1].message)
    # below the gate: the run's session does not read a file named in SQL
    server_model = Server(server="s", type="local", path="orders.csv", format="csv")
    with spark.connect(server_model, tmp_path) as session, pytest.raises(QueryError):
        session.execute("SELECT count(*) FROM text.`/etc/passwd`")
