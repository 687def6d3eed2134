"""GET/POST /api/v1/incidents…: readers list and read incidents; the port's domain acknowledges and resolves."""

from __future__ import annotations

from api_support import World, run_document
from fastapi.testclient import TestClient

from meshplane.registry import Registry, store_test_run
from meshplane.service.incidents import process_test_runs


def _open(registry: Registry) -> None:
    store_test_run(registry, run_document(result="failed"), actor="ci")
    process_test_runs(registry)


def test_an_incident_is_listed_read_acknowledged_and_resolved(
    client: TestClient, registry: Registry, world: World
) -> None:
    _open(registry)
    reader = world.headers("reader")
    listed = client.get("/api/v1/incidents", params={"state": "open"}, headers=reader)
    assert listed.status_code == 200, listed.text
    assert listed.json()["total"] == 1
    incident = listed.json()["items"][0]
    assert (incident["contract"], incident["check"], incident["domain"], incident["state"]) == (
        "retail.sales.orders", "orders.order_id.required", "retail", "open"
    )  # fmt: skip
    url = f"/api/v1/incidents/{incident['id']}"
    assert client.get(url, headers=reader).json()["events"][0]["kind"] == "opened"

    retail = world.headers("maintainer:retail")
    assert (
        client.post(
            f"{url}/acknowledge", json={"note": "on it"}, headers=world.headers("maintainer:finance")
        ).status_code
        == 403
    )
    acked = client.post(f"{url}/acknowledge", json={"note": "on it"}, headers=retail)
    assert acked.status_code == 200 and acked.json()["state"] == "acknowledged"
    again = client.post(f"{url}/acknowledge", headers=retail)
    assert again.status_code == 409
    bad = client.post(f"{url}/resolve", json={"reason": "bored"}, headers=retail)
    assert bad.status_code == 422
    resolved = client.post(f"{url}/resolve", json={"reason": "expected", "note": "planned load"}, headers=retail)
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["resolved"]["reason"] == "expected"
    trail = client.get(url, headers=reader).json()["events"]
    assert [(e["kind"], e["reason"], e["note"]) for e in trail] == [
        ("opened", None, None), ("acknowledged", None, "on it"), ("resolved", "expected", "planned load")
    ]  # fmt: skip
    assert client.get("/api/v1/incidents", params={"state": "unresolved"}, headers=reader).json()["total"] == 0


def test_incidents_need_a_token_and_an_existing_id(client: TestClient, world: World) -> None:
    assert client.get("/api/v1/incidents").status_code == 401
    assert client.get("/api/v1/incidents/99", headers=world.headers("reader")).status_code == 404
    assert (
        client.post(
            "/api/v1/incidents/99/resolve", json={"reason": "fixed"}, headers=world.headers("admin")
        ).status_code
        == 404
    )
    assert client.get("/api/v1/incidents", params={"state": "gone"}, headers=world.headers("reader")).status_code == 422
