"""Warehouse tables resolve to ports: OpenLineage's dataset naming per platform, short names, quoting.

The unit tests build an index from contract servers; the PostgreSQL test runs the whole path on a
real server: a contract whose server is a table of that server, events named the way Airflow's SQL
operators name them (``postgres://host:port`` + ``database.schema.table``), derived on a PostgreSQL
registry.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from fastapi.testclient import TestClient
from test_receiver_support import EXAMPLE_MESH, build_world, ds, run_event

from meshplane.api import create_app
from meshplane.lineage import MatchHow, MatchKind, PortIndex, PortIndexRow, canonical_identity, locate
from meshplane.registry import lineage as store
from meshplane.service.derivation import derive_pending
from meshplane.settings import Settings
from meshplane.spec.odcs import SchemaObject, Server

ORDERS = SchemaObject.model_validate({"name": "orders", "physicalName": "orders"})


def _index(*servers: tuple[str, dict[str, Any]], obj: SchemaObject = ORDERS) -> PortIndex:
    rows = []
    for port, settings in servers:
        server = Server.model_validate({"server": port, **settings})
        for identity, match in locate(server, obj, lake_root=Path("/lake")):
            rows.append(
                PortIndexRow(identity.namespace, identity.name, "d", f"d.{port}", port, f"c.{port}", "1.0.0", "orders", port, match)
            )  # fmt: skip
    from meshplane.lineage.resolve import _unambiguous

    return PortIndex(_unambiguous(rows))


def _port(index: PortIndex, namespace: str, name: str) -> str | None:
    found = index.resolve(canonical_identity(namespace, name))
    return found.port if found else None


POSTGRES = {"type": "postgres", "host": "db", "port": 5432, "database": "shop", "schema": "public"}


@pytest.mark.parametrize(
    ("namespace", "name", "port"),
    [
        ("postgres://db:5432", "shop.public.orders", "pg"),  # Airflow's SQL operators
        ("postgresql://DB", '"shop"."public"."orders"', "pg"),
        ("postgres://db:5432", "public.orders", "pg"),  # the server's database left out
        ("postgres://db:5432", "orders", "pg"),  # and its schema
        ("postgres://db:5432", 'public."Orders"', None),  # a quoted name keeps its case on PostgreSQL
        ("postgres://db:5432", "other.public.orders", None),
        ("postgres://db:5433", "shop.public.orders", None),
    ],
)
def test_postgres_names_with_and_without_the_servers_defaults(namespace: str, name: str, port: str | None) -> None:
    assert _port(_index(("pg", POSTGRES)), namespace, name) == port


def test_a_short_name_two_servers_share_resolves_to_neither() -> None:
    sales = POSTGRES | {"schema": "sales"}
    index = _index(("pg", POSTGRES), ("pg2", sales))
    assert _port(index, "postgres://db", "orders") is None  # public.orders or sales.orders: nobody can tell
    assert _port(index, "postgres://db", "sales.orders") == "pg2"
    assert _port(index, "postgres://db", "shop.public.orders") == "pg"
    assert index.resolve(canonical_identity("postgres://db", "sales.orders")).how is MatchHow.DEFAULT  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("settings", "namespace", "names"),
    [
        (
            {"type": "duckdb", "database": "/w/finance.duckdb", "schema": "sales"},
            "duckdb:///w/finance.duckdb",
            ["finance.sales.orders", "sales.orders", '"Finance"."Sales"."Orders"'],
        ),
        (
            {"type": "databricks", "host": "adb-1.azuredatabricks.net", "catalog": "main", "schema": "sales"},
            "databricks://adb-1.azuredatabricks.net",
            ["main.sales.orders", "Sales.Orders", "`main`.`sales`.`orders`"],
        ),
        (
            {"type": "snowflake", "account": "acme-prod", "database": "SHOP", "schema": "PUBLIC"},
            "snowflake://acme-prod",
            ["SHOP.PUBLIC.ORDERS", "shop.public.orders", 'PUBLIC."ORDERS"', "orders"],
        ),
        ({"type": "bigquery", "project": "acme", "dataset": "sales"}, "bigquery", ["acme.sales.orders", "sales.orders"]),
        (
            {"type": "trino", "host": "trino", "port": 8080, "catalog": "hive", "schema": "sales"},
            "trino://trino:8080",
            ["hive.sales.orders", "sales.orders", '"HIVE".sales.orders'],
        ),
        (
            {"type": "redshift", "host": "wh.abc123.eu-west-1.redshift.amazonaws.com", "database": "dev", "schema": "public"},
            "redshift://wh.eu-west-1:5439",
            ["dev.public.orders", "public.orders"],
        ),
        (
            {"type": "sqlserver", "host": "sql", "database": "Shop", "schema": "dbo"},
            "sqlserver://sql:1433",
            ["[Shop].[dbo].[Orders]", "shop.dbo.orders", "dbo.orders"],
        ),
    ],
)  # fmt: skip
def test_warehouse_names_per_platform(settings: dict[str, Any], namespace: str, names: list[str]) -> None:
    index = _index(("w", settings))
    for name in names:
        assert _port(index, namespace, name) == "w", name


def test_bigquery_names_are_case_sensitive_and_snowflake_quotes_keep_lower_case() -> None:
    assert (
        _port(
            _index(("w", {"type": "bigquery", "project": "acme", "dataset": "sales"})), "bigquery", "acme.Sales.orders"
        )
        is None
    )
    snowflake = {"type": "snowflake", "account": "acme", "database": "SHOP", "schema": "PUBLIC"}
    assert _port(_index(("w", snowflake)), "snowflake://acme", 'SHOP.PUBLIC."orders"') is None  # fmt: skip


def test_short_names_are_never_claims_of_two_ports() -> None:
    rows = [r for r in _index(("pg", POSTGRES)).rows if r.match is MatchKind.DEFAULT]
    assert {r.name for r in rows} == {"public.orders", "orders"}


# --- on a real PostgreSQL server ---------------------------------------------------------------------------


def _mesh_with_postgres_orders(folder: Path, host: str, port: int, database: str) -> Path:
    mesh = folder / "source"
    shutil.copytree(EXAMPLE_MESH, mesh, ignore=shutil.ignore_patterns("lake", ".meshplane"))
    path = mesh / "domains/retail/products/sales/contracts/orders.odcs.yaml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    document["servers"].append(
        {"server": "shop", "type": "postgres", "host": host, "port": port, "database": database, "schema": "public"}
    )
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return mesh


@pytest.mark.postgres
def test_airflow_sql_events_resolve_to_the_port_of_a_postgres_table(postgres_url: str, tmp_path: Path) -> None:
    url = sa.engine.make_url(postgres_url)
    host, port, database = str(url.host), int(url.port or 5432), str(url.database)
    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:  # the contract's table, on the server the events name
        conn.execute(sa.text("CREATE TABLE public.orders (order_id bigint PRIMARY KEY, amount numeric)"))
    engine.dispose()
    world = build_world(tmp_path, postgres_url, mesh=_mesh_with_postgres_orders(tmp_path, host, port, database))
    namespace = f"postgres://{host}:{port}"  # as the Airflow PostgreSQL provider names it
    revenue = world.path("finance.revenue/daily_revenue")
    events = [
        run_event(
            "airflow-finance/revenue.load_orders",
            inputs=[ds(namespace, f"{database}.public.orders", rows=10)],
            outputs=[ds("file", revenue, rows=2, output=True)],
        ),
        run_event(
            "airflow-finance/revenue.count_orders",
            inputs=[ds(f"postgresql://{host.upper()}:{port}", "public.orders")],  # the connection's database
        ),
    ]
    with world.registry() as registry:
        with TestClient(create_app(registry, settings=Settings())) as client:
            for event in events:
                answer = client.post("/api/v1/lineage", json=event, headers=world.headers("maintainer:finance"))
                assert answer.status_code == 201, answer.text
        derive_pending(registry)
        with registry.read() as session:
            rows = session.execute(
                sa.select(
                    store.RunDataset.name, store.RunDataset.product, store.RunDataset.port, store.RunDataset.match
                )
                .where(store.RunDataset.role == "input")
                .order_by(store.RunDataset.name)
            ).all()
    assert [tuple(r) for r in rows] == [
        (f"{database}.public.orders", "retail.sales", "orders", "exact"),
        ("public.orders", "retail.sales", "orders", "default"),
    ]
