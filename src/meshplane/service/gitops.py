"""GitOps use cases: `plan` (what would change in the registry) and `apply` (record it).

The mesh repository is the desired state; the registry is the recorded one. A plan lists the
domains, products, ports and contracts an apply would create, update, retire or restore, and for
each new contract version its classified diff against the highest registered version below it.
A plan has errors, and apply refuses it, when:

* a registered contract version has other content now (published versions are immutable);
* a new version carries breaking changes without a major bump, or less than the bump its changes
  require (semver enforcement, rules from `meshplane.diff`);
* a port or contract would be removed while other products still consume it.

Every breaking change comes with its impact: the consumers of the old major version, transitively
downstream, across domains (`service.impact`).

Apply re-computes the plan inside one locked write transaction and writes everything or nothing.
"""

from __future__ import annotations

import getpass
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from meshplane.diagnostics import Diagnostic, MeshplaneError, Severity, has_errors
from meshplane.mesh.repository import MeshRepository, load_mesh
from meshplane.registry import Registry
from meshplane.registry import models as m
from meshplane.registry.changes import Action, ChangeSet, ConsumerBreak, Kind, compare_states, ports_after
from meshplane.registry.graph import ConsumerGraph
from meshplane.registry.state import (
    ContractVersionSpec,
    DomainSpec,
    MemberSpec,
    MeshState,
    PortSpec,
    ProductSpec,
    RegistryState,
    TeamSpec,
    load_contract_documents,
    load_registry_state,
)
from meshplane.registry.versions import canonical_json, document_sha256, major_of
from meshplane.registry.writer import write_changes
from meshplane.service.impact import (
    ColumnUsageResolver,
    DiffLike,
    ImpactReport,
    analyse_impact,
    column_usage_in,
    diff_contract_versions,
    no_column_lineage,
)
from meshplane.service.linting import lint_repository
from meshplane.service.migrations import plan_diagnostics
from meshplane.service.portindex import PortIndexBuild
from meshplane.service.registries import open_mesh_registry
from meshplane.spec.meshfiles import Domain
from meshplane.spec.odcs import Contract
from meshplane.spec.odps import DataProduct

EXIT_REFUSED = 1


def default_actor() -> str:
    """Who applies when no ``--actor`` is given: the operating-system user."""
    try:
        return getpass.getuser() or "unknown"
    except (OSError, KeyError):
        return "unknown"


# --- desired state ------------------------------------------------------------------------------


def _team(name: str | None, description: str | None, members: list[Any] | None) -> TeamSpec:
    return TeamSpec(
        name,
        description,
        tuple(MemberSpec(mem.username, mem.name, mem.role, mem.date_in, mem.date_out) for mem in members or []),
    )


def _ports(ports: list[Any] | None, output: bool) -> tuple[PortSpec, ...]:
    return tuple(
        PortSpec(
            p.name,
            p.version,
            p.contract_id,
            getattr(p, "type", None) if output else None,
            getattr(p, "description", None) if output else None,
        )
        for p in ports or []
    )


def domain_spec(model: Domain, folder: str, file: str | None = None) -> DomainSpec:
    """A loaded domain.yaml in the registry's terms (keyed by its folder name)."""
    document = model.to_document()
    team = _team(model.team.name, model.team.description, model.team.members)
    return DomainSpec(
        folder, document, document_sha256(document), model.name, model.description, tuple(model.tags or ()), team, file
    )


def product_spec(product: DataProduct, domain: str, file: str | None = None) -> ProductSpec:
    """A loaded product descriptor in the registry's terms (`domain` is its domain folder)."""
    document = product.to_document()
    team = _team(product.team.name, product.team.description, product.team.members) if product.team else None
    return ProductSpec(
        product.id,
        domain,
        document,
        document_sha256(document),
        product.status,
        product.name,
        product.version,
        tuple(product.tags or ()),
        team,
        _ports(product.output_ports, True),
        _ports(product.input_ports, False),
        file,
    )


