"""What CI publishes to a meshplane server: mesh bundles to plan and apply, and contract test runs.

**Bundles.** A bundle is a mesh repository sent as JSON, ``{"relative/path.yaml": "yaml text"}``.
`apply_bundle` writes it to a private temporary folder and runs the GitOps use cases on it
(`service.gitops`): the same lint gate, plan rules, semver enforcement and all-or-nothing apply as
`meshplane apply`, against the server's registry. Domain ownership is enforced on the plan: every
domain the plan would touch (the domain of each created, updated, retired or restored entity and
new contract version, and the domain an entity is registered under today) must be maintained by
the caller. The apply then re-plans under the registry's write lock and writes only if the plan
is still the one that was authorized (else `Conflict`); an identical concurrent apply that already
recorded the same changes makes this one a no-op.

**Test runs.** The JSON of `meshplane test --format json` (ARCHITECTURE.md §3). A run is recorded
by maintainers of its contract's domain; runs of contracts the registry does not know only by
admins. History and pass rates are read back per contract.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

import sqlalchemy as sa

from meshplane.diagnostics import Diagnostic, MeshplaneError, Severity
from meshplane.mesh.repository import MESH_FILE, display_path
from meshplane.registry import Registry, store_test_run
from meshplane.registry import models as m
from meshplane.registry.access import Conflict, NotFound, Principal
from meshplane.registry.state import load_registry_state
from meshplane.registry.versions import canonical_json
from meshplane.service.catalog import Page
from meshplane.service.gitops import EXIT_REFUSED, Plan, PlanRefused, apply_mesh, load_for_gitops, plan_mesh

MAX_BUNDLE_FILES = 50_000
_SEGMENT = re.compile(r"^[^/\\:*?\"<>|\x00-\x1f]{1,255}$")
_YAML_SUFFIXES = (".yaml", ".yml")


# --- bundles --------------------------------------------------------------------------------------------


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
) -> BundleOutcome:
    """Plan (and unless `dry_run`, apply) a mesh bundle against `registry`, as `actor`.

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
            repo = load_for_gitops(root, lake_base=lake_base or Path.cwd())
            plan = plan_mesh(repo, prune=prune, registry=registry)
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
        )
        if plan.has_errors and not dry_run:
            diagnostics = [_diagnostic(e) for e in outcome.errors]
            raise BundleRefused(
                f"apply refused: the plan has {len(plan.errors)} error(s); nothing was written", diagnostics, outcome
            )
        if dry_run or plan.empty:
            return outcome
        try:
            result = apply_mesh(
                repo, prune=prune, actor=actor.actor, expected_fingerprint=plan.fingerprint, registry=registry
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


# --- test runs ------------------------------------------------------------------------------------------


def _contract_domains(registry: Registry, contract_ids: Iterable[str]) -> dict[str, str]:
    ids = set(contract_ids)
    with registry.read() as session:
        rows = session.execute(sa.select(m.Contract.id, m.Contract.domain_id).where(m.Contract.id.in_(ids)))
        return {row.id: row.domain_id for row in rows}


def record_runs(registry: Registry, actor: Principal, runs: Sequence[Mapping[str, Any]]) -> list[tuple[int, bool]]:
    """Record test runs (each in its own transaction) after checking the caller may publish every one.

    One (id, new) per run: a run stored before (the same document) is not stored again; its id is given.
    """
    actor.require_writer()
    contract_ids = []
    for index, run in enumerate(runs):
        contract = run.get("contract")
        if not isinstance(contract, Mapping) or not isinstance(contract.get("id"), str):
            raise MeshplaneError(f"runs[{index}]: 'contract' must be an object with 'id' and 'version'")
        contract_ids.append(contract["id"])
    domains = _contract_domains(registry, contract_ids)
    unknown = sorted({c for c in contract_ids if c not in domains})
    if unknown and not actor.is_admin:
        raise NotFound(
            f"contract(s) {', '.join(unknown)} are not registered: apply them first "
            "(only an admin may record runs of unregistered contracts)"
        )
    actor.require_maintainer({domains[c] for c in contract_ids if c in domains}, "publish test runs of these contracts")
    return [store_test_run(registry, run, actor=actor.actor) for run in runs]


def _run_summary(row: m.TestRun, domain: str | None) -> dict[str, Any]:
    return {
        "id": row.id,
        "contract": {"id": row.contract_id, "version": row.contract_version},
        "domain": domain,
        "server": row.server,
        "engine": row.engine,
        "result": row.result,
        "startedAt": row.started_at.isoformat(),
        "finishedAt": row.finished_at.isoformat() if row.finished_at else None,
        "recordedAt": row.recorded_at.isoformat(),
        "recordedBy": row.recorded_by,
        "checkCount": row.check_count,
        "registeredVersion": row.contract_version_id is not None,
    }


def list_runs(
    registry: Registry,
    *,
    contract: str | None = None,
    version: str | None = None,
    domain: str | None = None,
    result: str | None = None,
    server: str | None = None,
    since: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page:
    """Recorded runs, newest first."""
    query = sa.select(m.TestRun, m.Contract.domain_id).outerjoin(m.Contract, m.Contract.id == m.TestRun.contract_id)
    if contract:
        query = query.where(m.TestRun.contract_id == contract)
    if version:
        query = query.where(m.TestRun.contract_version == version)
    if domain:
        query = query.where(m.Contract.domain_id == domain)
    if result:
        query = query.where(m.TestRun.result == result)
    if server:
        query = query.where(m.TestRun.server == server)
    if since is not None:
        query = query.where(m.TestRun.started_at >= since)
    with registry.read() as session:
        total = int(session.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one())
        rows = session.execute(
            query.order_by(m.TestRun.started_at.desc(), m.TestRun.id.desc()).limit(limit).offset(offset)
        ).all()
        return Page([_run_summary(run, dom) for run, dom in rows], total)


def get_run(registry: Registry, run_id: int) -> dict[str, Any]:
    """One run with every check result (the shape it was published in, plus provenance)."""
    with registry.read() as session:
        row = session.get(m.TestRun, run_id)
        if row is None:
            raise NotFound(f"no test run {run_id}")
        domain = session.execute(
            sa.select(m.Contract.domain_id).where(m.Contract.id == row.contract_id)
        ).scalar_one_or_none()
        checks = session.execute(
            sa.select(m.CheckResult).where(m.CheckResult.test_run_id == run_id).order_by(m.CheckResult.position)
        ).scalars()
        out = _run_summary(row, domain)
        out["extra"] = row.extra or {}
        out["checks"] = [
            {
                "id": c.check_id,
                "kind": c.kind,
                "object": c.object,
                "property": c.property,
                "status": c.status,
                "severity": c.severity,
                "observed": c.observed,
                "threshold": c.threshold,
                "message": c.message,
            }
            | (c.extra or {})
            for c in checks
        ]
        return out


PASSING = ("passed", "warning")


def pass_rates(
    registry: Registry,
    *,
    contract: str | None = None,
    domain: str | None = None,
    since: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page:
    """Per contract: runs, their results, the pass rate ((passed + warning) / runs) and the latest run."""
    run = m.TestRun
    filters = []
    if contract:
        filters.append(run.contract_id == contract)
    if since is not None:
        filters.append(run.started_at >= since)
    if domain:
        filters.append(run.contract_id.in_(sa.select(m.Contract.id).where(m.Contract.domain_id == domain)))

    def counted(result: str) -> Any:
        return sa.func.sum(sa.case((run.result == result, 1), else_=0)).label(result)

    grouped = (
        sa.select(
            run.contract_id,
            sa.func.count().label("runs"),
            *(counted(r) for r in ("passed", "warning", "failed", "error")),
        )
        .where(*filters)
        .group_by(run.contract_id)
    )
    with registry.read() as session:
        total = int(session.execute(sa.select(sa.func.count()).select_from(grouped.subquery())).scalar_one())
        rows = session.execute(grouped.order_by(run.contract_id).limit(limit).offset(offset)).all()
        ids = [r.contract_id for r in rows]
        ranked = (
            sa.select(
                run.contract_id,
                run.result,
                run.started_at,
                run.contract_version,
                sa.func.row_number()
                .over(partition_by=run.contract_id, order_by=(run.started_at.desc(), run.id.desc()))
                .label("rank"),
            )
            .where(run.contract_id.in_(ids), *filters)
            .subquery()
        )
        latest = {r.contract_id: r for r in session.execute(sa.select(ranked).where(ranked.c.rank == 1))}
        domains = dict(
            session.execute(sa.select(m.Contract.id, m.Contract.domain_id).where(m.Contract.id.in_(ids))).all()
        )
        items = []
        for r in rows:
            passing = int(r.passed or 0) + int(r.warning or 0)
            last = latest.get(r.contract_id)
            items.append(
                {
                    "contract": r.contract_id,
                    "domain": domains.get(r.contract_id),
                    "runs": int(r.runs),
                    "passed": int(r.passed or 0),
                    "warning": int(r.warning or 0),
                    "failed": int(r.failed or 0),
                    "error": int(r.error or 0),
                    "passRate": round(passing / r.runs, 4) if r.runs else None,
                    "lastResult": last.result if last else None,
                    "lastVersion": last.contract_version if last else None,
                    "lastRunAt": last.started_at.isoformat() if last else None,
                }
            )
        return Page(items, total)


__all__ = [
    "MAX_BUNDLE_FILES",
    "PASSING",
    "BundleOutcome",
    "BundleRefused",
    "apply_bundle",
    "bundle_path_problem",
    "get_run",
    "list_runs",
    "pass_rates",
    "record_runs",
    "touched_domains",
]
