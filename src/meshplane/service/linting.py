"""Lint use case: a mesh folder, a folder of loose files, or a single file."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from meshplane.diagnostics import Diagnostic, MeshplaneError, Severity, has_errors, sort_diagnostics
from meshplane.lineage.claims import check_port_claims
from meshplane.lineage.external import check_external_systems
from meshplane.mesh.checkable import check_runnable
from meshplane.mesh.crosscheck import check_mesh
from meshplane.mesh.lintrules import ContractLint, ProductLint, lint_contract, lint_product
from meshplane.mesh.notifications import check_domain_notifications
from meshplane.mesh.references import check_references
from meshplane.mesh.repository import (
    MESH_FILE,
    WALK_MAX_BARREN,
    WALK_MAX_FOLDERS,
    MeshRepository,
    display_path,
    find_mesh_files,
    find_mesh_root,
    load_mesh,
)
from meshplane.mesh.schedules import check_contract_schedule, check_mesh_schedules
from meshplane.spec.loader import FileKind, LoadedFile, detect_kind, load_file
from meshplane.spec.odcs import Contract
from meshplane.spec.odps import DataProduct


@dataclass
class LintReport:
    """What `meshplane lint` found."""

    target: str
    mode: str  # "mesh" | "files" | "file"
    files: int
    diagnostics: list[Diagnostic] = field(default_factory=list)
    summary: dict[str, int] = field(default_factory=dict)

    @property
    def has_errors(self) -> bool:
        """True when any diagnostic is an error (exit code 1)."""
        return has_errors(self.diagnostics)

    def counts(self) -> Counter[str]:
        """Number of diagnostics per severity."""
        return Counter(d.severity.value for d in self.diagnostics)

    def to_dict(self) -> dict[str, Any]:
        """The `lint --format json` shape."""
        counts = self.counts()
        return {
            "target": self.target,
            "mode": self.mode,
            "files": self.files,
            "errors": counts.get("error", 0),
            "warnings": counts.get("warning", 0),
            "summary": self.summary,
            "diagnostics": [d.to_dict() for d in self.diagnostics],
        }


def _single_file_diagnostics(loaded: LoadedFile[Any]) -> list[Diagnostic]:
    out = list(loaded.diagnostics)
    model = loaded.model
    if isinstance(model, Contract):
        out += check_references(model, loaded.document, Severity.WARNING)
        out += check_runnable(model, loaded.document, loaded.file, Severity.WARNING)
        out += lint_contract(ContractLint(model, loaded.document, loaded.file))
        out += check_contract_schedule(model, loaded.document, loaded.file)
    elif isinstance(model, DataProduct):
        out += lint_product(ProductLint(model, loaded.document, loaded.file))
    return out


def lint_repository(repo: MeshRepository) -> list[Diagnostic]:
    """Every diagnostic of a loaded mesh: files, cross-file errors and warnings."""
    out = repo.file_diagnostics() + check_mesh(repo) + check_mesh_schedules(repo.config_file)
    out += check_external_systems(repo.config_file, str(repo.lake_root.absolute()))
    out += check_port_claims(repo)
    for declared in repo.domains:
        out += check_domain_notifications(declared.loaded)
    bound = {p.contract_id for e in repo.products if e.product for p in e.product.output_ports or [] if p.contract_id}
    for entry in repo.contracts:
        if entry.contract is not None:
            ctx = ContractLint(entry.contract, entry.document, entry.file, entry.contract.id in bound)
            out += check_runnable(entry.contract, entry.document, entry.file)
            out += lint_contract(ctx)
            out += check_contract_schedule(entry.contract, entry.document, entry.file)
    for product_entry in repo.products:
        if product_entry.product is not None and product_entry.loaded is not None:
            domain_entry = repo.domain_by_id(product_entry.domain)
            domain = domain_entry.model if domain_entry else None
            out += lint_product(
                ProductLint(product_entry.product, product_entry.loaded.document, product_entry.file, domain)
            )
    return sort_diagnostics(out)


def _lint_part_of_mesh(root: Path, folder: Path) -> LintReport:
    """Lint the whole mesh above `folder` (references cross folders) and report what is inside it."""
    repo = load_mesh(root)
    inside = folder.resolve()
    diagnostics = [
        d for d in lint_repository(repo) if d.file is not None and Path(d.file).resolve().is_relative_to(inside)
    ]
    files = len(find_mesh_files(inside).files)
    report = LintReport(display_path(folder), "mesh", files, diagnostics)
    report.summary = {"files": files}
    return report


def lint_path(path: Path, *, max_folders: int = WALK_MAX_FOLDERS) -> LintReport:
    """Lint a mesh folder, a folder of mesh files (no cross-file checks) or one file.

    Outside a mesh, the search for mesh files reads at most `max_folders` folders (`find_mesh_files`).

    Raises `MeshplaneError` when there is nothing lintable at `path` (exit 2).
    """
    if not path.exists():
        raise MeshplaneError(f"no such file or folder: {path}")
    if path.is_file():
        if detect_kind(path) is None and not path.name.endswith((".yaml", ".yml")):
            raise MeshplaneError(f"{path} is not a mesh file (*.odcs.yaml, *.odps.yaml, domain.yaml, mesh.yaml)")
        loaded = load_file(path, display=display_path(path))
        if loaded.kind is FileKind.MESH:
            return lint_path(path.parent)
        return LintReport(display_path(path), "file", 1, sort_diagnostics(_single_file_diagnostics(loaded)))
    if (path / MESH_FILE).is_file():
        repo = load_mesh(path)
        report = LintReport(
            display_path(path), "mesh", 1 + len(repo.domains) + len(repo.products) + len(repo.contracts)
        )
        report.diagnostics = lint_repository(repo)
        report.summary = {
            "domains": len(repo.domains),
            "products": len(repo.products),
            "contracts": len(repo.contracts),
        }
        return report
    root = find_mesh_root(path)
    if root is not None:
        return _lint_part_of_mesh(root, path)
    search = find_mesh_files(path, max_folders=max_folders)
    files = search.files
    capped = "; lint the mesh folder or a narrower path" if search.capped else ""
    if not files:
        raise MeshplaneError(
            f"{path} is not a mesh (no {MESH_FILE}) and holds no *.odcs.yaml or *.odps.yaml files"
            f" (searched {search.folders} folders{', then stopped' if search.capped else ''}; none more than"
            f" {WALK_MAX_BARREN} levels below folders without mesh files){capped}",
        )
    diagnostics: list[Diagnostic] = []
    for file in files:
        diagnostics += _single_file_diagnostics(load_file(file, display=display_path(file)))
    diagnostics.append(
        Diagnostic(
            Severity.INFO,
            "not-a-mesh",
            f"{display_path(path)} has no {MESH_FILE}: files were linted one by one, without cross-file checks",
        )
    )
    if search.capped:
        diagnostics.append(
            Diagnostic(
                Severity.WARNING,
                "lint-search-capped",
                f"only the first {search.folders} folders below {display_path(path)} were searched{capped}",
            )
        )
    return LintReport(display_path(path), "files", len(files), sort_diagnostics(diagnostics))
