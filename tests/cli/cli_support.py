"""Shared set-up of the CLI tests: the example mesh applied to its own SQLite registry."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from meshplane.registry import Registry
from meshplane.service.gitops import apply_mesh
from meshplane.service.registries import open_mesh_registry
from meshplane.settings import get_settings

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "holding"


@contextmanager
def example_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Registry]]:
    """The example mesh copied to `tmp_path` (without its lake) and applied to its own SQLite registry; no
    registry URL, token or server from the environment. Yields the mesh folder and the open registry."""
    for name in ("MESHPLANE_DATABASE_URL", "MESHPLANE_TOKEN", "MESHPLANE_SERVER_URL"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    folder = Path(shutil.copytree(EXAMPLE, tmp_path / "holding", ignore=shutil.ignore_patterns("lake", ".meshplane")))
    with open_mesh_registry(folder, create=True) as registry:
        apply_mesh(folder, registry=registry, actor="tests")
        yield folder, registry
