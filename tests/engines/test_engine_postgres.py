"""The PostgreSQL engine: credentials from the environment (bound to their server), types from the catalog, safe casts
without TRY_CAST, one SELECT per object, a read-only session, and clear errors.

Tests that talk to the server create their own database (`postgres_url`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
import yaml
from sqlglot import exp

from meshplane.diagnostics import MeshplaneError
from meshplane.engines import registry
from meshplane.engines.base import EngineError
from meshplane.engines.credentials import server_variable
from meshplane.engines.postgres import INSTALL_HINT, PostgresEngine, PostgresSession, connection_params
from meshplane.service.testing import run_contract
from meshplane.spec.loader import load_contract
from meshplane.spec.odcs import Server

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
ENGINE = PostgresEngine()


def _server(**fields: Any) -> Server:
    return Server(server="prod-pg", type="postgres", **fields)


# -- configuration (no server) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("server", "variable"),
    [
        ("prod-pg", "MESHPLANE_SERVER_PROD_PG_USERNAME"),
        ("Sales EU.primary", "MESHPLANE_SERVER_SALES_EU_PRIMARY_USERNAME"),
        ("db1", "MESHPLANE_SERVER_DB1_USERNAME"),
    ],
)
def test_credential_variables_are_named_after_the_server(server, variable) -> None:
    assert server_variable(server, "username") == variable


def test_connection_from_the_server_and_its_credentials() -> None:
    env = {"MESHPLANE_SERVER_PROD_PG_USERNAME": "checker", "MESHPLANE_SERVER_PROD_PG_PASSWORD": "s3cret",
           "MESHPLANE_SERVER_PROD_PG_HOST": "db.internal", "MESHPLANE_SERVER_PROD_PG_PORT": "6432"}  # fmt: skip
    params = connection_params(_server(host="db.internal", port=6432, database="sales", schema="s"), env)
    assert params["host"] == "db.internal" and params["port"] == "6432" and params["dbname"] == "sales"
    assert (params["user"], params["password"]) == ("checker", "s3cret")
    assert params["autocommit"] is True and "conninfo" not in params


def test_a_dsn_bound_to_the_server_fields_is_used_as_is() -> None:
    env = {"MESHPLANE_SERVER_PROD_PG_DSN": "postgresql+psycopg://u@h:5/d?sslmode=require"}
    params = connection_params(_server(host="h", port=5, database="d", schema="s"), env)
    assert params["conninfo"] == "postgresql://u@h:5/d?sslmode=require"
    assert "host" not in params and "dbname" not in params and "user" not in params
    with pytest.raises(EngineError, match=r"declares elsewhere:5/d, but its credentials .* are bound to h:5/d"):
        connection_params(_server(host="elsewhere", port=5, database="d", schema="s"), env)


def test_missing_psycopg_gives_the_install_hint(monkeypatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "psycopg" else real(name, *a))
    assert PostgresEngine().missing_requirement() == f"psycopg is not installed: {INSTALL_HINT}"
    with pytest.raises(MeshplaneError, match=r"pip install 'meshplane\[postgres\]'"):
        registry.engine_for(_server())


def test_postgres_servers_pick_postgres() -> None:
    for kind in ("postgres", "postgresql"):
        assert registry.engine_for(Server(server="s", type=kind)).name == "postgres"
    with pytest.raises(MeshplaneError, match="cannot serve"):
        registry.engine_for(Server(server="s", type="local"), requested="postgres")


def test_queries_have_no_try_cast_and_alias_derived_tables() -> None:
    import sqlglot

    cast = ENGINE.render(ENGINE.safe_cast(exp.column("v"), exp.DataType.build("BIGINT")))
    assert "TRY_CAST" not in cast and cast.startswith("CASE WHEN CAST(v AS TEXT) ~")
    count_if = ENGINE.render(exp.select(exp.CountIf(this=exp.column("v") > 1)).from_("t"))
    assert count_if == "SELECT COUNT(*) FILTER(WHERE v > 1) FROM t"
    rule = sqlglot.parse_one("SELECT COUNT(*) FROM (SELECT v FROM t GROUP BY v HAVING COUNT(*) > 1)", read="postgres")
    assert ENGINE.render(rule).endswith(") AS _derived0")


# -- against the server -------------------------------------------------------------------------------


def _connect(url: str) -> psycopg.Connection:
    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1), autocommit=True)


def _server_of(url: str, monkeypatch, schema: str = "public") -> dict[str, Any]:
    parts = urlsplit(url)
    monkeypatch.setenv("MESHPLANE_SERVER_PG_USERNAME", parts.username or "")
    monkeypatch.setenv("MESHPLANE_SERVER_PG_HOST", parts.hostname or "")
    monkeypatch.setenv("MESHPLANE_SERVER_PG_PORT", str(parts.port or 5432))
    return {"server": "pg", "type": "postgres", "host": parts.hostname, "port": parts.port or 5432,
            "database": parts.path.lstrip("/"), "schema": schema}  # fmt: skip


def _run(tmp_path, server: dict[str, Any], objects: list[dict[str, Any]], **kwargs: Any):
    doc = {"apiVersion": "v3.1.0", "kind": "DataContract", "id": "pg", "version": "1.0.0", "status": "active",
           "servers": [server], "schema": objects}  # fmt: skip
    path = tmp_path / "c.odcs.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    loaded = load_contract(path)
    assert loaded.ok and loaded.model is not None, loaded.diagnostics
    return run_contract(loaded.model, base_dir=tmp_path, clock=lambda: NOW, **kwargs)


def _checks(run) -> dict[str, Any]:
    return {c.spec.id: c for c in run.checks}


CATALOG_TYPES = """
CREATE SCHEMA shop;
CREATE TYPE shop.mood AS ENUM ('ok', 'sad');
CREATE DOMAIN shop.positive AS integer CHECK (VALUE > 0);
CREATE TYPE shop.address AS (city text, zip varchar(5));
CREATE TABLE shop."Orders" (
  id serial PRIMARY KEY, code varchar(8), price numeric(8, 2), qty shop.positive, mood shop.mood,
  tags text[], home shop.address, at timestamptz, day date, payload jsonb, flag boolean
);
INSERT INTO shop."Orders" (code, price, qty, mood, tags, home, at, day, payload, flag) VALUES
  ('A1', 9.99, 1, 'ok', '{a,b}', ROW('Oslo', '0150'), '2026-03-02T11:00:00Z', '2026-03-01', '{"k": 1}', true),
  ('b2', 10.50, 2, 'sad', '{}', NULL, '2026-03-01T00:00:00Z', '2026-02-01', NULL, NULL);
