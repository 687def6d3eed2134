"""Publishing use cases on SQLite and PostgreSQL: bundle paths, domains a plan touches, apply."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from meshplane.access import Principal, Role
from meshplane.diagnostics import MeshplaneError
from meshplane.errors import AccessDenied, Conflict
from meshplane.mesh import load_mesh
from meshplane.registry import Registry
from meshplane.registry.state import load_registry_state
from meshplane.service import publishing
from meshplane.service.gitops import build_plan, desired_state
from meshplane.service.publishing import (
    BundleRefused,
    apply_bundle,
    bundle_path_problem,
    touched_domains,
)

ADMIN = Principal.local_admin("operator")
RETAIL = Principal("ci-retail", Role.MAINTAINER, "retail", "aaaaaaaa")
FINANCE = Principal("ci-finance", Role.MAINTAINER, "finance", "cccccccc")


def files_of(mesh: Path) -> dict[str, str]:
    return {p.relative_to(mesh).as_posix(): p.read_text(encoding="utf-8") for p in sorted(mesh.rglob("*.yaml"))}


@pytest.mark.parametrize(
    ("path", "ok"),
    [
        ("mesh.yaml", True),
        ("domains/retail/products/sales/contracts/orders.odcs.yaml", True),
        ("domains/a b/domain.yml", True),
        ("", False),
        ("../mesh.yaml", False),
        ("domains/../mesh.yaml", False),
        ("./mesh.yaml", False),
        ("/mesh.yaml", False),
        ("domains\\x.yaml", False),
        ("domains/x.json", False),
        ("domains/a:b.yaml", False),
        ("domains/\x01.yaml", False),
        ("x" * 1001 + ".yaml", False),
    ],
)
def test_bundle_paths(path: str, ok: bool) -> None:
    assert (bundle_path_problem(path) is None) is ok


def test_a_product_moving_domains_touches_both(mesh_registry: tuple[Path, Registry], tmp_path: Path) -> None:
    mesh, registry = mesh_registry
    moved = Path(shutil.copytree(mesh, tmp_path / "moved"))
    source = moved / "domains/retail/products/catalog"
    target = moved / "domains/marketing/products/catalog"
    shutil.move(source, target)
    for file in (target / "product.odps.yaml", target / "contracts/products.odcs.yaml"):
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
        data["domain"] = "marketing"
        file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    # Its ids stay under retail's prefix, which lint refuses (ids belong to their domain): the plan
    # is built here without the lint gate, as for a registry holding such a product from before.
    with registry.read() as session:
        current = load_registry_state(session)
    plan = build_plan(desired_state(load_mesh(moved)), current, {}, prune=False, registry="r")
    registered = {"product": {"retail.catalog": "retail"}, "contract": {"retail.catalog.products": "retail"}}
    assert touched_domains(plan, registered) == {"retail", "marketing"}
    marketing = Principal("ci-marketing", Role.MAINTAINER, "marketing", "bbbbbbbb")
    with pytest.raises(AccessDenied, match=r"product id 'retail\.catalog'.*belongs to domain retail"):
        apply_bundle(registry, marketing, files_of(moved), dry_run=True)
    with pytest.raises(MeshplaneError) as refused:
        apply_bundle(registry, RETAIL, files_of(moved), dry_run=True)
    assert "id-prefix" in {d.code for d in refused.value.diagnostics}


def test_apply_as_the_owner(mesh_registry: tuple[Path, Registry]) -> None:
    mesh, registry = mesh_registry
    files = files_of(mesh)
    files["domains/retail/domain.yaml"] = files["domains/retail/domain.yaml"].replace("Runs the group", "Runs all")
    outcome = apply_bundle(registry, RETAIL, files)
    assert outcome.applied and outcome.domains == ["retail"] and outcome.audit_id
    with pytest.raises(AccessDenied):
        apply_bundle(registry, Principal("r", Role.READER), files)
    assert not apply_bundle(registry, FINANCE, files).applied  # nothing left to do, nothing touched


def test_a_plan_that_moved_under_the_apply_is_a_conflict(
    mesh_registry: tuple[Path, Registry], monkeypatch: pytest.MonkeyPatch
) -> None:
    mesh, registry = mesh_registry
    files = files_of(mesh)
    files["domains/retail/domain.yaml"] = files["domains/retail/domain.yaml"].replace("Runs the group", "Runs all")
    real_apply = publishing.apply_mesh

    def someone_else_first(*args: object, **kwargs: object) -> object:
        # Between the authorized plan and the apply, finance changes its domain: the bundle, which
        # still holds finance's old file, would now revert it, a change nobody authorized.
        path = mesh / "domains/finance/domain.yaml"
        path.write_text(path.read_text(encoding="utf-8").replace("Group accounting", "Accounting"), encoding="utf-8")
        real_apply(mesh, registry=registry, actor="someone else")
        return real_apply(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(publishing, "apply_mesh", someone_else_first)
    with pytest.raises(Conflict, match="registry changed"):
        apply_bundle(registry, ADMIN, files)


def test_a_refused_plan_carries_the_outcome(mesh_registry: tuple[Path, Registry]) -> None:
    mesh, registry = mesh_registry
    files = files_of(mesh)
    path = "domains/retail/products/sales/contracts/orders.odcs.yaml"
    files[path] = files[path].replace("One row per customer order", "One row per order", 1)
    with pytest.raises(BundleRefused) as refused:
        apply_bundle(registry, RETAIL, files)
    assert refused.value.outcome.errors[0]["file"] == path
    assert refused.value.diagnostics[0].code == "contract-version-immutable"


def test_bundle_problems_are_listed_together() -> None:
    with pytest.raises(MeshplaneError) as refused:
        apply_bundle(Registry("sqlite:///:memory:", auto_upgrade=False), ADMIN, {"a.txt": "", "b/../c.yaml": ""})
    codes = [d.code for d in refused.value.diagnostics]
    assert codes.count("bundle-path") == 2 and "bundle-without-mesh" in codes
