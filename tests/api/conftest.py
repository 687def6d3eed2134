"""Fixtures of the API tests: a world (registry + tokens) on SQLite, copied per test from one template."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_support import World, build_world, copy_world
from fastapi import FastAPI
from fastapi.testclient import TestClient

from meshplane.api import create_app
from meshplane.registry import Registry
from meshplane.settings import Settings, get_settings


@pytest.fixture(autouse=True)
def _no_ambient_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """API tests choose their registry and settings explicitly."""
    for name in ("MESHPLANE_DATABASE_URL", "MESHPLANE_ANONYMOUS_READ", "MESHPLANE_TOKEN", "MESHPLANE_SERVER_URL"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def world_template(tmp_path_factory: pytest.TempPathFactory) -> World:
    """The example mesh applied to a SQLite registry, with tokens; built once and copied per test."""
    folder = tmp_path_factory.mktemp("world")
    return build_world(f"sqlite:///{folder / 'template.db'}", folder)


@pytest.fixture
def world(world_template: World, tmp_path: Path) -> World:
    """A fresh copy of the example world."""
    return copy_world(world_template, tmp_path)


@pytest.fixture
def registry(world: World) -> Iterator[Registry]:
    """The world's registry, open."""
    with Registry(world.registry_url) as reg:
        yield reg


@pytest.fixture
def app(registry: Registry) -> FastAPI:
    """The API on the world's registry (anonymous read off)."""
    return create_app(registry, settings=Settings())


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """An in-process client of the API."""
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
