"""What CI publishes to a meshplane server: mesh bundles to plan and apply (test runs: `service.testruns`).

A bundle is a mesh repository sent as JSON, ``{"relative/path.yaml": "yaml text"}``. Its files are
read as the CLI reads them (`meshplane.spec.yamlsource`): a file beyond the YAML limits (size,
nesting, aliases) is refused with a diagnostic naming the file and the limit, before any plan.
`apply_bundle` writes it to a private temporary folder and runs the GitOps use cases on it
(`service.gitops`): the same lint gate, plan rules, semver enforcement and all-or-nothing apply as
`meshplane apply`, against the server's registry. Domain ownership is enforced on the plan: every
domain the plan would touch (the domain of each created, updated, retired or restored entity and
new contract version, and the domain an entity is registered under today) must be maintained by
the caller; ids under another domain's prefix, new domains and any change of ``mesh.yaml``
(mesh-wide settings) unless the caller is an admin, are refused too (`service.ownership`). The
apply then re-plans under the registry's write lock and writes only if the plan is still the one
that was authorized (else `Conflict`); an identical concurrent apply that already recorded the same
changes makes this one a no-op.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from meshplane.access import Principal
from meshplane.diagnostics import Diagnostic, MeshplaneError, Severity
from meshplane.errors import AccessDenied, Conflict
from meshplane.mesh.repository import MESH_FILE, display_path, load_mesh
from meshplane.registry import Registry
from meshplane.registry.state import load_registry_state
from meshplane.registry.versions import canonical_json
from meshplane.service.gitops import EXIT_REFUSED, Plan, PlanRefused, apply_mesh, plan_mesh
from meshplane.service.ownership import (
    registered_domains,
    require_admin_for_mesh_settings,
    require_admin_for_new_domains,
    require_own_ids,
)
from meshplane.spec.yamlsource import MAX_YAML_BYTES

MAX_BUNDLE_FILES = 50_000
_SEGMENT = re.compile(r"^[^/\\:*?\"<>|\x00-\x1f]{1,255}$")
_YAML_SUFFIXES = (".yaml", ".yml")


def bundle_path_problem(path: str) -> str | None:
    """Why `path` cannot be a file of a bundle (None when it can)."""
    if not path or len(path) > 1000:
        return "a path has 1 to 1000 characters"
    if path.startswith("/") or "\\" in path:
        return "paths are relative and use '/'"
    parts = PurePosixPath(path).parts
    if any(part in ("", ".", "..") for part in path.split("/")) or not parts:
        return "paths must not contain empty, '.' or '..' segments"
    if not all(_SEGMENT.match(part) for part in parts):
        return "a path segment contains a character that is not allowed in file names"
    if not path.lower().endswith(_YAML_SUFFIXES):
        return "a bundle holds only YAML files (.yaml, .yml)"
    return None


def _bundle_problems(files: Mapping[str, str]) -> list[Diagnostic]:
    problems = []
    if MESH_FILE not in files:
        problems.append(Diagnostic(Severity.ERROR, "bundle-without-mesh", f"the bundle has no {MESH_FILE}", "files"))
    if len(files) > MAX_BUNDLE_FILES:
        problems.append(
            Diagnostic(Severity.ERROR, "bundle-too-large", f"a bundle holds at most {MAX_BUNDLE_FILES} files", "files")
        )
    folded: dict[str, str] = {}
    for path, text in files.items():
        reason = bundle_path_problem(path)
        if reason is None and "\x00" in text:
            reason = "the file contains a NUL character"
        if reason is None and len(text) > MAX_YAML_BYTES:  # characters: at least as many bytes
            reason = f"the file has more than {MAX_YAML_BYTES:,} bytes, the limit of a mesh file"
        if reason is None and path.lower() in folded:
            reason = f"the path clashes with {folded[path.lower()]} on case-insensitive file systems"
        folded.setdefault(path.lower(), path)
        if reason is not None:
            problems.append(Diagnostic(Severity.ERROR, "bundle-path", reason, f"files[{path!r}]"[:1100]))
    names = {p.rstrip("/") for p in files}
    for path in files:
        for parent in PurePosixPath(path).parents:
            if str(parent) in names:
                problems.append(
                    Diagnostic(
                        Severity.ERROR, "bundle-path", f"{parent} is both a file and a folder", f"files[{path!r}]"
                    )
                )
    return problems


def _relative(value: Any, prefixes: tuple[str, ...]) -> Any:
    """`value` with the temporary folder's prefix removed from every string (paths become bundle paths)."""
    if isinstance(value, str):
        for prefix in prefixes:
            if value.startswith(prefix):
                return value[len(prefix) :]
        return value
    if isinstance(value, list):
        return [_relative(v, prefixes) for v in value]
    if isinstance(value, dict):
        return {k: _relative(v, prefixes) for k, v in value.items()}
    return value


