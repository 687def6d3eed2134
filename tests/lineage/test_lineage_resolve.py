"""Resolving datasets to output ports (index from the example mesh) and attributing jobs to domains."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from lineage_support import EXAMPLE_MESH, run_event

from meshplane.lineage import (
    AttributionRule,
    DatasetIdentity,
    MatchHow,
    MatchKind,
    PortIndex,
    PortIndexRow,
    UnlocatableServer,
    attribute_job,
    build_port_index,
    canonical_identity,
    locate,
    owner_directory,
    parse_event,
)
from meshplane.mesh import MeshRepository, load_mesh
from meshplane.spec.odcs import SchemaObject, Server


@pytest.fixture(scope="module")
def mesh() -> MeshRepository:
    return load_mesh(EXAMPLE_MESH)


@pytest.fixture(scope="module")
def index(mesh: MeshRepository) -> PortIndex:
    return build_port_index(mesh)


def _lake(mesh: MeshRepository, relative: str) -> DatasetIdentity:
    return DatasetIdentity("file", str(mesh.lake_root / relative))


def _expected_ports(mesh: MeshRepository) -> list[tuple[str, str, str, str, str, str]]:
    """(domain, product, port, contract id, version, local path) of every output port, read independently."""
    out = []
    for entry in mesh.products:
        assert entry.product is not None
        for port in entry.product.output_ports or []:
            contract = mesh.contract_by_id(port.contract_id or "")
            assert contract is not None and contract.contract is not None
            (server,) = contract.contract.servers or []
            out.append(
                (
                    entry.domain,
                    entry.product.id,
                    port.name,
                    port.contract_id or "",
                    port.version,
                    server.setting("path"),
                )
            )
    return out


def test_every_output_port_of_the_example_mesh_is_indexed(mesh: MeshRepository, index: PortIndex) -> None:
    expected = _expected_ports(mesh)
    assert len(expected) == 11
    assert len(index) == 11 and not index.notes
    for row in index.rows:
        assert row.match is MatchKind.PREFIX and row.server == "lake"


@pytest.mark.parametrize("case", range(11))
def test_contract_local_paths_resolve_to_their_port(mesh: MeshRepository, index: PortIndex, case: int) -> None:
    domain, product, port, contract_id, version, path = _expected_ports(mesh)[case]
    folder = path.rsplit("/", 1)[0] if "*" in path else path
    for written in (
        str(mesh.lake_root / folder),
        str(mesh.lake_root / folder) + "/",
        str(mesh.lake_root / path),  # the contract's own glob
        str(mesh.lake_root / folder / "dt=2024-01-31" / "part-00000-1a2b.snappy.parquet"),
        str(mesh.lake_root / folder / "2024" / "01" / "31" / "data_0.parquet"),
    ):
        match = index.resolve(DatasetIdentity("file", written))
        assert match is not None, written
        assert (match.domain, match.product, match.port, match.contract_id, match.contract_version) == (
            domain,
            product,
            port,
            contract_id,
            version,
        )


def test_a_partitioned_file_under_a_port_folder_resolves(mesh: MeshRepository, index: PortIndex) -> None:
    written = _lake(mesh, "retail/sales/orders/dt=2024-01-31/part-0.parquet")
    match = index.resolve(written)
    assert match is not None and (match.product, match.port, match.object) == ("retail.sales", "orders", "orders")
    assert match.how is MatchHow.EXACT  # trimming brought it to the port's identity
    below = index.resolve(_lake(mesh, "finance/ledger/ledger_entries/metadata/v3.metadata.json"))
    assert below is not None and below.how is MatchHow.BELOW and below.port == "ledger_entries"
    named = index.resolve(_lake(mesh, "retail/catalog/products/products.csv"))
    assert named is not None and named.how is MatchHow.BELOW and named.contract_id == "retail.catalog.products"


def test_unknown_datasets_do_not_resolve(mesh: MeshRepository, index: PortIndex) -> None:
    for unknown in (
        _lake(mesh, "retail/sales"),  # the product folder, above the ports
        _lake(mesh, "retail/sales/orders_archive"),  # shares a string prefix, not a folder
        _lake(mesh, "retail/sales/returns/part-0.parquet"),
        _lake(mesh, "scratch/tmp"),
        DatasetIdentity("file", "/elsewhere/retail/sales/orders"),
        DatasetIdentity("postgres://db:5432", "shop.public.orders"),
        DatasetIdentity("s3://bucket", str(mesh.lake_root / "retail/sales/orders").lstrip("/")),
    ):
        assert index.resolve(unknown) is None, unknown


def test_symlinks_resolve(mesh: MeshRepository, index: PortIndex) -> None:
    """A Hive table whose symlink is the port's lake folder (as Spark reports it)."""
    symlink = {"namespace": "file", "name": str(mesh.lake_root / "retail/sales/orders"), "type": "LOCATION"}
    outputs = [
        {
            "namespace": "hive://metastore:9083",
            "name": "retail.orders",
            "facets": {"symlinks": {"identifiers": [symlink]}},
        }
    ]
    event = parse_event(run_event(outputs=outputs))
    (dataset,) = event.outputs
    match = index.resolve_dataset(dataset)
    assert match is not None and match.via_symlink and match.port == "orders"
    assert match.identity == _lake(mesh, "retail/sales/orders")
    assert index.resolve(dataset.identity) is None  # without the symlink it is unknown
    direct = index.resolve(dataset.identity, symlinks=[DatasetIdentity("file", symlink["name"] + "/")])
    assert direct is not None and direct.port == "orders"


