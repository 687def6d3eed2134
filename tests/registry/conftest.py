"""Fixtures of the registry tests: every registry test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from meshplane.registry import Registry
from meshplane.settings import get_settings

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_MESH = REPO / "examples" / "holding"
EXAMPLE_CHANGES = REPO / "examples" / "changes"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def registry_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty registry database URL: a SQLite file, or a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def registry(registry_url: str) -> Iterator[Registry]:
    """An open (migrated) registry on that database."""
    with Registry(registry_url) as reg:
        yield reg


@pytest.fixture(autouse=True)
def _no_ambient_database_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests choose their registry explicitly: the environment's MESHPLANE_DATABASE_URL must not leak in."""
    monkeypatch.delenv("MESHPLANE_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def copy_mesh(source: Path, target: Path) -> Path:
    """A private copy of a mesh folder (without generated lake or registry)."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("lake", ".meshplane"))
    return target


@pytest.fixture
def example_mesh(tmp_path: Path) -> Path:
    """A private copy of examples/holding."""
    return copy_mesh(EXAMPLE_MESH, tmp_path / "holding")
