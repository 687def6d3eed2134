"""Two applies racing on the same registry: one set of versions, never a half-applied state.

Each racer opens its own `Registry` (its own engine and connections, as two processes would), and
the subprocess test runs two real `meshplane apply` processes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from registry_helpers import counts, edit_yaml, product_dir
from synthetic_mesh import write_synthetic_mesh

from meshplane.registry import Registry
from meshplane.registry import models as m
from meshplane.service.gitops import ApplyResult, PlanRefused, apply_mesh

PRODUCTS = 20


def _race(url: str, meshes: list[Path]) -> list[Any]:
    """Apply each mesh from its own thread, all released at once; returns results or exceptions."""
    barrier = threading.Barrier(len(meshes))
    results: list[Any] = [None] * len(meshes)

    def run(index: int) -> None:
        with Registry(url) as registry:
            barrier.wait()
            try:
                results[index] = apply_mesh(meshes[index], registry=registry, actor=f"racer-{index}")
            except Exception as exc:
                results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(meshes))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


@pytest.fixture
def mesh(tmp_path: Path) -> Path:
    write_synthetic_mesh(tmp_path / "mesh", domains=4, products=PRODUCTS, edges=40)
    return tmp_path / "mesh"


def test_identical_applies_racing_write_once(mesh: Path, registry_url: str) -> None:
    Registry(registry_url).close()  # migrate first: the race is about the apply
    results = _race(registry_url, [mesh, mesh, mesh])
    assert all(isinstance(r, ApplyResult) for r in results), results
    assert sum(r.changed for r in results) == 1
    with Registry(registry_url) as registry:
        n = counts(registry)
    assert n["contract_versions"] == PRODUCTS and n["products"] == PRODUCTS and n["audit_log"] == 1


def test_racing_different_content_under_one_version_leaves_one_winner(
    mesh: Path, tmp_path: Path, registry_url: str
) -> None:
    import shutil

    other = tmp_path / "other"
    shutil.copytree(mesh, other)
    edit_yaml(
        product_dir(other, "d000.p00000") / "contracts" / "out0.odcs.yaml",
        lambda d: d["description"].update(purpose="The other team's idea of version 1.0.0."),
    )
    results = _race(registry_url, [mesh, other])
    winners = [r for r in results if isinstance(r, ApplyResult)]
    losers = [r for r in results if isinstance(r, PlanRefused)]
    assert len(winners) == 1 and len(losers) == 1, results
    assert [e.code for e in losers[0].diagnostics] == ["contract-version-immutable"]
    with Registry(registry_url) as registry:
        n = counts(registry)
        assert n["contract_versions"] == PRODUCTS and n["audit_log"] == 1
        with registry.read() as session:
            purpose = session.execute(
                sa.select(m.ContractVersion.document).where(m.ContractVersion.contract_id == "d000.p00000.out0")
            ).scalar_one()["description"]["purpose"]
    winner_mesh = mesh if results[0] is winners[0] else other
    expected = (
        "The other team's idea of version 1.0.0." if winner_mesh == other else "Synthetic dataset d000.p00000.out0."
    )
    assert purpose == expected


def test_two_apply_processes_racing(mesh: Path, registry_url: str) -> None:
    Registry(registry_url).close()
    env = {**os.environ, "MESHPLANE_DATABASE_URL": registry_url}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "meshplane", "apply", str(mesh), "--yes", "--actor", f"proc-{i}"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        for i in range(2)
    ]
    outputs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert sum("applied" in out and "nothing to apply" not in out for out, _ in outputs) == 1, outputs
    with Registry(registry_url) as registry:
        n = counts(registry)
    assert n["contract_versions"] == PRODUCTS and n["audit_log"] == 1
    assert all("Traceback" not in err for _, err in outputs)
