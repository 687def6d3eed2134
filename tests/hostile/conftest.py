"""Fixtures of the hostile-input suite: one world and one `meshplane serve` per backend and module."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from hostile_support import Served, World, build_world

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="module")
def registry_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh, empty registry for one module: a SQLite file, or a PostgreSQL database dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('registry') / 'registry.db'}"
        return
    server_url = request.getfixturevalue("postgres_server_url")
    name = f"mp_hostile_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield f"{server_url.rsplit('/', 1)[0]}/{name}"
        with admin.connect() as connection:
            connection.execute(
                sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name}
            )
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
    finally:
        admin.dispose()


@pytest.fixture(scope="module")
def world(registry_url: str, tmp_path_factory: pytest.TempPathFactory) -> World:
    """The example mesh applied to the module's registry, with tokens."""
    return build_world(registry_url, tmp_path_factory.mktemp("world"))


@pytest.fixture(scope="module")
def engine(world: World) -> Iterator[sa.Engine]:
    """An engine on the world's registry, to take its fingerprint."""
    engine = sa.create_engine(world.registry_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def served(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`meshplane serve` over the world, for the whole module."""
    with Served(world, Path(tmp_path_factory.mktemp("serve"))) as server:
        yield server


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test that uses the registry runs on SQLite and PostgreSQL (one registry per backend and module)."""
    if "registry_url" in metafunc.fixturenames:
        metafunc.parametrize("registry_url", BACKENDS, indirect=True, scope="module")
