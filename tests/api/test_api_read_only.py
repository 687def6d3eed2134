"""A read-only registry answers writes with 503 problem+json (never a 500), reads and /health as usual."""

from __future__ import annotations

from pathlib import Path

import pytest
from api_support import World, build_world, run_document
from fastapi.testclient import TestClient

from meshplane.api import create_app
from meshplane.api.problems import PROBLEM_MEDIA_TYPE
from meshplane.errors import RegistryUnavailable
from meshplane.registry import Registry
from meshplane.settings import Settings
from read_only_support import read_only


def _assert_writes_are_503(client: TestClient, world: World) -> None:
    admin = world.headers("admin")
    writes = [
        client.post("/api/v1/tokens", json={"role": "reader", "name": "late"}, headers=admin),
        client.post("/api/v1/test-runs", json={"runs": [run_document()]}, headers=admin),
    ]
    for response in writes:
        assert response.status_code == 503, response.text
        assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
        body = response.json()
        assert body["type"] == "urn:meshplane:problem:registry-unavailable"
        assert "read-only" in body["detail"] and "/" not in body["detail"]  # the registry's location stays in the log
    assert client.get("/api/v1/domains", headers=world.headers("reader")).status_code == 200
    assert client.get("/health").status_code == 200


def test_a_read_only_sqlite_registry_answers_503(world: World) -> None:
    file = Path(world.registry_url.removeprefix("sqlite:///"))
    with (
        read_only(file),
        Registry(world.registry_url) as registry,
        TestClient(create_app(registry, settings=Settings()), raise_server_exceptions=False) as client,
    ):
        _assert_writes_are_503(client, world)


def test_a_registry_in_a_read_only_folder_does_not_open_and_says_why(world: World) -> None:
    file = Path(world.registry_url.removeprefix("sqlite:///"))
    with read_only(file, file.parent), pytest.raises(RegistryUnavailable, match=r"registry at sqlite:.* is read-only"):
        Registry(world.registry_url)  # SQLite (WAL) writes its -shm file beside the database even to read


@pytest.mark.postgres
def test_a_read_only_postgresql_registry_answers_503(postgres_url: str, tmp_path: Path) -> None:
    world = build_world(postgres_url, tmp_path)
    world.registry_url = postgres_url + "?options=-c%20default_transaction_read_only%3Don"
    with (
        Registry(world.registry_url) as registry,
        TestClient(create_app(registry, settings=Settings()), raise_server_exceptions=False) as client,
    ):
        _assert_writes_are_503(client, world)
