"""Fixtures of the service tests."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from meshplane.registry import Registry
from meshplane.service.gitops import apply_mesh

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh registry's URL: SQLite, and PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'r.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def mesh_registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Path, Registry]]:
    """A copy of the example mesh (no lake) applied to a fresh registry: SQLite, and PostgreSQL."""
    url = f"sqlite:///{tmp_path / 'r.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    mesh = Path(
        shutil.copytree(
            REPO / "examples/holding", tmp_path / "mesh", ignore=shutil.ignore_patterns("lake", ".meshplane")
        )
    )
    with Registry(url) as reg:
        apply_mesh(mesh, registry=reg, actor="test")
        yield mesh, reg