def contract_spec(
    contract: Contract, domain: str, product_id: str | None, file: str | None = None
) -> ContractVersionSpec:
    """A loaded contract file in the registry's terms."""
    document = contract.to_document()
    return ContractVersionSpec(
        contract.id,
        contract.version,
        domain,
        product_id,
        document,
        document_sha256(document),
        contract.status or "",  # ODCS v3.2.0 no longer requires a status
        contract.name,
        file,
    )


def desired_state(repo: MeshRepository) -> MeshState:
    """What the repository declares, in the registry's terms (files that did not load are skipped)."""
    state = MeshState(
        repo.config.name if repo.config else repo.root.name, lake_base=str(repo.lake_base) if repo.lake_base else None
    )
    for dom in repo.domains:
        if dom.model is not None:
            state.domains[dom.id] = domain_spec(dom.model, dom.id, dom.file)
    for entry in repo.products:
        product = entry.product
        if product is None:
            continue
        state.products[product.id] = product_spec(product, entry.domain, entry.file)
        state.contract_versions += [
            contract_spec(con.contract, entry.domain, product.id, con.file)
            for con in entry.contracts
            if con.contract is not None
        ]
    return state


def lint_gate(repo: MeshRepository) -> None:
    """Refuse a mesh with lint errors (exit 1): plan and apply need a consistent repository."""
    diagnostics = lint_repository(repo)
    errors = [d for d in diagnostics if d.severity is Severity.ERROR]
    if errors:
        raise MeshplaneError(
            f"the mesh has {len(errors)} lint error(s); fix them first (meshplane lint)", errors, EXIT_REFUSED
        )


# --- plan ----------------------------------------------------------------------------------------


@dataclass
class ContractVersionChange:
    """A contract version the apply would register, with its diff and the impact of its breaking changes."""

    spec: ContractVersionSpec
    base_version: str | None
    diff: DiffLike | None = None
    impact: ImpactReport | None = None
    revises_draft: bool = False
    """The version is registered as a draft and is rewritten in place (`update`), not appended."""

    def to_dict(self) -> dict[str, Any]:
        """JSON shape (docs/gitops.md)."""
        return {
            "kind": Kind.CONTRACT_VERSION.value,
            "action": (Action.UPDATE if self.revises_draft else Action.CREATE).value,
            "id": self.spec.contract_id,
            "version": self.spec.version,
            "from": self.base_version,
            "domain": self.spec.domain,
            "product": self.spec.product_id,
            "file": self.spec.file,
            "diff": self.diff.to_dict() if self.diff is not None else None,
            "impact": self.impact.to_dict() if self.impact is not None else None,
        }


