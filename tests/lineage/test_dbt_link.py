"""The dbt bridge and unresolved datasets: manifests read, links recorded and followed, bad manifests refused.

Events are shaped as ``dbt-ol`` (openlineage-dbt 1.54 with dbt-duckdb) sends them: job namespace
``dbt``, a parent run of job ``dbt-run-<project>``, datasets named ``database.schema.table`` in a
``duckdb://<file>`` namespace, column lineage naming the table function ``read_parquet``. The
acceptance test with a real dbt project is `test_dbt_bridge.py`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from test_receiver_support import OPERATOR, World, new_run_id, run_event
from typer.testing import CliRunner

from meshplane.access import Principal, Role
from meshplane.api import create_app
from meshplane.cli.app import app
from meshplane.errors import Conflict
from meshplane.lineage.dbt import LinkKind, read_manifest
from meshplane.registry import lineage as store
from meshplane.service.dbtlink import link_product, product_links
from meshplane.service.derivation import derive_pending
from meshplane.service.lineage import receive_event
from meshplane.service.unresolved import unresolved
from meshplane.settings import Settings, get_settings

runner = CliRunner()
WAREHOUSE = "duckdb:///work/finance/finance.duckdb"


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    """The API without a worker of its own: derivation and reindexing run when the test says."""
    settings = Settings(worker_in_server="off")
    with world.registry() as registry, TestClient(create_app(registry, settings=settings)) as test_client:
        yield test_client


def manifest(lake: Path, **changes: Any) -> dict[str, Any]:
    """A dbt 1.10 manifest (v12) of a finance project: a source reading retail's orders, an external model."""
    source_meta = {"external_location": f"read_parquet('{lake}/retail/sales/{{name}}/*.parquet')"}
    document: dict[str, Any] = {
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json",
            "dbt_version": "1.10.23",
            "project_name": "finance",
            "adapter_type": "duckdb",
        },
        "sources": {
            "source.finance.sales.orders": {
                "resource_type": "source",
                "database": "finance",
                "schema": "sales",
                "name": "orders",
                "identifier": "orders",
                "source_name": "sales",
                "meta": {},
                "source_meta": source_meta,
                "config": {"meta": {}},
                "relation_name": None,
            },
            "source.finance.crm.customers": {
                "resource_type": "source",
                "database": "finance",
                "schema": "crm",
                "name": "customers",
                "identifier": "customers",
                "source_name": "crm",
                "meta": {},
                "source_meta": {},
                "config": {"external_location": f"read_csv('{lake}/customer/profiles/customers/*.csv', header = true)"},
            },
        },
        "nodes": {
            "model.finance.daily_revenue": {
                "resource_type": "model",
                "database": "finance",
                "schema": "main",
                "name": "daily_revenue",
                "alias": "daily_revenue",
                "config": {
                    "materialized": "external",
                    "location": f"{lake}/finance/revenue/daily_revenue/data.parquet",
                },
            },
            "model.finance.staging": {
                "resource_type": "model",
                "database": "finance",
                "schema": "main",
                "name": "staging",
                "alias": "staging",
                "config": {"materialized": "table"},
            },
            "test.finance.not_null_orders": {"resource_type": "test", "config": {}},
        },
    }
    for key, value in changes.items():
        document[key] = value
    return document


def write_manifest(folder: Path, document: Any) -> Path:
    target = folder / "project" / "target"
    target.mkdir(parents=True, exist_ok=True)
    path = target / "manifest.json"
    path.write_text(json.dumps(document) if not isinstance(document, str) else document, encoding="utf-8")
    return path