def _diagnostic(data: Mapping[str, Any]) -> Diagnostic:
    return Diagnostic(
        Severity(data["severity"]),
        data["code"],
        data["message"],
        data.get("file"),
        data.get("line"),
        data.get("column"),
        data.get("path"),
        data.get("hint"),
    )


def touched_domains(plan: Plan, registered: Mapping[str, Mapping[str, str]]) -> set[str]:
    """Every domain a plan writes: entity and version domains, and where entities are registered today.

    `registered` maps ``"product"`` and ``"contract"`` to {id: registered domain}.
    """
    domains: set[str] = set()
    for change in plan.changeset.entities:
        if change.domain:
            domains.add(change.domain)
        if change.kind.value == "domain":
            domains.add(change.id)
        for kind in ("product", "contract"):
            if change.kind.value == kind and change.id in registered[kind]:
                domains.add(registered[kind][change.id])
    for version in plan.versions:
        domains.add(version.spec.domain)
        if version.spec.contract_id in registered["contract"]:
            domains.add(registered["contract"][version.spec.contract_id])
    return domains


@dataclass
class BundleOutcome:
    """What a bundle request did: its plan, whether it was applied, and the domains it touched.

    `fingerprint` is the SHA-256 of the changes (with bundle-relative paths): two requests that
    would make the same changes have the same fingerprint.
    """

    plan: dict[str, Any]
    summary: str
    domains: list[str]
    applied: bool
    audit_id: int | None
    dry_run: bool
    fingerprint: str
    errors: list[dict[str, Any]] = field(default_factory=list)
    absent: list[dict[str, str]] = field(default_factory=list)
    actor: str = ""
    state: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON shape of ``POST /api/v1/apply`` (docs/api.md)."""
        return {
            "dryRun": self.dry_run,
            "applied": self.applied,
            "auditId": self.audit_id,
            "summary": self.summary,
            "domains": self.domains,
            "fingerprint": self.fingerprint,
            "changes": self.plan.get("changes", []),
            "errors": self.errors,
            "absent": self.absent,
            "actor": self.actor,
            "state": self.state,
        }


class BundleRefused(MeshplaneError):
    """The bundle's plan has errors; nothing was written (the plan is attached)."""

    def __init__(self, message: str, diagnostics: Sequence[Diagnostic], outcome: BundleOutcome) -> None:
        super().__init__(message, diagnostics, EXIT_REFUSED)
        self.outcome = outcome


