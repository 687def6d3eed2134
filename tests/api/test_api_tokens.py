"""Token expiry through the API: created with `expires` (or the default), listed with `expiresAt`, refused once expired."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from api_support import World
from fastapi import FastAPI
from fastapi.testclient import TestClient

from meshplane.api import create_app
from meshplane.registry import Registry
from meshplane.registry.access import ApiToken
from meshplane.settings import Settings


def test_a_token_is_created_with_its_expiry(client: TestClient, world: World) -> None:
    admin = world.headers("admin")
    dated = client.post("/api/v1/tokens", json={"role": "reader", "expires": "2027-01-31"}, headers=admin)
    assert dated.status_code == 201, dated.text
    assert dated.json()["expiresAt"] == "2027-01-31T00:00:00+00:00" and dated.json()["active"] is True
    default = client.post("/api/v1/tokens", json={"role": "reader", "name": "default"}, headers=admin).json()
    lifetime = datetime.fromisoformat(default["expiresAt"]) - datetime.fromisoformat(default["createdAt"])
    assert lifetime == timedelta(days=90)
    listed = {t["name"]: t for t in client.get("/api/v1/tokens", headers=admin).json()}
    assert listed["default"]["expiresAt"] == default["expiresAt"]


def test_the_default_expiry_is_a_setting(registry: Registry, world: World) -> None:
    app = create_app(registry, settings=Settings(token_default_expiry_days=7))
    with TestClient(app) as client:
        created = client.post("/api/v1/tokens", json={"role": "reader"}, headers=world.headers("admin")).json()
    lifetime = datetime.fromisoformat(created["expiresAt"]) - datetime.fromisoformat(created["createdAt"])
    assert lifetime == timedelta(days=7)


def test_a_bad_expiry_is_422_naming_it(client: TestClient, world: World) -> None:
    for expires, reason in (("never", "every token expires"), ("2020-01-01", "not in the future"), ("9999d", "366")):
        refused = client.post(
            "/api/v1/tokens", json={"role": "reader", "expires": expires}, headers=world.headers("admin")
        )
        assert refused.status_code == 422 and reason in refused.json()["detail"], refused.text
    assert len(client.get("/api/v1/tokens", headers=world.headers("admin")).json()) == len(world.tokens)


def test_an_expired_token_is_401_naming_the_date(app: FastAPI, registry: Registry, world: World) -> None:
    token = world.tokens["reader"]
    token_id = token.split("_")[1]
    note = sa.update(ApiToken).where(ApiToken.token_id == token_id).values(expires_at=datetime(2026, 12, 1, tzinfo=UTC))
    registry.write(lambda session: session.execute(note))
    registry.cache.clear()
    with TestClient(app) as client:
        refused = client.get("/api/v1/domains", headers=world.headers("reader"))
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
        problem = refused.json()
        assert problem["detail"] == (
            f"the bearer token mp_{token_id}_… expired on 2026-12-01T00:00:00+00:00; ask an admin for a new one"
        )
        assert token.split("_", 2)[2] not in refused.text  # the secret (it may hold "_" itself)
        listed = client.get("/api/v1/tokens", params={"includeRevoked": "true"}, headers=world.headers("admin")).json()
        assert next(t for t in listed if t["id"] == token_id)["active"] is False
        assert token_id not in {t["id"] for t in client.get("/api/v1/tokens", headers=world.headers("admin")).json()}


def test_a_maintainer_token_for_an_unknown_domain_is_422_naming_it(client: TestClient, world: World) -> None:
    refused = client.post(
        "/api/v1/tokens", json={"role": "maintainer", "domain": "nosuch"}, headers=world.headers("admin")
    )
    assert refused.status_code == 422 and "no domain 'nosuch' in the registry" in refused.json()["detail"], refused.text
    assert "retail" in refused.json()["detail"]
    assert len(client.get("/api/v1/tokens", headers=world.headers("admin")).json()) == len(world.tokens)
    granted = client.post(
        "/api/v1/tokens", json={"role": "maintainer", "domain": "retail"}, headers=world.headers("admin")
    )
    assert granted.status_code == 201, granted.text