"""


@pytest.mark.postgres
def test_types_come_from_the_catalog(postgres_url, tmp_path, monkeypatch) -> None:
    with _connect(postgres_url) as conn:
        conn.execute(CATALOG_TYPES)
    objects = [{"name": "orders", "physicalName": "Orders", "properties": [
        {"name": "id", "logicalType": "integer", "physicalType": "serial"},
        {"name": "code", "logicalType": "string", "physicalType": "varchar(8)",
         "logicalTypeOptions": {"pattern": "^[A-Z]"}},
        {"name": "price", "logicalType": "number", "physicalType": "numeric(8,2)"},
        {"name": "qty", "logicalType": "integer"},
        {"name": "mood", "logicalType": "string", "quality": [
            {"metric": "invalidValues", "arguments": {"validValues": ["ok"]}, "mustBe": 0}]},
        {"name": "tags", "logicalType": "array", "items": {"logicalType": "string"},
         "logicalTypeOptions": {"minItems": 1}},
        {"name": "home", "logicalType": "object", "properties": [
            {"name": "city", "logicalType": "string", "required": True},
            {"name": "zip", "logicalType": "string", "logicalTypeOptions": {"pattern": "^[0-9]{4}$"}}]},
        {"name": "at", "logicalType": "timestamp", "logicalTypeOptions": {"timezone": True}},
        {"name": "day", "logicalType": "date", "logicalTypeOptions": {"minimum": "2026-01-01"}},
        {"name": "payload", "logicalType": "object"},
        {"name": "flag", "logicalType": "boolean", "required": True},
    ]}]  # fmt: skip
    run = _run(tmp_path, _server_of(postgres_url, monkeypatch, schema="shop"), objects)
    assert run.engine == "postgres" and run.error is None, run.error
    got = _checks(run)
    types = {k: v for k, v in got.items() if k.endswith("schema.type")}
    assert {k: v.status.value for k, v in types.items() if v.status.value != "passed"} == {}
    assert got["orders.qty.schema.type"].observed == "shop.positive"  # a domain, checked as its base type
    assert got["orders.home.city.schema.property"].status.value == "passed"  # composite fields
    assert got["orders.home.city.required"].observed == 1  # a NULL composite has NULL fields
    assert got["orders.home.zip.pattern"].observed == 0
    assert got["orders.code.pattern"].observed == 1
    assert got["orders.mood.invalidValues"].observed == 1  # enum values compared as text
    assert got["orders.tags.minItems"].observed == 1  # an empty array has 0 items (not NULL)
    assert got["orders.at.timezone"].status.value == "passed"
    assert got["orders.flag.required"].observed == 1
    assert got["orders.day.minimum"].observed == 0
    assert run.datasets[0].location.endswith("/shop.Orders") and "@" not in run.datasets[0].location


@pytest.mark.postgres
def test_one_select_per_object(postgres_url, tmp_path, monkeypatch) -> None:
    with _connect(postgres_url) as conn:
        conn.execute("CREATE TABLE a (id int, name text); INSERT INTO a VALUES (1, 'x'), (2, 'y')")
        conn.execute("CREATE TABLE b (id int); INSERT INTO b VALUES (1)")
    statements: list[str] = []
    execute = PostgresSession.execute

    def counted(self: PostgresSession, query: Any):
        statements.append(query if isinstance(query, str) else self.engine.render(query))
        return execute(self, query)

    monkeypatch.setattr(PostgresSession, "execute", counted)
    props = [{"name": "id", "logicalType": "integer", "required": True, "unique": True,
              "logicalTypeOptions": {"minimum": 1, "maximum": 10}}]  # fmt: skip
    objects = [
        {"name": "a", "properties": [*props, {"name": "name", "logicalType": "string", "logicalTypeOptions":
                                               {"maxLength": 3, "pattern": "^[a-z]$"}}],
         "quality": [{"metric": "rowCount", "mustBe": 2},
                     {"type": "sql", "query": "SELECT COUNT(*) FROM {object} WHERE name LIKE 'x%'", "mustBe": 1}]},
        {"name": "b", "properties": props},
    ]  # fmt: skip
    run = _run(tmp_path, _server_of(postgres_url, monkeypatch), objects)
    assert run.result.value == "passed", [(c.spec.id, c.message) for c in run.checks if c.status.value != "passed"]
    assert len(statements) == 2 and all(s.startswith("SELECT") for s in statements)


@pytest.mark.postgres
def test_the_session_is_read_only(postgres_url, tmp_path, monkeypatch) -> None:
    with _connect(postgres_url) as conn:
        conn.execute("CREATE TABLE t (id int); CREATE SEQUENCE s; INSERT INTO t VALUES (1)")
    rule = {"type": "sql", "query": "SELECT nextval('s') FROM {object}", "mustBe": 1}
    run = _run(tmp_path, _server_of(postgres_url, monkeypatch), [{"name": "t", "quality": [rule]}])
    check = _checks(run)["t.sql"]
    assert check.status.value == "error" and "nextval() is not allowed" in check.message
    # past the parse-time gate (a function of the database calling it), the transaction refuses
    with _connect(postgres_url) as conn:
        conn.execute("CREATE FUNCTION bump() RETURNS bigint LANGUAGE sql AS 'SELECT nextval(''s'')'")
    rule = {"type": "sql", "query": "SELECT bump() FROM {object}", "mustBe": 1}
    run = _run(tmp_path, _server_of(postgres_url, monkeypatch), [{"name": "t", "quality": [rule]}])
    check = _checks(run)["t.sql"]
    assert check.status.value == "error" and "read-only transaction" in check.message


SAFE_CAST_CASES: dict[str, list[tuple[str, Any]]] = {
    "BIGINT": [("12", 12), (" 12 ", 12), ("+7", 7), ("10.00", 10), ("-9223372036854775808", -(2**63)),
               ("10.5", None), ("x", None), ("", None), ("99999999999999999999", None)],
    "DOUBLE": [("1.5", 1.5), (".5", 0.5), ("5.", 5.0), ("-2e3", -2000.0), ("inf", float("inf")),
               ("1e400", float("inf")), ("-1e400", float("-inf")), ("1e-400", 0.0), ("abc", None), ("0x10", None)],
    "BOOLEAN": [("true", True), ("T", True), ("yes", True), ("0", False), ("no", False), ("maybe", None)],
    "DATE": [("2026-01-01", date(2026, 1, 1)), ("2024-02-29", date(2024, 2, 29)), ("2026-2-3", date(2026, 2, 3)),
             ("2026-03-02T10:00:00Z", date(2026, 3, 2)), ("2026-02-29", None), ("1900-02-29", None),
             ("2026-13-01", None), ("0000-01-01", None), ("20260101", None), ("2026-01-01 25:00", None)],
    "TIMESTAMPTZ": [("2026-03-02T10:00:00Z", datetime(2026, 3, 2, 10, tzinfo=UTC)),
                    ("2026-03-02 10:00:00+02:00", datetime(2026, 3, 2, 8, tzinfo=UTC)),
                    ("2026-03-02T10:00", datetime(2026, 3, 2, 10, tzinfo=UTC)),
                    ("2026-03-02T10:00:00+16:00", None), ("2026-02-30T10:00:00Z", None), ("garbage", None)],
}  # fmt: skip


@pytest.mark.postgres
@pytest.mark.parametrize("target", list(SAFE_CAST_CASES))
def test_safe_casts_never_fail_the_query(postgres_url, target) -> None:
    cases = SAFE_CAST_CASES[target]
    cast = ENGINE.render(ENGINE.safe_cast(exp.column("v"), exp.DataType.build(target, dialect="postgres")))
    values = ", ".join(f"({i}, {exp.Literal.string(text).sql('postgres')})" for i, (text, _) in enumerate(cases))
    with _connect(postgres_url) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        rows = conn.execute(f"SELECT {cast} FROM (VALUES {values}) AS t(i, v) ORDER BY i").fetchall()  # type: ignore[arg-type]
    assert [r[0] for r in rows] == [want for _, want in cases]


@pytest.mark.postgres
def test_missing_table_and_unknown_user(postgres_url, tmp_path, monkeypatch) -> None:
    with _connect(postgres_url) as conn:
        conn.execute("CREATE TABLE present (id int)")
    server = _server_of(postgres_url, monkeypatch)
    run = _run(tmp_path, server, [{"name": "present"}, {"name": "absent"}])
    got = _checks(run)
    assert got["absent.schema.object"].status.value == "failed"
    assert "table public.absent not found" in got["absent.schema.object"].message
    user = f"nobody_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("MESHPLANE_SERVER_PG_USERNAME", user)
    monkeypatch.setenv("MESHPLANE_SERVER_PG_PASSWORD", "not-shown")
    failed = _run(tmp_path, server, [{"name": "present"}])
    assert failed.result.value == "error" and failed.error
    assert "cannot connect to PostgreSQL server 'pg'" in failed.error and user in failed.error
    assert "not-shown" not in failed.error


@pytest.mark.postgres
def test_a_table_the_user_cannot_read(postgres_url, tmp_path, monkeypatch) -> None:
    role = f"reader_{uuid.uuid4().hex[:8]}"
    with _connect(postgres_url) as conn:
        conn.execute(f"CREATE TABLE secret (id int); CREATE ROLE {role} LOGIN")
    try:
        server = _server_of(postgres_url, monkeypatch)
        monkeypatch.delenv("MESHPLANE_SERVER_PG_USERNAME")  # the DSN names the user
        user = urlsplit(postgres_url).username
        monkeypatch.setenv("MESHPLANE_SERVER_PG_DSN", postgres_url.replace(f"//{user}@", f"//{role}@"))
        run = _run(tmp_path, server, [{"name": "secret"}])
        assert run.result.value == "error" and run.error and "no SELECT privilege on public.secret" in run.error
    finally:
        with _connect(postgres_url) as conn:
            conn.execute(f"DROP ROLE {role}")