def apply_bundle(
    registry: Registry,
    actor: Principal,
    files: Mapping[str, str],
    *,
    prune: bool = False,
    dry_run: bool = False,
    lake_base: Path | None = None,
    expected_fingerprint: str | None = None,
    expected_state: int | None = None,
) -> BundleOutcome:
    """Plan (and unless `dry_run`, apply) a mesh bundle against `registry`, as `actor`.

    `expected_fingerprint` is the fingerprint of the plan the caller reviewed (a dry run's), and
    `expected_state` the registry state that plan was computed against: when the bundle's plan is
    now another one, or the registry has changed since, nothing is written (`Conflict`).

    The bundle's files live in a temporary folder: a relative ``lake.root`` resolves below
    `lake_base` (the lake as the server sees it), else below the current folder — never below
    the temporary folder, which is gone after the request.
    """
    actor.require_writer()
    problems = _bundle_problems(files)
    if problems:
        raise MeshplaneError(f"the bundle is not a mesh repository: {problems[0].message}", problems)
    with tempfile.TemporaryDirectory(prefix="meshplane-bundle-") as folder:
        root = Path(folder).resolve()
        prefixes = tuple(dict.fromkeys([f"{root}/", f"{display_path(root)}/"]))
        try:
            for path, text in files.items():
                target = root.joinpath(*PurePosixPath(path).parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise MeshplaneError(f"the bundle cannot be written as files: {exc.strerror}") from exc
        try:
            repo = load_mesh(root, lake_base=lake_base or Path.cwd())
            require_own_ids(actor, repo, registered_domains(registry))  # 403 names the owner, before lint
            require_admin_for_mesh_settings(actor, registry, repo)  # 403 names mesh.yaml
            plan = plan_mesh(repo, prune=prune, registry=registry)  # lints the repository first
        except AccessDenied:
            raise
        except MeshplaneError as exc:
            raise MeshplaneError(
                _relative(exc.message, prefixes),
                [_diagnostic(_relative(d.to_dict(), prefixes)) for d in exc.diagnostics],
                exc.exit_code,
            ) from None
        with registry.read() as session:
            state = load_registry_state(session)
        registered = {
            "product": {p.id: p.domain for p in state.products.values()},
            "contract": {c.id: c.domain for c in state.contracts.values()},
        }
        domains = sorted(touched_domains(plan, registered))
        require_admin_for_new_domains(actor, plan)
        actor.require_maintainer(domains, "apply this bundle")
        shown = _relative(plan.to_dict(), prefixes)
        outcome = BundleOutcome(
            shown,
            plan.summary(),
            domains,
            applied=False,
            audit_id=None,
            dry_run=dry_run,
            fingerprint=hashlib.sha256(canonical_json(shown["changes"]).encode()).hexdigest(),
            errors=[_relative(d.to_dict(), prefixes) for d in plan.errors],
            absent=[{"kind": c.kind.value, "id": c.id} for c in plan.changeset.absent],
            actor=actor.actor,
            state=plan.state,
        )
        if plan.has_errors and not dry_run:
            diagnostics = [_diagnostic(e) for e in outcome.errors]
            raise BundleRefused(
                f"apply refused: the plan has {len(plan.errors)} error(s); nothing was written", diagnostics, outcome
            )
        if dry_run or plan.empty:
            return outcome
        moved = expected_state is not None and plan.state != expected_state
        if moved or (expected_fingerprint is not None and outcome.fingerprint != expected_fingerprint):
            raise Conflict(
                "the registry changed since the bundle was planned: its plan is no longer the one reviewed; "
                "nothing was written: plan again"
            )
        try:
            result = apply_mesh(
                repo,
                prune=prune,
                actor=actor.actor,
                expected_fingerprint=plan.fingerprint,
                expected_state=expected_state,
                registry=registry,
            )
        except PlanRefused as exc:  # the registry moved and the new plan has errors
            raise Conflict(f"the registry changed while the bundle was being applied: {exc.message}") from None
        except MeshplaneError as exc:
            if exc.exit_code == EXIT_REFUSED:
                raise Conflict(exc.message) from None
            raise
        outcome.applied = result.changed
        outcome.audit_id = result.audit_id
        return outcome


__all__ = [
    "MAX_BUNDLE_FILES",
    "BundleOutcome",
    "BundleRefused",
    "apply_bundle",
    "bundle_path_problem",
    "touched_domains",
]