def test_the_index_round_trips_through_plain_rows(index: PortIndex) -> None:
    rows = json.loads(json.dumps(index.to_rows()))
    assert set(rows[0]) == {
        "namespace", "name", "domain", "product", "port", "contract_id", "contract_version", "object", "server", "match",
    }  # fmt: skip
    again = PortIndex.from_rows(rows)
    assert again.rows == index.rows
    assert PortIndex.from_rows(index.rows).rows == index.rows
    assert PortIndexRow.from_dict(rows[0]) == index.rows[0]


# --- other server types -------------------------------------------------------------------------


def _server(**settings: Any) -> Server:
    return Server.model_validate({"server": "s", **settings})


ORDERS = SchemaObject.model_validate({"name": "orders", "physicalName": "orders"})

LOCATIONS: list[tuple[dict[str, Any], str, str, MatchKind]] = [
    ({"type": "postgres", "host": "DB", "port": 5432, "database": "shop", "schema": "public"}, "postgres://db", "shop.public.orders", MatchKind.EXACT),
    ({"type": "postgresql", "host": "db", "port": 6543, "database": "shop", "schema": "sales"}, "postgres://db:6543", "shop.sales.orders", MatchKind.EXACT),
    ({"type": "mysql", "host": "my", "port": 3306, "database": "shop"}, "mysql://my", "shop.orders", MatchKind.EXACT),
    ({"type": "sqlserver", "host": "sql", "database": "Shop", "schema": "dbo"}, "sqlserver://sql", "shop.dbo.orders", MatchKind.EXACT),
    ({"type": "duckdb", "database": "/data/wh.duckdb"}, "duckdb:///data/wh.duckdb", "wh.main.orders", MatchKind.EXACT),
    ({"type": "duckdb", "database": "wh.duckdb", "schema": "sales"}, "duckdb:///lake/wh.duckdb", "wh.sales.orders", MatchKind.EXACT),
    ({"type": "s3", "location": "s3a://Bucket/retail/{model}/*.parquet"}, "s3://bucket", "retail/orders", MatchKind.PREFIX),
    ({"type": "azure", "location": "abfss://c@acct.dfs.core.windows.net/retail/orders/", "format": "delta"}, "abfss://c@acct.dfs.core.windows.net", "retail/orders", MatchKind.PREFIX),
    ({"type": "local", "path": "retail/{model}/*.csv", "format": "csv"}, "file", "/lake/retail/orders", MatchKind.PREFIX),
    ({"type": "local", "path": "/abs/orders", "format": "parquet"}, "file", "/abs/orders", MatchKind.PREFIX),
    ({"type": "databricks", "host": "adb-1.azuredatabricks.net", "catalog": "Main", "schema": "sales"}, "databricks://adb-1.azuredatabricks.net", "main.sales.orders", MatchKind.EXACT),
    ({"type": "databricks", "catalog": "main", "schema": "sales"}, "databricks", "main.sales.orders", MatchKind.EXACT),
    ({"type": "bigquery", "project": "acme", "dataset": "sales"}, "bigquery", "acme.sales.orders", MatchKind.EXACT),
    ({"type": "snowflake", "account": "ACME-PROD", "database": "SHOP", "schema": "PUBLIC"}, "snowflake://acme-prod", "shop.public.orders", MatchKind.EXACT),
    ({"type": "redshift", "host": "wh.abc123.eu-west-1.redshift.amazonaws.com", "database": "dev", "schema": "public"}, "redshift://wh.eu-west-1", "dev.public.orders", MatchKind.EXACT),
    ({"type": "trino", "host": "trino", "port": 8080, "catalog": "hive", "schema": "sales"}, "trino://trino", "hive.sales.orders", MatchKind.EXACT),
    ({"type": "athena", "stagingDir": "s3://q/", "schema": "sales", "regionName": "eu-west-1"}, "awsathena://athena.eu-west-1.amazonaws.com", "awsdatacatalog.sales.orders", MatchKind.EXACT),
    ({"type": "kafka", "host": "broker1:9092,broker2:9092"}, "kafka://broker1", "orders", MatchKind.EXACT),
    ({"type": "pubsub", "project": "acme"}, "pubsub", "topic:acme:orders", MatchKind.EXACT),
    ({"type": "oracle", "host": "ora", "port": 1521, "serviceName": "ORCL"}, "oracle://ora", "orcl.orders", MatchKind.EXACT),
    ({"type": "custom", "location": "gs://bucket/orders"}, "gs://bucket", "orders", MatchKind.PREFIX),
]  # fmt: skip


