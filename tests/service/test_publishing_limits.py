"""Bundles are read with the YAML limits (issue 19): `apply_bundle` refuses hostile files before any plan."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from meshplane.access import Principal
from meshplane.diagnostics import MeshplaneError
from meshplane.registry import Registry
from meshplane.registry.state import load_registry_state
from meshplane.service.gitops import apply_mesh
from meshplane.service.publishing import apply_bundle
from meshplane.spec.yamlsource import MAX_YAML_ALIAS_NODES, MAX_YAML_BYTES, MAX_YAML_DEPTH

REPO = Path(__file__).resolve().parents[2]
ADMIN = Principal.local_admin("operator")
CONTRACT = "domains/retail/products/sales/contracts/orders.odcs.yaml"


@pytest.fixture
def mesh_registry(tmp_path: Path) -> Iterator[tuple[Path, Registry]]:
    ignore = shutil.ignore_patterns("lake", ".meshplane")
    mesh = Path(shutil.copytree(REPO / "examples/holding", tmp_path / "mesh", ignore=ignore))
    with Registry(f"sqlite:///{tmp_path / 'r.db'}") as reg:
        apply_mesh(mesh, registry=reg, actor="test")
        yield mesh, reg


def files_of(mesh: Path) -> dict[str, str]:
    return {p.relative_to(mesh).as_posix(): p.read_text(encoding="utf-8") for p in sorted(mesh.rglob("*.yaml"))}


def laughs() -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("text", "code", "limit"),
    [
        (laughs(), "yaml-alias-limit", f"{MAX_YAML_ALIAS_NODES:,}"),
        ("x: " + "{a: " * 10_000 + "1" + "}" * 10_000 + "\n", "yaml-too-deep", f"{MAX_YAML_DEPTH} levels"),
        ("a: &x [*x]\n", "yaml-recursive-alias", "*x"),
        ("x: '" + "a" * MAX_YAML_BYTES + "'\n", "bundle-path", f"{MAX_YAML_BYTES:,} bytes"),
    ],
    ids=["billion laughs", "deep nesting", "recursive alias", "too large"],
)
def test_a_hostile_file_is_refused_naming_the_bundle_path_and_the_limit(
    mesh_registry: tuple[Path, Registry], text: str, code: str, limit: str
) -> None:
    mesh, registry = mesh_registry
    with registry.read() as session:
        before = load_registry_state(session)
    files = {**files_of(mesh), CONTRACT: text}
    started = time.perf_counter()
    with pytest.raises(MeshplaneError) as caught:
        apply_bundle(registry, ADMIN, files)
    assert time.perf_counter() - started < 10
    (found,) = [d for d in caught.value.diagnostics if d.code == code]
    assert CONTRACT in (found.file or "") and limit in found.message
    assert "meshplane-bundle-" not in str(found.to_dict())  # bundle paths, not the temporary folder
    with registry.read() as session:
        assert load_registry_state(session) == before