def dbt_run_events(world: World, run_id: str | None = None) -> list[dict[str, Any]]:
    """The events of one ``dbt-ol run`` of the finance project: the invocation and the model's run."""
    parent_id, child_id = new_run_id(), run_id or new_run_id()
    parent = {"parent": {"run": {"runId": parent_id}, "job": {"namespace": "dbt", "name": "dbt-run-finance"}}}
    lineage = {
        "revenue_date": [(WAREHOUSE, "read_parquet", "order_date")],
        "gross_revenue": [(WAREHOUSE, "read_parquet", "amount")],
    }
    fields = {
        column: {"inputFields": [{"namespace": n, "name": s, "field": f} for n, s, f in sources]}
        for column, sources in lineage.items()
    }
    output = {
        "namespace": WAREHOUSE,
        "name": "finance.main.daily_revenue",
        "facets": {"columnLineage": {"fields": fields}, "schema": {"fields": [{"name": "revenue_date"}]}},
    }
    return [
        run_event("dbt/dbt-run-finance", run_id=parent_id, event_type="START"),
        run_event(
            "dbt/finance.main.finance.daily_revenue.build.run",
            run_id=child_id,
            inputs=[{"namespace": WAREHOUSE, "name": "finance.sales.orders"}],
            outputs=[output],
            run_facets=parent,
        ),
        run_event("dbt/dbt-run-finance", run_id=parent_id),
    ]


def send(client: TestClient, world: World, events: list[dict[str, Any]]) -> None:
    for event in events:
        answer = client.post("/api/v1/lineage", json=event, headers=world.headers("maintainer:finance"))
        assert answer.status_code == 201, answer.text


# --- reading manifests ----------------------------------------------------------------------------------------


