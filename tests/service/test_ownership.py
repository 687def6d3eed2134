"""Ownership rules of a bundle on SQLite and PostgreSQL: ids under their domain's prefix, domains made by admins,
mesh.yaml changed by admins only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from meshplane.access import Principal, Role
from meshplane.diagnostics import MeshplaneError
from meshplane.errors import AccessDenied
from meshplane.mesh import load_mesh
from meshplane.registry import Registry
from meshplane.registry import lineage as store
from meshplane.service.gitops import plan_mesh
from meshplane.service.ownership import (
    created_domains,
    foreign_ids,
    mesh_settings_changes,
    registered_domains,
    require_admin_for_mesh_settings,
)
from meshplane.service.publishing import BundleRefused, apply_bundle

REPO = Path(__file__).resolve().parents[2]
ADMIN = Principal.local_admin("operator")
RETAIL = Principal("ci-retail", Role.MAINTAINER, "retail", "aaaaaaaa")
FINANCE = Principal("ci-finance", Role.MAINTAINER, "finance", "cccccccc")
NEWCOMER = Principal("ci-returns", Role.MAINTAINER, "returns", "dddddddd")
LEDGER = "domains/finance/products/ledger"


def files_of(mesh: Path) -> dict[str, str]:
    return {p.relative_to(mesh).as_posix(): p.read_text(encoding="utf-8") for p in sorted(mesh.rglob("*.yaml"))}


def squatting(files: dict[str, str]) -> dict[str, str]:
    """Finance adds contract `retail.sales.returns` (retail's prefix) to its ledger product."""
    text = files[f"{LEDGER}/contracts/ledger_entries.odcs.yaml"]
    squatted = text.replace("id: finance.ledger.ledger_entries", "id: retail.sales.returns")
    return {**files, f"{LEDGER}/contracts/returns.odcs.yaml": squatted}


def test_a_maintainer_cannot_declare_an_id_under_another_domains_prefix(
    mesh_registry: tuple[Path, Registry],
) -> None:
    mesh, registry = mesh_registry
    with pytest.raises(AccessDenied) as refused:
        apply_bundle(registry, FINANCE, squatting(files_of(mesh)), dry_run=True)
    message = refused.value.message
    assert "contract id 'retail.sales.returns'" in message and "belongs to domain retail" in message
    assert "declared in domain finance" in message


def test_the_owner_is_found_in_the_registry_when_the_bundle_holds_one_domain(
    mesh_registry: tuple[Path, Registry],
) -> None:
    """Finance's bundle holds only finance: retail's prefix is known from the registry."""
    mesh, registry = mesh_registry
    files = {k: v for k, v in squatting(files_of(mesh)).items() if k == "mesh.yaml" or k.startswith("domains/finance/")}
    with pytest.raises(AccessDenied, match=r"'retail\.sales\.returns'.*belongs to domain retail"):
        apply_bundle(registry, FINANCE, files)
    assert "retail" in registered_domains(registry)


def test_a_product_id_under_another_prefix_is_refused_too(mesh_registry: tuple[Path, Registry]) -> None:
    mesh, registry = mesh_registry
    files = files_of(mesh)
    product = f"{LEDGER}/product.odps.yaml"
    files[product] = files[product].replace("id: finance.ledger\n", "id: retail.ledger\n")
    with pytest.raises(AccessDenied, match=r"product id 'retail\.ledger'.*belongs to domain retail"):
        apply_bundle(registry, FINANCE, files, dry_run=True)


def test_an_admin_gets_the_lint_error_and_the_owner_a_lint_error_too(mesh_registry: tuple[Path, Registry]) -> None:
    """The prefix rule is the mesh's, not a permission: lint refuses the squatted id for every caller."""
    mesh, registry = mesh_registry
    for caller in (ADMIN, RETAIL):
        with pytest.raises(MeshplaneError) as refused:
            apply_bundle(registry, caller, squatting(files_of(mesh)), dry_run=True)
        assert not isinstance(refused.value, AccessDenied)
        assert "id-prefix" in {d.code for d in refused.value.diagnostics}, refused.value


def test_the_example_mesh_declares_no_foreign_id() -> None:
    repo = load_mesh(REPO / "examples/holding")
    domains = {d.id for d in repo.domains}
    for caller in (ADMIN, RETAIL, FINANCE, NEWCOMER):
        assert foreign_ids(caller, repo, domains) == []


def test_only_an_admin_creates_a_domain(mesh_registry: tuple[Path, Registry]) -> None:
    mesh, registry = mesh_registry
    files = files_of(mesh)
    files["domains/returns/domain.yaml"] = files["domains/logistics/domain.yaml"].replace(
        "id: logistics", "id: returns"
    )
    for maintainer in (NEWCOMER, RETAIL):
        with pytest.raises(AccessDenied, match=r"may not create domain\(s\) returns: only an admin"):
            apply_bundle(registry, maintainer, files, dry_run=True)
    assert "returns" not in registered_domains(registry)
    done = apply_bundle(registry, ADMIN, files)
    assert done.applied and done.domains == ["returns"]
    assert "returns" in registered_domains(registry)


def test_a_maintainer_cannot_restore_a_retired_domain(mesh_registry: tuple[Path, Registry]) -> None:
    mesh, registry = mesh_registry
    files = files_of(mesh)
    files["domains/returns/domain.yaml"] = files["domains/logistics/domain.yaml"].replace(
        "id: logistics", "id: returns"
    )
    apply_bundle(registry, ADMIN, files)
    without = {k: v for k, v in files.items() if not k.startswith("domains/returns/")}
    apply_bundle(registry, ADMIN, without, prune=True)
    plan = plan_mesh(load_mesh(mesh), registry=registry)
    assert created_domains(plan) == []
    with pytest.raises(AccessDenied, match=r"may not create domain\(s\) returns"):
        apply_bundle(registry, NEWCOMER, files, dry_run=True)


def test_a_bundle_with_lint_errors_and_no_foreign_id_is_still_a_lint_refusal(
    mesh_registry: tuple[Path, Registry],
) -> None:
    mesh, registry = mesh_registry
    files = files_of(mesh)
    contract = f"{LEDGER}/contracts/ledger_entries.odcs.yaml"
    files[contract] = files[contract].replace("id: finance.ledger.ledger_entries", "id: finance.other.entries")
    with pytest.raises(MeshplaneError) as refused:
        apply_bundle(registry, FINANCE, files, dry_run=True)
    assert not isinstance(refused.value, (AccessDenied, BundleRefused))
    assert "id-prefix" in {d.code for d in refused.value.diagnostics}


def _record_settings(registry: Registry, settings: dict[str, object] | None) -> None:
    """Overwrite the recorded mesh.yaml settings (None: as a registry applied before they were recorded)."""

    def write(session: Session) -> None:
        entry = sa.and_(store.DirectoryEntry.kind == "mesh", store.DirectoryEntry.name == store.MESH_SETTINGS_ENTRY)
        if settings is None:
            session.execute(sa.delete(store.DirectoryEntry).where(entry))
        else:
            session.execute(sa.update(store.DirectoryEntry).where(entry).values(value=json.dumps(settings)))

    registry.write(write)


def test_mesh_settings_are_the_lake_owners(mesh_registry: tuple[Path, Registry]) -> None:
    """A maintainer's unchanged mesh.yaml passes (also when the record predates a field left at its default); a
    changed one is 403 naming mesh.yaml and the field; with no record, an admin applies first."""
    mesh, registry = mesh_registry
    repo = load_mesh(mesh)
    assert mesh_settings_changes(registry, repo) == []
    with registry.read() as session:
        recorded = store.stored_mesh_settings(session)
    assert recorded is not None and recorded["lineage"]["jobNamespaces"]["airflow-retail"] == "retail"
    older = {k: v for k, v in recorded.items() if k != "monitoring"}  # a field added since it was recorded
    _record_settings(registry, older)
    require_admin_for_mesh_settings(RETAIL, registry, repo)
    (mesh / "mesh.yaml").write_text(
        (mesh / "mesh.yaml").read_text(encoding="utf-8").replace("root: lake", "root: moved"), encoding="utf-8"
    )
    moved = load_mesh(mesh)
    assert mesh_settings_changes(registry, moved) == ["lake.root"]
    with pytest.raises(AccessDenied, match=r"may not change mesh.yaml \(lake.root\)"):
        require_admin_for_mesh_settings(RETAIL, registry, moved)
    require_admin_for_mesh_settings(ADMIN, registry, moved)
    _record_settings(registry, None)
    with pytest.raises(AccessDenied, match=r"no record of the mesh\.yaml last applied"):
        require_admin_for_mesh_settings(RETAIL, registry, repo)