@pytest.mark.parametrize(("settings", "namespace", "name", "match"), LOCATIONS)
def test_server_locations(settings: dict[str, Any], namespace: str, name: str, match: MatchKind) -> None:
    ((identity, how), *_) = locate(_server(**settings), ORDERS, lake_root=Path("/lake"))
    assert (identity.namespace, identity.name, how) == (namespace, name, match)


def test_a_qualified_physical_name_keeps_its_schema() -> None:
    obj = SchemaObject.model_validate({"name": "orders", "physicalName": "sales.orders"})
    server = _server(type="postgres", host="db", port=5432, database="shop", schema="public")
    ((identity, _), (short, how)) = locate(server, obj, lake_root=Path("/lake"))
    assert identity == DatasetIdentity("postgres://db", "shop.sales.orders")
    assert (short, how) == (DatasetIdentity("postgres://db", "sales.orders"), MatchKind.DEFAULT)  # never orders


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"type": "cloudsql", "host": "h", "port": 1, "database": "d", "schema": "s"}, "cannot tell where"),
        ({"type": "kinesis"}, "cannot tell where"),
        ({"type": "postgres", "host": "h", "port": 5432}, "needs 'database'"),
        ({"type": "custom"}, "'location' or 'path'"),
    ],
)
def test_unlocatable_servers_say_why(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(UnlocatableServer, match=message):
        locate(_server(**settings), ORDERS, lake_root=Path("/lake"))


def _edit_contract(root: Path, relative: str, servers: list[dict[str, Any]]) -> None:
    path = root / relative
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    document["servers"] = servers
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")


def test_index_of_a_mesh_with_database_and_bucket_servers(tmp_path: Path) -> None:
    root = tmp_path / "mesh"
    shutil.copytree(EXAMPLE_MESH, root)
    contracts = "domains/retail/products/sales/contracts"
    _edit_contract(
        root,
        f"{contracts}/orders.odcs.yaml",
        [
            {"server": "shop", "type": "postgresql", "host": "Shop-DB", "port": 5432, "database": "shop", "schema": "public"},
            {"server": "raw", "type": "s3", "location": "s3://retail-raw/sales/{model}/"},
            {"server": "stream", "type": "kinesis"},
            {"server": "lake", "type": "local", "path": "retail/sales/orders/*.parquet", "format": "parquet"},
        ],
    )  # fmt: skip
    _edit_contract(
        root,
        f"{contracts}/order_lines.odcs.yaml",
        [{"server": "lake", "type": "local", "path": "retail/sales/orders/*.parquet", "format": "parquet"}],
    )
    mesh = load_mesh(root)
    index = build_port_index(mesh)
    messages = [str(n) for n in index.notes]
    assert any("kinesis" in m and "stream" in m for m in messages)
    assert any("is claimed by" in m for m in messages)  # order_lines now points at the orders folder

    table = index.resolve(canonical_identity("postgres://shop-db:5432", "shop.public.orders"))
    assert table is not None and (table.port, table.row.server, table.how) == ("orders", "shop", MatchHow.EXACT)
    assert index.resolve(canonical_identity("postgresql://SHOP-DB", '"shop"."public"."orders"')) is not None
    assert index.resolve(canonical_identity("postgres://shop-db:5432", "shop.public.orders_v2")) is None
    assert (
        index.resolve(canonical_identity("postgres://shop-db:5432", "shop.public.orders.part")) is None
    )  # tables: exact only
    bucket = index.resolve(canonical_identity("s3a://retail-raw", "sales/orders/year=2024/part-0.parquet"))
    assert bucket is not None and bucket.row.server == "raw"
    claimed = index.claims(DatasetIdentity("file", str(mesh.lake_root / "retail/sales/orders")))
    assert {r.port for r in claimed} == {"orders", "order_lines"}
    first = index.resolve(DatasetIdentity("file", str(mesh.lake_root / "retail/sales/orders/part-0.parquet")))
    assert first is not None and first.port == claimed[0].port  # deterministic: the first row wins


# --- attribution --------------------------------------------------------------------------------


def _event(**changes: Any) -> Any:
    return parse_event(run_event(**changes))


JOB_NAMESPACES = {"airflow-retail": "retail", "airflow-finance": "finance"}


def test_attribution_by_job_namespace_comes_first(index: PortIndex) -> None:
    event = _event(job={"namespace": "airflow-finance", "name": "x", "facets": _owned_by("team:retail")})
    result = attribute_job(event, JOB_NAMESPACES, owners={"retail": "retail"}, index=index)
    assert result is not None and (result.domain, result.rule) == ("finance", AttributionRule.JOB_NAMESPACE)


def _owned_by(*names: str) -> dict[str, Any]:
    return {"ownership": {"owners": [{"name": n, "type": "MAINTAINER"} for n in names]}}


def test_attribution_by_ownership(mesh: MeshRepository) -> None:
    owners = owner_directory(mesh)
    assert owners["retail data team"] == "retail" and owners["anna.schmidt@retail.holding.example"] == "retail"
    event = _event(job={"namespace": "spark", "name": "x", "facets": _owned_by("team:Retail Data Team")})
    result = attribute_job(event, JOB_NAMESPACES, owners=owners)
    assert result is not None and (result.domain, result.rule) == ("retail", AttributionRule.OWNERSHIP)
    two_domains = _event(job={"namespace": "spark", "name": "x", "facets": _owned_by("retail", "finance")})
    assert attribute_job(two_domains, JOB_NAMESPACES, owners=owners) is None


def test_attribution_by_parent_run() -> None:
    parent = {
        "run": {"runId": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a00"},
        "job": {"namespace": "spark-cluster", "name": "dag.task"},
        "root": {
            "run": {"runId": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a01"},
            "job": {"namespace": "airflow-retail", "name": "dag"},
        },
    }
    run = {"runId": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "facets": {"parent": parent}}
    event = _event(run=run, job={"namespace": "spark", "name": "x"})
    looked_up = attribute_job(event, JOB_NAMESPACES, parent_domain=lambda p: "finance" if p.run_id else None)
    assert looked_up is not None and (looked_up.domain, looked_up.rule) == ("finance", AttributionRule.PARENT_RUN)
    by_root = attribute_job(event, JOB_NAMESPACES, parent_domain=lambda p: None)
    assert by_root is not None and (by_root.domain, by_root.rule, by_root.detail) == (
        "retail",
        AttributionRule.PARENT_RUN,
        "airflow-retail",
    )


def test_attribution_by_the_product_written(mesh: MeshRepository, index: PortIndex) -> None:
    outputs = [{"namespace": "file", "name": str(mesh.lake_root / "finance/revenue/daily_revenue/dt=2024-01-31")}]
    event = _event(job={"namespace": "spark", "name": "x"}, outputs=outputs)
    result = attribute_job(event, JOB_NAMESPACES, index=index)
    assert result is not None and (result.domain, result.rule) == ("finance", AttributionRule.OUTPUT_PORT)
    assert result.detail == "finance.revenue/daily_revenue"
    nowhere = _event(job={"namespace": "spark", "name": "x"}, outputs=[{"namespace": "file", "name": "/tmp/x"}])
    assert attribute_job(nowhere, JOB_NAMESPACES, index=index) is None