def test_sources_with_external_locations_and_external_models_are_lake_data(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    links = read_manifest(write_manifest(tmp_path, manifest(lake)))
    assert (links.project, links.dbt_version, links.schema_version, links.adapter) == (
        "finance",
        "1.10.23",
        "v12",
        "duckdb",
    )
    by_node = {link.node: link for link in links.relations}
    orders = by_node["source.finance.sales.orders"]
    assert (orders.kind, orders.scheme, orders.name, orders.function) == (
        LinkKind.SOURCE,
        "duckdb",
        "finance.sales.orders",
        "read_parquet",
    )
    assert orders.target is not None and orders.target.name == f"{lake}/retail/sales/orders"  # {name} filled, glob cut
    customers = by_node["source.finance.crm.customers"]
    assert customers.function == "read_csv" and customers.target is not None
    assert customers.target.name == f"{lake}/customer/profiles/customers"
    model = by_node["model.finance.daily_revenue"]
    assert model.kind == LinkKind.MODEL and model.name == "finance.main.daily_revenue"
    assert model.target is not None and model.target.name.endswith("/finance/revenue/daily_revenue/data.parquet")
    assert (
        by_node["model.finance.staging"].kind == LinkKind.RELATION and by_node["model.finance.staging"].target is None
    )
    assert "test.finance.not_null_orders" not in by_node


def test_relative_locations_are_relative_to_the_dbt_project(tmp_path: Path) -> None:
    document = manifest(tmp_path)
    document["nodes"]["model.finance.daily_revenue"]["config"]["location"] = "../lake/finance/out.parquet"
    links = read_manifest(write_manifest(tmp_path, document))
    model = next(link for link in links.relations if link.node == "model.finance.daily_revenue")
    assert model.target is not None and model.target.name == str(tmp_path / "lake" / "finance" / "out.parquet")


# --- bad manifests: exit 2, the file and the node named, the previous link unchanged -------------------------


def cli(world: World, *args: str) -> Any:
    """`meshplane ARGS` in-process, on the world's registry."""
    get_settings.cache_clear()
    try:
        return runner.invoke(app, list(args), env={"MESHPLANE_DATABASE_URL": world.registry_url})
    finally:
        get_settings.cache_clear()


def _link(world: World, path: Path, product: str = "finance.revenue") -> Any:
    return cli(world, "dbt", "link", str(path), "--product", product, "--format", "json")


def _bad_manifests(tmp_path: Path, lake: Path) -> list[tuple[str, Path, str]]:
    good = json.dumps(manifest(lake))
    outside = manifest(lake)
    outside["nodes"]["model.finance.daily_revenue"]["config"]["location"] = "/srv/exports/daily_revenue.parquet"
    no_location = manifest(lake)
    del no_location["nodes"]["model.finance.daily_revenue"]["config"]["location"]
    future = manifest(lake)
    future["metadata"]["dbt_schema_version"] = "https://schemas.getdbt.com/dbt/manifest/v99.json"
    cases = [
        ("not-json", "this is not JSON", "not JSON"),
        ("truncated", good[: len(good) // 2], "truncated"),
        ("version", json.dumps(future), "unknown dbt manifest schema version"),
        (
            "outside",
            json.dumps(outside),
            "node model.finance.daily_revenue: /srv/exports/daily_revenue.parquet is outside the lake",
        ),
        (
            "no-location",
            json.dumps(no_location),
            "node model.finance.daily_revenue: materialized 'external' without a 'location'",
        ),
    ]
    out = [(name, write_manifest(tmp_path / name, text), message) for name, text, message in cases]
    huge = write_manifest(tmp_path / "huge", "{}")
    with huge.open("r+b") as handle:
        handle.truncate(200 * 1000 * 1000)  # sparse: 200 MB on paper
    out.append(("200 MB", huge, "the manifest is 200.0 MB"))
    return out


def test_bad_manifests_are_refused_and_the_previous_link_stays(world: World, tmp_path: Path) -> None:
    first = _link(world, write_manifest(tmp_path / "good", manifest(world.lake)))
    assert first.exit_code == 0, first.output
    with world.registry() as registry:
        before = product_links(registry, "finance.revenue")
    for name, path, message in _bad_manifests(tmp_path, world.lake):
        result = _link(world, path)
        assert result.exit_code == 2, (name, result.output)
        text = " ".join(result.output.split())
        assert str(path) in text and message in text, (name, text)
        assert "Traceback" not in result.output
    with world.registry() as registry:
        assert product_links(registry, "finance.revenue") == before


def test_a_missing_product_and_a_missing_file_are_one_line(world: World, tmp_path: Path) -> None:
    path = write_manifest(tmp_path, manifest(world.lake))
    missing = _link(world, path, product="finance.nothing")
    assert missing.exit_code != 0 and "finance.nothing is not in the registry" in missing.output
    gone = _link(world, tmp_path / "nowhere.json")
    assert gone.exit_code == 2 and "nowhere.json: cannot read the manifest" in " ".join(gone.output.split())


# --- links followed by derivation ---------------------------------------------------------------------------------


def test_events_naming_linked_relations_resolve_to_the_ports(world: World, client: TestClient, tmp_path: Path) -> None:
    with world.registry() as registry:
        report = link_product(
            registry, OPERATOR, "finance.revenue", read_manifest(write_manifest(tmp_path, manifest(world.lake)))
        )
    ports = {link.link.node: link.port for link in report.linked}
    assert ports["source.finance.sales.orders"] == "retail.sales/orders"
    assert ports["model.finance.daily_revenue"] == "finance.revenue/daily_revenue"
    assert ports["source.finance.crm.customers"] == "customer.profiles/customers"
    assert report.skipped == 1  # the staging model is the project's own
    send(client, world, dbt_run_events(world))
    with world.registry() as registry:
        derive_pending(registry)
        with registry.read() as session:
            rows = {(r.role, r.name): (r.product, r.port, r.match) for r in session.query(store.RunDataset)}
            usage = {
                (u.consumer_product, u.provider_product, u.port, u.field) for u in store.column_usage_rows(session)
            }
    assert rows[("input", "finance.sales.orders")] == ("retail.sales", "orders", "linked")
    assert rows[("output", "finance.main.daily_revenue")] == ("finance.revenue", "daily_revenue", "linked")
    assert usage == {  # column lineage names read_parquet: the linked source's port
        ("finance.revenue", "retail.sales", "orders", "order_date"),
        ("finance.revenue", "retail.sales", "orders", "amount"),
    }
    result = cli(world, "movements", "--format", "json")
    flows = json.loads(result.output)["flows"]
    assert any(f["fromProduct"] == "retail.sales" and f["toProduct"] == "finance.revenue" for f in flows), flows


def test_a_relink_replaces_the_previous_mapping(world: World, tmp_path: Path) -> None:
    document = manifest(world.lake)
    with world.registry() as registry:
        link_product(registry, OPERATOR, "finance.revenue", read_manifest(write_manifest(tmp_path / "a", document)))
        del document["sources"]["source.finance.crm.customers"]
        link_product(registry, OPERATOR, "finance.revenue", read_manifest(write_manifest(tmp_path / "b", document)))
        links = product_links(registry, "finance.revenue")
    assert {link["node"] for link in links["links"]} == {"source.finance.sales.orders", "model.finance.daily_revenue"}
    assert links["manifest"] == str(tmp_path / "b" / "project" / "target" / "manifest.json")


def test_a_relation_another_product_links_elsewhere_cannot_be_taken_over(world: World, tmp_path: Path) -> None:
    finance = Principal("claire", Role.MAINTAINER, "finance")
    customer = Principal("carl", Role.MAINTAINER, "customer")
    document = manifest(world.lake)
    with world.registry() as registry:
        link_product(registry, finance, "finance.revenue", read_manifest(write_manifest(tmp_path / "f", document)))
        # the same relations to the same data (this project's sources are other products' data): fine
        link_product(registry, customer, "customer.profiles", read_manifest(write_manifest(tmp_path / "c", document)))
        location = f"{world.lake}/customer/profiles/customers/data.parquet"
        document["nodes"]["model.finance.daily_revenue"]["config"]["location"] = location
        with pytest.raises(Conflict) as refused:
            link_product(
                registry, customer, "customer.profiles", read_manifest(write_manifest(tmp_path / "x", document))
            )
        kept = {link["relation"]: link["target"] for link in product_links(registry, "finance.revenue")["links"]}
    assert "(finance.revenue)" in refused.value.message and "daily_revenue" in refused.value.message
    assert any(target.endswith("finance/revenue/daily_revenue/data.parquet") for target in kept.values())


def test_through_the_server_the_products_maintainer_links_and_another_domain_is_403(
    world: World, client: TestClient, tmp_path: Path
) -> None:
    body = read_manifest(write_manifest(tmp_path, manifest(world.lake))).to_dict()
    url = "/api/v1/products/finance.revenue/dbt-link"
    refused = client.post(url, json=body, headers=world.headers("maintainer:marketing"))
    assert refused.status_code == 403, refused.text
    assert client.get(url, headers=world.headers("reader")).json()["links"] == []
    answer = client.post(url, json=body, headers=world.headers("maintainer:finance"))
    assert answer.status_code == 200, answer.text
    assert {link["port"] for link in answer.json()["links"]} >= {"retail.sales/orders", "finance.revenue/daily_revenue"}
    assert len(client.get(url, headers=world.headers("reader")).json()["links"]) == 3
    outside = dict(body, relations=[dict(body["relations"][0], target="file#/srv/elsewhere")])
    bad = client.post(url, json=outside, headers=world.headers("maintainer:finance"))
    assert bad.status_code == 422 and "outside the lake" in bad.json()["detail"]


# --- nothing unresolved is silent ------------------------------------------------------------------------------


def test_without_a_link_both_relations_are_listed_with_the_dbt_suggestion(world: World, client: TestClient) -> None:
    typo = world.path("retail.sales/orders").replace("/orders", "/order")
    send(client, world, dbt_run_events(world))
    send(client, world, [run_event("airflow-finance/x.load", inputs=[{"namespace": "file", "name": typo}])])
    with world.registry() as registry:
        derive_pending(registry)
        report = unresolved(registry)
    by_name = {item.name: item for item in report.datasets}
    for name in ("finance.sales.orders", "finance.main.daily_revenue"):
        item = by_name[name]
        assert item.namespace == WAREHOUSE and item.dbt and item.runs == 1
        assert item.suggestion is not None and "meshplane dbt link" in item.suggestion
    near = by_name[typo]
    assert (
        not near.dbt and near.in_lake and near.suggestion is not None and "near retail.sales/orders" in near.suggestion
    )
    answer = client.get("/api/v1/lineage/unresolved", headers=world.headers("reader"))
    assert answer.status_code == 200 and answer.json()["summary"]["datasets"] == 3
    listed = cli(world, "lineage", "unresolved")
    assert listed.exit_code == 0 and ".sales.orders" in listed.output and "dbt link" in listed.output, listed.output
    moved = cli(world, "movements")
    text = " ".join(moved.output.split())
    assert "named 3 dataset(s) that resolved to no output port" in text, text
    shown = cli(world, "lineage", "finance.revenue", "--format", "json")
    assert shown.exit_code == 0 and json.loads(shown.output)["edges"] == []  # `lineage PRODUCT` still works


def test_a_dataset_that_resolves_since_says_so(world: World, tmp_path: Path) -> None:
    with world.registry() as registry:  # no app: its worker would reindex (test_reindex.py) beside the test
        for event in dbt_run_events(world):
            receive_event(registry, json.dumps(event).encode(), OPERATOR)
        derive_pending(registry)
        link_product(
            registry, OPERATOR, "finance.revenue", read_manifest(write_manifest(tmp_path, manifest(world.lake)))
        )
        report = unresolved(registry)
    item = next(i for i in report.datasets if i.name == "finance.sales.orders")
    assert item.suggestion is not None and item.suggestion.startswith("resolves now to retail.sales/orders")


@pytest.mark.skipif(os.name != "posix", reason="sparse files")
def test_the_size_limit_is_checked_before_reading(tmp_path: Path) -> None:
    path = write_manifest(tmp_path, "{}")
    with path.open("r+b") as handle:
        handle.truncate(129 * 1024 * 1024)
    with pytest.raises(Exception, match="meshplane reads at most"):
        read_manifest(path)


@pytest.mark.parametrize("width", [80, 100])
def test_the_link_table_fits_the_width_without_cutting_ids(world: World, tmp_path: Path, width: int) -> None:
    path = write_manifest(tmp_path, manifest(world.lake))
    get_settings.cache_clear()
    try:
        args = ["dbt", "link", str(path), "--product", "finance.revenue"]
        env = {"MESHPLANE_DATABASE_URL": world.registry_url, "COLUMNS": str(width)}
        result = runner.invoke(app, args, env=env)
        wide = runner.invoke(app, [*args, "--wide"], env=env)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    text = result.stdout
    words = {word for line in text.splitlines() for word in line.split()}
    nodes = ("source.finance.crm.customers", "source.finance.sales.orders", "model.finance.daily_revenue")
    ports = ("customer.profiles/customers", "retail.sales/orders", "finance.revenue/daily_revenue")
    for whole in (*nodes, *ports):  # each on one line, never cut
        assert whole in words, whole
    lake = [word for word in words if word.startswith("file#")]
    assert len(lake) == 3 and all(word.startswith(f"file#{world.lake}") for word in lake)  # the lake data, whole
    assert "…" not in text and "--wide shows every column" in text  # kind, relation left out, and said so
    table = [line for line in text.splitlines() if not line.startswith(("(", "dbt link of")) and "linked" not in line]
    ids = max(map(len, nodes)) + max(map(len, lake)) + max(map(len, ports)) + 4  # no narrower: the lake paths are long
    assert max(len(line.rstrip()) for line in table) <= max(width, ids)
    assert "relation" in wide.stdout and "finance.sales.orders" in wide.stdout and "--wide shows" not in wide.stdout
