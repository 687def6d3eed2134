"""Catalog reads: domains, products, ports, contracts, versions, diffs, search and pagination."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from api_support import REPO, World, bundle
from fastapi.testclient import TestClient

from meshplane.diff import diff_contracts
from meshplane.spec.loader import load_contract

CHANGES = REPO / "examples" / "changes"


def get(client: TestClient, world: World, url: str, **params: object) -> dict:  # type: ignore[type-arg]
    response = client.get(url, params=params, headers=world.headers("reader"))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_domains_are_paged_with_a_total(client: TestClient, world: World) -> None:
    first = get(client, world, "/api/v1/domains", limit=2)
    assert first["total"] == 5 and first["limit"] == 2 and first["offset"] == 0 and first["next"] == 2
    assert [d["id"] for d in first["items"]] == ["customer", "finance"]
    last = get(client, world, "/api/v1/domains", limit=2, offset=4)
    assert [d["id"] for d in last["items"]] == ["retail"] and last["next"] is None
    beyond = get(client, world, "/api/v1/domains", offset=50)
    assert beyond["items"] == [] and beyond["total"] == 5
    retail = next(d for d in get(client, world, "/api/v1/domains")["items"] if d["id"] == "retail")
    assert retail["products"] == 2 and retail["team"] == "Retail Data Team"


def test_a_domain(client: TestClient, world: World) -> None:
    retail = get(client, world, "/api/v1/domains/retail")
    assert [p["id"] for p in retail["products"]] == ["retail.catalog", "retail.sales"]
    assert retail["team"]["members"][0]["username"] == "anna.schmidt@retail.holding.example"
    assert retail["document"]["kind"] == "Domain"


def test_products_list_filters(client: TestClient, world: World) -> None:
    everything = get(client, world, "/api/v1/products")
    assert everything["total"] == 10
    marketing = get(client, world, "/api/v1/products", domain="marketing")
    assert {p["id"] for p in marketing["items"]} == {
        "marketing.campaigns",
        "marketing.campaign_responses",
        "marketing.campaign_performance",
    }
    tagged = get(client, world, "/api/v1/products", tag="PII")  # tags match without case
    assert "customer.profiles" in {p["id"] for p in tagged["items"]}


def test_a_product(client: TestClient, world: World) -> None:
    sales = get(client, world, "/api/v1/products/retail.sales")
    assert sales["domain"] == "retail" and sales["status"] == "active"
    assert {p["name"] for p in sales["outputPorts"]} == {"orders", "order_lines"}
    assert all(p["autoApprove"] is False for p in sales["outputPorts"])
    customers = next(p for p in sales["inputPorts"] if p["name"] == "customers")
    assert customers["providers"] == ["customer.profiles"]
    assert sales["description"]["purpose"].startswith("Every customer order")
    assert {c["id"] for c in sales["contracts"]} == {"retail.sales.orders", "retail.sales.order_lines"}


def test_ports(client: TestClient, world: World) -> None:
    ports = get(client, world, "/api/v1/ports", domain="retail")
    assert {(p["product"], p["name"]) for p in ports["items"]} == {
        ("retail.catalog", "products"),
        ("retail.sales", "orders"),
        ("retail.sales", "order_lines"),
    }
    by_contract = get(client, world, "/api/v1/ports", contract="customer.profiles.customers")
    assert [p["product"] for p in by_contract["items"]] == ["customer.profiles"]
    port = get(client, world, "/api/v1/products/customer.profiles/ports/customers")
    assert {c["product"] for c in port["consumers"]} == {
        "retail.sales",
        "customer.customer360",
        "marketing.campaign_performance",
    }
    assert port["openAgreements"] == 0


def test_contracts_versions_and_documents(client: TestClient, world: World) -> None:
    contracts = get(client, world, "/api/v1/contracts", domain="retail")
    assert {c["id"] for c in contracts["items"]} == {
        "retail.catalog.products",
        "retail.sales.orders",
        "retail.sales.order_lines",
    }
    orders = get(client, world, "/api/v1/contracts/retail.sales.orders")
    assert orders["latestVersion"] == "1.2.0" and [v["version"] for v in orders["versions"]] == ["1.2.0"]
    assert {c["product"] for c in orders["consumers"]} >= {"finance.ledger", "logistics.shipments"}
    version = get(client, world, "/api/v1/contracts/retail.sales.orders/versions/1.2.0")
    assert version["document"]["id"] == "retail.sales.orders" and len(version["sha256"]) == 64
    missing = client.get("/api/v1/contracts/retail.sales.orders/versions/9.9.9", headers=world.headers("reader"))
    assert missing.status_code == 404


def _publish_orders_1_3(client: TestClient, world: World, tmp_path: Path) -> None:
    mesh = Path(shutil.copytree(world.mesh, tmp_path / "next"))
    product = mesh / "domains/retail/products/sales"
    shutil.copy(CHANGES / "retail.sales.orders-1.3.0.odcs.yaml", product / "contracts/orders.odcs.yaml")
    data = yaml.safe_load((product / "product.odps.yaml").read_text(encoding="utf-8"))
    data["outputPorts"][0]["version"] = "1.3.0"
    (product / "product.odps.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    answer = client.post("/api/v1/apply", json={"files": bundle(mesh)}, headers=world.headers("maintainer:retail"))
    assert answer.status_code == 200 and answer.json()["applied"], answer.text


def test_diff_between_two_registered_versions(client: TestClient, world: World, tmp_path: Path) -> None:
    _publish_orders_1_3(client, world, tmp_path)
    diff = get(client, world, "/api/v1/contracts/retail.sales.orders/diff", **{"from": "1.2.0", "to": "1.3.0"})
    old = load_contract(world.mesh / "domains/retail/products/sales/contracts/orders.odcs.yaml").model
    new = load_contract(CHANGES / "retail.sales.orders-1.3.0.odcs.yaml").model
    assert old is not None and new is not None
    assert diff == diff_contracts(old, new).to_dict()
    assert diff["from"] == "1.2.0" and diff["to"] == "1.3.0" and diff["changes"]
    unknown = client.get(
        "/api/v1/contracts/retail.sales.orders/diff",
        params={"from": "1.2.0", "to": "7.0.0"},
        headers=world.headers("reader"),
    )
    assert unknown.status_code == 404


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "orders"}, {"retail.sales"}),
        ({"q": "ORDER lines"}, {"retail.sales"}),
        ({"q": "ledger"}, {"finance.ledger", "finance.revenue"}),
        ({"tag": "crm"}, {"customer.profiles", "customer.customer360"}),
        ({"owner": "anna.schmidt"}, {"retail.sales", "retail.catalog"}),
        ({"owner": "Anna Schmidt"}, {"retail.sales", "retail.catalog"}),
        ({"domain": "finance", "q": "revenue"}, {"finance.revenue"}),
        ({"q": "no-such-word-anywhere"}, set()),
    ],
)
def test_search(client: TestClient, world: World, params: dict[str, str], expected: set[str]) -> None:
    found = get(client, world, "/api/v1/search", **params)
    if expected:
        assert {p["id"] for p in found["items"]} >= expected
    else:
        assert found["items"] == [] and found["total"] == 0


def test_search_by_column(client: TestClient, world: World) -> None:
    found = get(client, world, "/api/v1/search", column="order_id")
    ids = {p["id"] for p in found["items"]}
    assert "retail.sales" in ids
    sales = next(p for p in found["items"] if p["id"] == "retail.sales")
    assert {"contract": "retail.sales.orders", "object": "orders", "column": "order_id"} in sales["columns"]
    assert sales["matched"] == ["column"]
    wildcard = get(client, world, "/api/v1/search", column="*_id", domain="retail")
    assert {p["id"] for p in wildcard["items"]} == {"retail.sales"}
    assert {c["column"] for c in next(iter(wildcard["items"]))["columns"]} >= {"order_id", "customer_id"}
    assert get(client, world, "/api/v1/search", column="no_such_column")["total"] == 0


def test_search_by_classification(client: TestClient, world: World) -> None:
    found = get(client, world, "/api/v1/search", classification="Restricted")
    assert {p["id"] for p in found["items"]} == {"customer.profiles", "finance.ledger"}
    assert all("restricted" in p["classifications"] and p["matched"] == ["classification"] for p in found["items"])
    assert {c["column"] for c in found["items"][0]["columns"]}  # the columns so classified
    assert get(client, world, "/api/v1/search", classification="top-secret")["total"] == 0


def test_search_ranks_name_matches_first_and_pages(client: TestClient, world: World) -> None:
    found = get(client, world, "/api/v1/search", q="customer")
    assert found["total"] >= 3
    first = found["items"][0]
    assert {"id", "name"} & set(first["matched"])
    page = get(client, world, "/api/v1/search", q="customer", limit=1, offset=1)
    assert page["items"][0]["id"] == found["items"][1]["id"] and page["total"] == found["total"]


def test_search_sees_an_apply_at_once(client: TestClient, world: World) -> None:
    assert get(client, world, "/api/v1/search", q="zeppelin")["total"] == 0
    change = {
        "domains/retail/products/catalog/product.odps.yaml": lambda t: t.replace(
            "purpose: The assortment", "purpose: Zeppelin parts and the assortment", 1
        )
    }
    files = bundle(world.mesh, change)
    answer = client.post("/api/v1/apply", json={"files": files}, headers=world.headers("maintainer:retail"))
    assert answer.status_code == 200 and answer.json()["applied"], answer.text
    assert {p["id"] for p in get(client, world, "/api/v1/search", q="zeppelin")["items"]} == {"retail.catalog"}
