"""Fixtures of the lineage tests: the example mesh applied to a SQLite registry, copied per test.

Modules that need other registries (PostgreSQL too) define their own `template` / `world`, which
take precedence over these.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from test_receiver_support import World, build_world, copy_world

from meshplane.api import create_app
from meshplane.settings import Settings


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> World:
    """The example mesh applied once per module (copying it is cheaper than applying it)."""
    folder = tmp_path_factory.mktemp("lineage")
    return build_world(folder, f"sqlite:///{folder / 'template.db'}")


@pytest.fixture
def world(template: World, tmp_path: Path) -> World:
    """A copy of the template for one test."""
    return copy_world(template, tmp_path)


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    """The API over the test's registry."""
    with world.registry() as registry, TestClient(create_app(registry, settings=Settings())) as test_client:
        yield test_client