@dataclass
class Plan:
    """What an apply would change, and why it may not."""

    mesh: str
    registry: str
    prune: bool
    changeset: ChangeSet
    versions: list[ContractVersionChange] = field(default_factory=list)
    errors: list[Diagnostic] = field(default_factory=list)
    state: int = 0
    """The registry state the plan was computed against (`registry_state`)."""
    settings: list[str] = field(default_factory=list)
    """mesh.yaml's settings (dotted paths: ``lineage.jobNamespaces``, ``lake.root``) that differ from the
    applied ones: a change of their own (``kind: mesh``), written with the port index they shape."""

    @property
    def has_errors(self) -> bool:
        """True when apply must refuse this plan."""
        return has_errors(self.errors)

    @property
    def empty(self) -> bool:
        """True when the registry already matches the repository."""
        return self.changeset.empty and not self.settings

    def change_dicts(self) -> list[dict[str, Any]]:
        """Every change as JSON: mesh.yaml's settings, entities (domains, products, ports, contracts), versions."""
        mesh = [{"kind": Kind.MESH.value, "action": Action.UPDATE.value, "id": MESH_FILE, "fields": self.settings}]
        entities = [c.to_dict() for c in self.changeset.entities] + [v.to_dict() for v in self.versions]
        return (mesh if self.settings else []) + entities

    def counts(self) -> dict[str, int]:
        """Number of changes per action (a change of mesh.yaml's settings is one update)."""
        counts = Counter(c.action.value for c in self.changeset.entities)
        counts[Action.UPDATE.value] += 1 if self.settings else 0
        counts.update((Action.UPDATE if v.revises_draft else Action.CREATE).value for v in self.versions)
        return {a.value: counts.get(a.value, 0) for a in Action}

    def summary(self) -> str:
        """One line: ``3 to create, 1 to update, 0 to retire, 0 to restore``."""
        return ", ".join(f"{n} to {action}" for action, n in self.counts().items())

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the changes: apply refuses to write when the registry moved since the plan was shown."""
        return hashlib.sha256(canonical_json(self.change_dicts()).encode()).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        """The `plan --format json` shape: ``{"changes": [...], "errors": [...]}``."""
        return {"changes": self.change_dicts(), "errors": [d.to_dict() for d in self.errors]}


def _error(code: str, message: str, file: str | None = None, hint: str | None = None) -> Diagnostic:
    return Diagnostic(Severity.ERROR, code, message, file, hint=hint)


def _consumer_error(brk: ConsumerBreak) -> Diagnostic:
    who = ", ".join(f"{product} (input port {port})" for product, port in brk.consumers)
    if brk.kind is Kind.OUTPUT_PORT:
        major = f" major version {brk.major}" if brk.major is not None else ""
        return _error(
            "port-has-consumers",
            f"output port {brk.id} would be removed, but {who} still consume{'s' if len(brk.consumers) == 1 else ''} "
            f"contract {brk.contract_id}{major}",
            brk.file,
            "keep the port until its consumers have moved, or publish the same contract major version on another port",
        )
    return _error(
        "contract-has-consumers",
        f"contract {brk.id} would be retired, but {who} still consume{'s' if len(brk.consumers) == 1 else ''} it",
        None,
        "move the consumers first, or keep the contract file",
    )


def _static_errors(changes: ChangeSet) -> list[Diagnostic]:
    errors: list[Diagnostic] = []
    for conflict in changes.conflicts:
        spec = conflict.spec
        errors.append(
            _error(
                "contract-version-immutable",
                f"contract {spec.contract_id} version {spec.version} is already registered with other content "
                f"(registered sha256 {conflict.registered_sha256[:12]}…, file {spec.sha256[:12]}…): "
                "published versions are immutable",
                spec.file,
                "give the changed contract a new version number",
            )
        )
    for first, second in changes.duplicates:
        errors.append(
            _error(
                "duplicate-contract-version",
                f"contract {first.contract_id} version {first.version} is declared twice with different content "
                f"({first.file} and {second.file})",
                second.file,
            )
        )
    for spec in changes.invalid_versions:
        errors.append(
            _error(
                "invalid-contract-version",
                f"contract {spec.contract_id} has version '{spec.version}', which is not a semantic version "
                "(MAJOR.MINOR.PATCH); versions cannot be compared or enforced",
                spec.file,
            )
        )
    errors += [_consumer_error(brk) for brk in changes.consumer_breaks]
    return errors


def _semver_error(change: ContractVersionChange, diff: DiffLike) -> Diagnostic | None:
    if diff.semver_ok:
        return None
    spec = change.spec
    if str(diff.level) == "breaking":
        listed = "; ".join(c.message for c in diff.breaking_changes()[:5])
        more = len(diff.breaking_changes()) - 5
        listed += f"; and {more} more" if more > 0 else ""
        return _error(
            "breaking-without-major",
            f"contract {spec.contract_id} {change.base_version} → {spec.version} has breaking changes without a "
            f"major version bump: {listed}",
            spec.file,
            f"publish it as a new major version (e.g. {_next_major(change.base_version)}), or keep the old guarantees",
        )
    return _error(
        "insufficient-version-bump",
        f"contract {spec.contract_id} {change.base_version} → {spec.version} needs a {diff.required_bump} "
        "version bump for its changes",
        spec.file,
    )


def _next_major(version: str | None) -> str:
    major = major_of(version)
    return f"{major + 1}.0.0" if major is not None else "a new major version"


def build_plan(
    desired: MeshState,
    current: RegistryState,
    documents: dict[tuple[str, str], dict[str, Any]],
    *,
    prune: bool,
    registry: str,
    resolver: ColumnUsageResolver = no_column_lineage,
) -> Plan:
    """The plan for `desired` against `current`; `documents` are the base versions' stored contracts.

    `resolver` says, per consumer and changed column, whether the consumer reads it (column usage
    recorded from lineage); by default every consumer of a breaking change is affected.
    """
    changes = compare_states(desired, current, prune=prune)
    plan = Plan(desired.name, registry, prune, changes, errors=_static_errors(changes))
    graph: ConsumerGraph | None = None
    for new in changes.new_versions:
        change = ContractVersionChange(new.spec, new.base_version, revises_draft=new.revises_draft)
        plan.versions.append(change)
        if new.base_version is None:
            continue
        old_doc = documents[(new.spec.contract_id, new.base_version)]
        old = Contract.from_document(old_doc)
        fresh = Contract.from_document(dict(new.spec.document))
        diff = diff_contract_versions(old, fresh)
        change.diff = diff
        problem = _semver_error(change, diff)
        if problem is not None:
            plan.errors.append(problem)
        breaking = diff.breaking_changes()
        if breaking:
            if graph is None:
                after = ports_after(desired, current, prune=prune)
                graph = ConsumerGraph.build(
                    ((pid, dom, team) for pid, (dom, team) in after.products.items()),
                    ((pid, contract, major) for pid, _, contract, major in after.outputs),
                    after.inputs,
                )
            change.impact = analyse_impact(
                graph,
                new.spec.contract_id,
                major_of(new.base_version),
                version=new.base_version,
                provider=new.spec.product_id,
                changes=breaking,
                resolver=resolver,
            )
    return plan


def _registry_for(repo: MeshRepository, registry: Registry | None) -> Registry:
    if registry is not None:
        return registry
    return open_mesh_registry(repo.root)


def registry_state(session: Session) -> int:
    """The registry's state as plans see it: the id of its latest apply's audit entry (0 before any).

    Only applies change what a plan compares with; a plan shown at state N is applied only while
    the registry is still at N (`apply_mesh`'s `expected_state`).
    """
    newest_first = sa.select(m.AuditEntry.id).where(m.AuditEntry.action == "apply").order_by(m.AuditEntry.id.desc())
    return int(session.scalar(newest_first.limit(1)) or 0)  # walks the key backwards to the latest apply


def _plan_in(session: Session, desired: MeshState, *, prune: bool, registry: Registry) -> tuple[Plan, RegistryState]:
    base_keys: set[tuple[str, str]] = set()
    current = load_registry_state(session)
    for spec in desired.contract_versions:  # the registered versions new ones are diffed against
        reg = current.contracts.get(spec.contract_id)
        if reg is not None and (spec.version not in reg.versions or reg.is_draft(spec.version)):
            base = reg.base_version_for(spec.version)
            if base is not None:
                base_keys.add((spec.contract_id, base))
    documents = load_contract_documents(session, base_keys)
    plan = build_plan(
        desired, current, documents, prune=prune, registry=registry.url.display, resolver=column_usage_in(session)
    )
    plan.state = registry_state(session)
    plan.errors += plan_diagnostics(session, desired, current, plan.changeset)
    return plan, current


def load_for_gitops(path: Path, *, lake_base: Path | None = None) -> MeshRepository:
    """Load a mesh folder and refuse it when it has lint errors (`load_mesh`)."""
    repo = load_mesh(path, lake_base=lake_base)
    lint_gate(repo)
    return repo


def _gated(path: Path | MeshRepository) -> MeshRepository:
    """A linted repository: loaded from `path`, or the given one (e.g. an uploaded bundle) linted here."""
    if isinstance(path, MeshRepository):
        lint_gate(path)
        return path
    return load_for_gitops(path)


MESH_FILE = "mesh.yaml"


def _settings_changes(registry: Registry, repo: MeshRepository) -> list[str]:
    """mesh.yaml's settings that differ from the applied ones ([] before any were recorded)."""
    from meshplane.service.ownership import mesh_settings_changes  # ownership reads plans: imported late

    return mesh_settings_changes(registry, repo) or []


def plan_mesh(path: Path | MeshRepository, *, prune: bool = False, registry: Registry | None = None) -> Plan:
    """The `meshplane plan` use case (reads only)."""
    repo = _gated(path)
    desired = desired_state(repo)
    store = _registry_for(repo, registry)
    try:
        with store.read() as session:
            plan = _plan_in(session, desired, prune=prune, registry=store)[0]
        plan.settings = _settings_changes(store, repo)
        return plan
    finally:
        if registry is None:
            store.close()


@dataclass
class ApplyResult:
    """What an apply did: its plan, and the audit entry (None when there was nothing to do)."""

    plan: Plan
    audit_id: int | None
    actor: str

    @property
    def changed(self) -> bool:
        """True when something was written."""
        return self.audit_id is not None


class PlanRefused(MeshplaneError):
    """Apply refused a plan with errors; nothing was written."""

    def __init__(self, plan: Plan) -> None:
        super().__init__(
            f"apply refused: the plan has {len(plan.errors)} error(s); nothing was written", plan.errors, EXIT_REFUSED
        )
        self.plan = plan


def apply_mesh(
    path: Path | MeshRepository,
    *,
    prune: bool = False,
    actor: str | None = None,
    expected_fingerprint: str | None = None,
    registry: Registry | None = None,
    expected_state: int | None = None,
) -> ApplyResult:
    """The `meshplane apply` use case: plan again under the write lock, refuse errors, write all or nothing.

    `expected_fingerprint` is the fingerprint of the plan the user confirmed, `expected_state` the
    registry state it was computed against (`Plan.state`); when the registry changed in between
    (another apply won the race), nothing is written and the user is asked to look at the new plan.
    """
    repo = _gated(path)
    desired = desired_state(repo)
    who = actor or default_actor()
    store = _registry_for(repo, registry)
    now = datetime.now(UTC)
    index = PortIndexBuild.prepare(repo)  # computed before the write: the writer is not held meanwhile
    settings = _settings_changes(store, repo)

    def write(session: Session) -> ApplyResult:
        plan, current = _plan_in(session, desired, prune=prune, registry=store)
        plan.settings = settings
        if plan.has_errors:
            raise PlanRefused(plan)
        if plan.empty:  # also when a concurrent apply already recorded the same changes
            return ApplyResult(plan, None, who)
        moved = expected_state is not None and plan.state != expected_state
        if moved or (expected_fingerprint is not None and plan.fingerprint != expected_fingerprint):
            raise MeshplaneError(
                "the registry changed since the plan was shown (another apply ran); nothing was written: "
                "run `meshplane apply` again to see the new plan",
                exit_code=EXIT_REFUSED,
            )
        details = {"prune": prune, "counts": plan.counts(), "changes": plan.change_dicts()}
        audit_id = write_changes(
            session, desired, current, plan.changeset, actor=who, summary=plan.summary(), details=details, now=now
        )
        index.store(session, audit_id=audit_id, now=now)
        return ApplyResult(plan, audit_id, who)

    try:
        return store.write(write, exclusive=True)
    except sa.exc.IntegrityError as exc:  # only a writer bypassing the write lock can get here
        raise MeshplaneError(
            "the registry changed while applying (a concurrent writer); nothing was written: "
            f"run apply again ({exc.orig})",
            exit_code=EXIT_REFUSED,
        ) from exc
    except sa.exc.OperationalError as exc:  # e.g. SQLite still locked after the busy timeout
        raise MeshplaneError(
            f"the registry is not available; nothing was written: {exc.orig}", exit_code=EXIT_REFUSED
        ) from exc
    finally:
        if registry is None:
            store.close()
