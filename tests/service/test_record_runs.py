"""`meshplane test` stores its runs in the registry when one is configured, and only then."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from meshplane.demo.lakegen import generate_lake
from meshplane.errors import NotFound
from meshplane.registry import Registry, list_test_runs
from meshplane.service.gitops import apply_mesh
from meshplane.service.registries import open_mesh_registry
from meshplane.service.testing import record_runs, run_tests

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.fixture
def mesh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("MESHPLANE_DATABASE_URL", raising=False)
    root = tmp_path / "mesh"
    shutil.copytree(REPO / "examples" / "holding", root)
    generate_lake(root, root / "lake", rows=150, seed=5, now=NOW)
    return root


def test_nothing_is_recorded_without_a_registry(mesh: Path) -> None:
    runs = run_tests("retail.catalog", mesh_root=mesh, clock=lambda: NOW)
    assert record_runs(runs, mesh_root=mesh) is None
    assert not (mesh / ".meshplane" / "registry.db").exists()


def test_runs_are_recorded_once_the_mesh_is_applied(mesh: Path) -> None:
    with open_mesh_registry(mesh, create=True) as registry:  # created on purpose, as `meshplane db init`
        apply_mesh(mesh, actor="t", registry=registry)
    runs = run_tests("marketing.campaign_responses", mesh_root=mesh, clock=lambda: NOW)
    recorded = record_runs(runs, mesh_root=mesh, actor="ci")
    assert recorded is not None and (recorded.runs, recorded.skipped) == (1, 0)
    with Registry(f"sqlite:///{mesh}/.meshplane/registry.db") as registry:
        (summary,) = list_test_runs(registry, "marketing.campaign_responses.responses")
    assert summary.result == "failed"


def test_runs_of_contracts_the_registry_does_not_know_are_refused_and_none_is_stored(mesh: Path) -> None:
    with open_mesh_registry(mesh, create=True) as registry:  # a registry, but the mesh was never applied
        pass
    runs = run_tests("retail.catalog", mesh_root=mesh, clock=lambda: NOW)
    with pytest.raises(NotFound, match=r"contract\(s\) 'retail\.catalog\.products' are not registered .* --no-record"):
        record_runs(runs, mesh_root=mesh, hint=" (or test with --no-record)")
    with Registry(f"sqlite:///{mesh}/.meshplane/registry.db") as registry:
        assert list_test_runs(registry, "retail.catalog.products") == []
