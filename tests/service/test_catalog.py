"""Catalog use cases on SQLite and PostgreSQL: reads, the search index, its cache, columns, matching."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from meshplane.errors import NotFound
from meshplane.registry import Registry
from meshplane.service.catalog import (
    CatalogEntry,
    Column,
    ProductQuery,
    catalog_index,
    contract_columns,
    get_contract,
    get_domain,
    get_port,
    get_product,
    list_contracts,
    list_domains,
    list_ports,
    search_products,
)
from meshplane.service.gitops import apply_mesh


def test_lists_page_with_totals(mesh_registry: tuple[Path, Registry]) -> None:
    _, registry = mesh_registry
    assert list_domains(registry, limit=3).total == 5 and len(list_domains(registry, limit=3).items) == 3
    assert list_contracts(registry).total == 11
    assert list_ports(registry, limit=4, offset=8).total == 11
    assert [p["name"] for p in list_ports(registry, product="retail.sales").items] == ["order_lines", "orders"]


def test_details_and_not_found(mesh_registry: tuple[Path, Registry]) -> None:
    _, registry = mesh_registry
    assert get_domain(registry, "finance")["team"]["name"] == "Finance Data Team"
    assert get_product(registry, "finance.revenue")["inputPorts"][0]["providers"]
    assert get_contract(registry, "finance.ledger.ledger_entries")["outputPorts"][0]["product"] == "finance.ledger"
    assert {c["product"] for c in get_port(registry, "retail.sales", "orders")["consumers"]} == {
        "customer.customer360",
        "finance.ledger",
        "finance.revenue",
        "logistics.shipments",
    }
    for call in (
        lambda: get_domain(registry, "nope"),
        lambda: get_product(registry, "nope"),
        lambda: get_contract(registry, "nope"),
        lambda: get_port(registry, "retail.sales", "nope"),
    ):
        with pytest.raises(NotFound):
            call()


def test_the_index_holds_every_active_product(mesh_registry: tuple[Path, Registry]) -> None:
    _, registry = mesh_registry
    index = catalog_index(registry)
    assert len(index.entries) == 10
    sales = next(e for e in index.entries if e.id == "retail.sales")
    assert sales.owners[:2] == ("anna.schmidt@retail.holding.example", "jonas.weber@retail.holding.example")
    assert Column("retail.sales.orders", "orders", "order_id") in sales.columns
    assert set(sales.texts) == {"id", "name", "purpose", "usage", "limitations"}
    assert catalog_index(registry) is index  # unchanged registry: the same index


def test_the_index_is_rebuilt_after_an_apply(mesh_registry: tuple[Path, Registry]) -> None:
    mesh, registry = mesh_registry
    first = catalog_index(registry)
    descriptor = mesh / "domains/retail/products/catalog/product.odps.yaml"
    data = yaml.safe_load(descriptor.read_text(encoding="utf-8"))
    data["tags"].append("zeppelin")
    descriptor.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    apply_mesh(mesh, registry=registry, actor="test")
    second = catalog_index(registry)
    assert second is not first
    assert [p["id"] for p in search_products(registry, ProductQuery(tag="zeppelin")).items] == ["retail.catalog"]


def test_contract_columns_walk_nested_properties() -> None:
    document = {
        "schema": [
            {
                "name": "orders",
                "properties": [
                    {"name": "id"},
                    {"name": "address", "properties": [{"name": "city"}, {"name": "zip"}]},
                    {"name": "lines", "items": {"properties": [{"name": "sku"}]}},
                    {"nameless": True},
                ],
            },
            "not an object",
        ]
    }
    assert [c.path for c in contract_columns("c", document)] == [
        "id",
        "address",
        "address.city",
        "address.zip",
        "lines",
        "lines[].sku",
    ]


ENTRY = CatalogEntry(
    "retail.sales",
    "retail",
    "Retail Sales",
    "active",
    "1.0.0",
    ("Retail", "orders"),
    {"id": "retail.sales", "name": "Retail Sales", "purpose": "Every customer order."},
    ("anna@retail", "Anna Schmidt"),
    (
        Column("retail.sales.orders", "orders", "order_id", "internal"),
        Column("retail.sales.orders", "orders", "address.city", "Restricted"),
    ),
)


@pytest.mark.parametrize(
    ("query", "matched"),
    [
        (ProductQuery(), []),
        (ProductQuery(text="sales"), ["id", "name"]),
        (ProductQuery(text="customer ORDER"), ["purpose"]),
        (ProductQuery(tag="retail"), []),
        (ProductQuery(owner="schmidt"), ["owner"]),
        (ProductQuery(column="ORDER_ID"), ["column"]),
        (ProductQuery(column="city"), ["column"]),
        (ProductQuery(column="address.*"), ["column"]),
        (ProductQuery(domain="retail", status="active"), []),
        (ProductQuery(text="sales", column="order_id"), ["column", "id", "name"]),
        (ProductQuery(classification="RESTRICTED"), ["classification"]),
        (ProductQuery(column="address.*", classification="restricted"), ["column"]),
    ],
)
def test_matching(query: ProductQuery, matched: list[str]) -> None:
    found = query.match(ENTRY)
    assert found is not None and found[1] == matched


@pytest.mark.parametrize(
    "query",
    [
        ProductQuery(text="sales invoices"),
        ProductQuery(tag="finance"),
        ProductQuery(owner="claire"),
        ProductQuery(column="amount"),
        ProductQuery(domain="finance"),
        ProductQuery(status="retired"),
        ProductQuery(classification="public"),
        ProductQuery(column="order_id", classification="restricted"),  # the column matched is not so classified
    ],
)
def test_not_matching(query: ProductQuery) -> None:
    assert query.match(ENTRY) is None


def test_name_matches_rank_first(mesh_registry: tuple[Path, Registry]) -> None:
    _, registry = mesh_registry
    found = search_products(registry, ProductQuery(text="revenue")).items
    assert found[0]["id"] == "finance.revenue"


def test_an_empty_registry_has_an_empty_index(tmp_path: Path) -> None:
    with Registry(f"sqlite:///{tmp_path / 'empty.db'}") as registry:
        assert catalog_index(registry).entries == []
        assert search_products(registry, ProductQuery(text="x")).total == 0


def test_search_by_classification_with_the_facet_values(mesh_registry: tuple[Path, Registry]) -> None:
    _, registry = mesh_registry
    found = search_products(registry, ProductQuery(classification="restricted")).items
    assert {p["id"] for p in found} == {"customer.profiles", "finance.ledger"}
    assert all("restricted" in p["classifications"] for p in found)
    assert ENTRY.classifications == ("internal", "restricted")
    catalogue = search_products(registry, ProductQuery(classification="Public", domain="retail")).items
    assert {p["id"] for p in catalogue} == {"retail.catalog", "retail.sales"}
