"""GET /api/v1/migrations: deprecated ports and who is still on them; readers only."""

from __future__ import annotations

import shutil
from pathlib import Path

from api_support import World
from fastapi.testclient import TestClient

from meshplane.registry import Registry
from meshplane.service.gitops import apply_mesh

PROFILES = "domains/customer/products/profiles/product.odps.yaml"


def test_migrations_list_a_deprecated_port_with_its_consumers(
    client: TestClient, registry: Registry, world: World, tmp_path: Path
) -> None:
    mesh = Path(shutil.copytree(world.mesh, tmp_path / "holding"))
    descriptor = mesh / PROFILES
    text = descriptor.read_text(encoding="utf-8")
    old = "    contractId: customer.profiles.customers\n"
    assert text.count(old) == 1
    deprecation = "    customProperties:\n      - property: sunsetDate\n        value: '2099-12-31'\n"
    descriptor.write_text(text.replace(old, old + deprecation), encoding="utf-8")
    apply_mesh(mesh, registry=registry, actor="test")

    response = client.get("/api/v1/migrations", headers=world.headers("reader"))
    assert response.status_code == 200, response.text
    [row] = response.json()["migrations"]
    assert row["old"] == {"product": "customer.profiles", "port": "customers", "version": "1.0.0"}
    assert (row["new"], row["sunsetDate"], row["moved"]) == (None, "2099-12-31", [])
    assert row["daysToSunset"] > 0
    remaining = {(c["product"], c["how"]) for c in row["remaining"]}
    assert ("retail.sales", "inputPort") in remaining
    assert all(c["domain"] and c["team"] for c in row["remaining"] if c["how"] == "inputPort")
    other = client.get("/api/v1/migrations", params={"domain": "retail"}, headers=world.headers("reader"))
    assert other.json() == {"migrations": []}


def test_migrations_need_a_token(client: TestClient) -> None:
    assert client.get("/api/v1/migrations").status_code == 401


def test_a_consumer_carries_its_agreement_over_to_the_new_port(client: TestClient, world: World) -> None:
    """POST /migrations/agreements: the consumer's maintainer; same purpose; a plain request on the new port."""
    ask = {"consumer": "customer.customer360", "provider": "retail.sales", "port": "orders", "purpose": "order history"}
    assert client.post("/api/v1/agreements", json=ask, headers=world.headers("maintainer:customer")).status_code == 201
    move = {
        "consumer": "customer.customer360",
        "provider": "retail.sales",
        "fromPort": "orders",
        "toPort": "order_lines",
    }

    other = client.post("/api/v1/migrations/agreements", json=move, headers=world.headers("maintainer:finance"))
    assert other.status_code == 403, other.text
    assert client.post("/api/v1/migrations/agreements", json=move, headers=world.headers("reader")).status_code == 403
    assert client.post("/api/v1/migrations/agreements", json=move).status_code == 401

    moved = client.post("/api/v1/migrations/agreements", json=move, headers=world.headers("maintainer:customer"))
    assert moved.status_code == 201, moved.text
    body = moved.json()
    assert (body["provider"]["port"], body["purpose"], body["state"]) == ("order_lines", "order history", "requested")
    again = client.post("/api/v1/migrations/agreements", json=move, headers=world.headers("maintainer:customer"))
    assert again.status_code == 409, again.text  # the new port's request is open already

    missing = {**move, "fromPort": "nope"}
    gone = client.post("/api/v1/migrations/agreements", json=missing, headers=world.headers("maintainer:customer"))
    assert gone.status_code == 404 and "no open usage agreement" in gone.json()["detail"]
    same = {**move, "toPort": "orders"}
    refused = client.post("/api/v1/migrations/agreements", json=same, headers=world.headers("maintainer:customer"))
    assert refused.status_code == 422 and "new major's port" in refused.json()["detail"]
