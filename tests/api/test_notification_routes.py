"""GET /api/v1/incidents/{id} shows the blast radius and the deliveries, a dead letter included.

The server's own worker (SQLite: a thread of the app) fans the incident out and tries a webhook
where nothing listens until the retry window closes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_support import World, copy_mesh, run_document
from fastapi.testclient import TestClient

from meshplane.registry import Registry, store_test_run
from meshplane.service.gitops import apply_mesh
from meshplane.settings import get_settings


@pytest.fixture
def short_retries(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A short backoff and retry window, set before the application (and its worker) reads its settings."""
    monkeypatch.setenv("MESHPLANE_NOTIFY_BACKOFF_SECONDS", "0.05")
    monkeypatch.setenv("MESHPLANE_NOTIFY_RETRY_WINDOW_SECONDS", "0.5")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_the_incident_shows_its_blast_radius_and_a_dead_delivery(
    short_retries: None, client: TestClient, registry: Registry, world: World, tmp_path: Path
) -> None:
    mesh = copy_mesh(tmp_path / "mesh")
    domain = mesh / "domains/finance/domain.yaml"
    text = domain.read_text(encoding="utf-8")
    domain.write_text(text + "notifications:\n  - name: fin\n    webhook: http://127.0.0.1:9/hook\n", encoding="utf-8")
    apply_mesh(mesh, registry=registry, actor="tests")
    store_test_run(registry, run_document(result="failed"), actor="ci")

    reader = world.headers("reader")
    deadline = time.monotonic() + 60
    shown: dict[str, object] = {}
    while time.monotonic() < deadline:
        listed = client.get("/api/v1/incidents", headers=reader).json()
        if listed["total"]:
            shown = client.get(f"/api/v1/incidents/{listed['items'][0]['id']}", headers=reader).json()
            deliveries = shown["deliveries"]
            if deliveries and deliveries[0]["state"] == "dead":  # type: ignore[index]
                break
        time.sleep(0.2)
    [delivery] = shown["deliveries"]  # type: ignore[misc]
    assert (delivery["domain"], delivery["target"], delivery["audience"], delivery["state"]) == (
        "finance", "fin", "consumer", "dead"
    )  # fmt: skip
    assert delivery["attempts"] == len(delivery["log"]) >= 2 and delivery["lastError"]
    radius = {c["product"]: c for c in shown["blastRadius"]}  # type: ignore[attr-defined]
    assert radius["finance.ledger"]["knownBy"][0] == "inputPort" and radius["finance.ledger"]["team"]
    assert client.get("/api/v1/incidents/1").status_code == 401


def test_an_agreement_request_through_the_api_is_committed_and_shows_its_delivery(
    client: TestClient, registry: Registry, world: World, tmp_path: Path
) -> None:
    mesh = copy_mesh(tmp_path / "mesh")
    domain = mesh / "domains/customer/domain.yaml"
    text = domain.read_text(encoding="utf-8")
    domain.write_text(text + "notifications:\n  - name: ops\n    webhook: http://127.0.0.1:9/hook\n", encoding="utf-8")
    apply_mesh(mesh, registry=registry, actor="tests")
    body = {"consumer": "retail.sales", "provider": "customer.profiles", "port": "customers", "purpose": "enrich"}
    asked = client.post("/api/v1/agreements", json=body, headers=world.headers("maintainer:retail"))
    assert asked.status_code == 201, asked.text  # nothing listens there: the request is made all the same
    deadline = time.monotonic() + 60
    shown: dict[str, object] = {}
    while time.monotonic() < deadline:
        shown = client.get(f"/api/v1/agreements/{asked.json()['id']}", headers=world.headers("reader")).json()
        if shown["deliveries"] and shown["deliveries"][0]["attempts"]:  # type: ignore[index]
            break
        time.sleep(0.2)
    [delivery] = shown["deliveries"]  # type: ignore[misc]
    assert (delivery["domain"], delivery["target"], delivery["audience"], delivery["eventKind"]) == (
        "customer", "ops", "provider", "agreement.requested"
    )  # fmt: skip
    assert delivery["log"][0]["ok"] is False and "address" not in delivery
