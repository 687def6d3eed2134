"""Migrations between major versions: deprecated ports, who is still on them, and when they go.

A provider publishes the new major of a contract on a new output port beside the old one and marks
the old port deprecated with a sunset date (`meshplane.mesh.deprecation`). Consumers move one by
one by changing their input port's version to the new major. Who is still on the old port:

* **declared** consumers: other products' input ports on the contract's old major;
* **agreements**: open usage agreements on the old port (an agreement covers a port, all its
  versions; a migration reuses its purpose and needs a new agreement only when the new port is
  not on auto-approve);
* **observed** readers: lineage runs of other domains that read the old port.

`list_migrations` is `meshplane migrations` and ``GET /api/v1/migrations``. `plan_diagnostics`
adds to a plan the consumers still on each deprecated port (warnings), and refuses the removal of
a deprecated port before its sunset date, or while someone still declares, agrees to or reads it
(`port-removal-blocked`, naming who blocks it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from meshplane.access import OPEN_STATES, Principal
from meshplane.diagnostics import Diagnostic, MeshplaneError, Severity
from meshplane.errors import NotFound
from meshplane.mesh.deprecation import Deprecation, port_deprecations
from meshplane.registry import Registry
from meshplane.registry import models as m
from meshplane.registry.access import UsageAgreement
from meshplane.registry.changes import Action, ChangeSet, Kind
from meshplane.registry.lineage import LineageRun, RunDataset
from meshplane.registry.state import MeshState, RegistryState, load_registry_state
from meshplane.registry.versions import major_of
from meshplane.service.agreements import AgreementView, request_agreement


@dataclass(frozen=True)
class Consumer:
    """A product on a port, with its domain and team (or a domain seen reading it in lineage)."""

    product: str | None
    domain: str | None
    team: str | None
    how: str  # "inputPort" | "agreement" | "lineage"
    detail: str

    def to_dict(self) -> dict[str, Any]:
        """JSON shape (docs/gitops.md)."""
        return {
            "product": self.product,
            "domain": self.domain,
            "team": self.team,
            "how": self.how,
            "detail": self.detail,
        }

    def __str__(self) -> str:
        who = self.product or f"domain {self.domain}"
        team = f", team {self.team}" if self.team else ""
        return f"{who} ({self.how} {self.detail}{team})"


@dataclass(frozen=True)
class Port:
    """An output port: product, name, version, contract and major."""

    product: str
    name: str
    version: str
    contract_id: str | None

    @property
    def major(self) -> int | None:
        """The contract major the port publishes."""
        return major_of(self.version)

    def __str__(self) -> str:
        return f"{self.product}/{self.name}@{self.version}"


@dataclass
class Migration:
    """One deprecated port and the move of its consumers to its successor."""

    old: Port
    deprecation: Deprecation
    new: Port | None
    remaining: list[Consumer] = field(default_factory=list)
    moved: list[Consumer] = field(default_factory=list)

    def to_dict(self, today: date) -> dict[str, Any]:
        """JSON shape of `meshplane migrations --format json` and ``GET /api/v1/migrations``."""

        def port(p: Port | None) -> dict[str, Any] | None:
            return None if p is None else {"product": p.product, "port": p.name, "version": p.version}

        sunset = self.deprecation.sunset
        return {
            "contract": self.old.contract_id,
            "old": port(self.old),
            "new": port(self.new),
            "sunsetDate": sunset.isoformat() if sunset else None,
            "daysToSunset": self.deprecation.days_left(today),
            "moved": [c.to_dict() for c in self.moved],
            "remaining": [c.to_dict() for c in self.remaining],
        }


@dataclass
class _World:
    """What a migration is computed from: products (domain, team), ports, descriptors, agreements, readers."""

    products: dict[str, tuple[str, str | None]]
    outputs: list[Port]
    inputs: list[tuple[str, str, str, int | None]]  # product, port, contract, major
    documents: dict[str, Mapping[str, Any]]
    agreements: list[tuple[str, str, str, str]]  # consumer, provider, port, state
    readers: list[tuple[str, str, str, str]]  # reading domain, job, provider product, port
    deprecated: list[tuple[Port, Deprecation]] = field(default_factory=list)
    """The deprecated ports among `outputs` (each product's descriptor read once: `_deprecated`)."""


def _deprecated(outputs: Iterable[Port], documents: Mapping[str, Mapping[str, Any]]) -> list[tuple[Port, Deprecation]]:
    """Output ports their product's descriptor marks deprecated, with the deprecation."""
    per_product: dict[str, dict[tuple[str, str], Deprecation]] = {}
    out: list[tuple[Port, Deprecation]] = []
    for port in outputs:
        marked = per_product.get(port.product)
        if marked is None:
            marked = per_product[port.product] = port_deprecations(documents.get(port.product, {}))
        found = marked.get((port.name, port.version))
        if found is not None:
            out.append((port, found))
    return out


def _agreements(session: Session) -> list[tuple[str, str, str, str]]:
    rows = session.execute(
        sa.select(
            UsageAgreement.consumer_product_id,
            UsageAgreement.provider_product_id,
            UsageAgreement.port_name,
            UsageAgreement.state,
        ).where(UsageAgreement.state.in_([s.value for s in OPEN_STATES]))
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def _readers(session: Session, ports: Iterable[Port]) -> list[tuple[str, str, str, str]]:
    products = {p.product for p in ports}
    if not products:
        return []
    query = (
        sa.select(LineageRun.domain, LineageRun.job_name, RunDataset.product, RunDataset.port)
        .join(LineageRun, LineageRun.run_key == RunDataset.run_key)
        .where(RunDataset.role == "input", RunDataset.product.in_(products), RunDataset.port.is_not(None))
        .distinct()
    )
    return [(r[0] or "?", r[1], r[2] or "", r[3] or "") for r in session.execute(query)]


def _registered_world(session: Session, state: RegistryState) -> _World:
    base = _registered_ports(state)
    readers = _readers(session, [port for port, _ in base.deprecated])
    return dataclasses.replace(base, agreements=_agreements(session), readers=readers)


def _registered_ports(state: RegistryState) -> _World:
    """The part of the world a registry state gives (no agreements, no readers): cached per apply."""
    products: dict[str, tuple[str, str | None]] = {}
    outputs: list[Port] = []
    inputs: list[tuple[str, str, str, int | None]] = []
    documents: dict[str, Mapping[str, Any]] = {}
    for prod in state.products.values():
        if prod.retired:
            continue
        products[prod.id] = (prod.domain, prod.team_name)
        documents[prod.id] = prod.document
        outputs += [
            Port(prod.id, p.name, p.version, p.contract_id) for p in prod.output_ports.values() if not p.retired
        ]
        inputs += [
            (prod.id, p.name, p.contract_id, p.major)
            for p in prod.input_ports.values()
            if not p.retired and p.contract_id
        ]
    return _World(products, outputs, inputs, documents, [], [], _deprecated(outputs, documents))


def _ports_only(state: RegistryState) -> _World:
    """`_registered_ports` without the descriptors (their deprecations are read): what the cache keeps."""
    return dataclasses.replace(_registered_ports(state), documents={})


def _consumers(world: _World, port: Port, major: int | None) -> list[Consumer]:
    out: list[Consumer] = []
    for product, name, contract, wanted in world.inputs:
        if product != port.product and contract == port.contract_id and wanted == major:
            domain, team = world.products.get(product, (None, None))
            out.append(Consumer(product, domain, team, "inputPort", name))
    return out


def _migrations(world: _World) -> list[Migration]:
    found: list[Migration] = []
    for port, deprecation in world.deprecated:
        siblings = [
            p
            for p in world.outputs
            if p.product == port.product and p.contract_id == port.contract_id and p is not port
        ]
        named = [p for p in siblings if p.name == deprecation.replaced_by]
        newer = sorted(
            (p for p in siblings if (p.major or -1) > (port.major or -1)), key=lambda p: p.major or -1, reverse=True
        )
        new = (named or newer)[0] if named or newer else None
        migration = Migration(port, deprecation, new)
        migration.remaining = _consumers(world, port, port.major)
        declared = {c.product for c in migration.remaining}
        for consumer, provider, name, state in world.agreements:
            if provider == port.product and name == port.name and consumer not in declared:
                domain, team = world.products.get(consumer, (None, None))
                migration.remaining.append(Consumer(consumer, domain, team, "agreement", state))
        provider_domain = world.products.get(port.product, ("", None))[0]
        for domain, job, provider, name in world.readers:
            if provider == port.product and name == port.name and domain != provider_domain:
                migration.remaining.append(Consumer(None, domain, None, "lineage", job))
        if new is not None:
            migration.moved = _consumers(world, new, new.major)
        found.append(migration)
    return found


def _today(now: datetime | None) -> date:
    return (now or datetime.now(UTC)).date()


def list_migrations(
    registry: Registry, *, domain: str | None = None, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Every open migration (a deprecated, still active port), oldest sunset first."""
    today = _today(now)
    with registry.read() as session:
        # the registry's ports and descriptors change only on apply (an audit entry): read once per apply
        stamp = session.execute(sa.select(sa.func.max(m.AuditEntry.id))).scalar_one()
        base = registry.cache.get("migrations-ports", stamp, lambda: _ports_only(load_registry_state(session)))
        readers = _readers(session, [port for port, _ in base.deprecated])
        world = dataclasses.replace(base, agreements=_agreements(session), readers=readers)
    found = [
        mig
        for mig in _migrations(world)
        if domain is None or world.products.get(mig.old.product, ("", None))[0] == domain
    ]
    found.sort(key=lambda mig: (mig.deprecation.sunset or date.max, str(mig.old)))
    return [mig.to_dict(today) for mig in found]


def _desired_world(session: Session, desired: MeshState, current: RegistryState) -> _World:
    """The world once the apply is done: the repository's products, plus registered ones it keeps."""
    world = _registered_world(session, current)
    products = dict(world.products)
    documents = dict(world.documents)
    outputs = [p for p in world.outputs if p.product not in desired.products]
    inputs = [i for i in world.inputs if i[0] not in desired.products]
    for prod in desired.products.values():
        products[prod.id] = (prod.domain, prod.team.name if prod.team else None)
        documents[prod.id] = prod.document
        outputs += [Port(prod.id, p.name, p.version, p.contract_id) for p in prod.output_ports]
        inputs += [(prod.id, p.name, p.contract_id, p.major) for p in prod.input_ports if p.contract_id]
    return _World(
        products, outputs, inputs, documents, world.agreements, world.readers, _deprecated(outputs, documents)
    )


def plan_diagnostics(
    session: Session, desired: MeshState, current: RegistryState, changes: ChangeSet, *, now: datetime | None = None
) -> list[Diagnostic]:
    """Consumers still on deprecated ports (warnings), and removals of deprecated ports that are blocked."""
    today = _today(now)
    out: list[Diagnostic] = []
    world = _desired_world(session, desired, current)
    files = {p.id: p.file for p in desired.products.values()}
    for mig in _migrations(world):
        if not mig.remaining:
            continue
        left = mig.deprecation.days_left(today)
        when = f"sunset {mig.deprecation.sunset} ({left} day(s) left)" if left is not None else "no sunset date"
        target = f", moving to {mig.new}" if mig.new else ""
        out.append(
            Diagnostic(
                Severity.WARNING,
                "port-deprecated",
                f"output port {mig.old} is deprecated ({when}{target}); still on it: "
                + "; ".join(str(c) for c in mig.remaining),
                files.get(mig.old.product),
            )
        )
    registered = _registered_world(session, current)
    by_port = {(g.old.product, g.old.name, g.old.version): g for g in _migrations(registered)}
    for change in changes.entities:
        if change.kind is not Kind.OUTPUT_PORT or change.action is not Action.RETIRE:
            continue
        blocked = by_port.get((change.product or "", str(change.detail.get("name")), str(change.detail.get("version"))))
        if blocked is None:
            continue
        mig = blocked
        after = _consumers(world, mig.old, mig.old.major)
        blockers = after + [c for c in mig.remaining if c.how != "inputPort"]
        early = not mig.deprecation.is_past(today)
        if not early and not blockers:
            continue
        why = []
        if early:
            why.append(
                f"its sunset date {mig.deprecation.sunset} has not passed"
                if mig.deprecation.sunset
                else "it has no sunset date"
            )
        if blockers:
            why.append("still on it: " + "; ".join(str(c) for c in blockers))
        out.append(
            Diagnostic(
                Severity.ERROR,
                "port-removal-blocked",
                f"deprecated output port {mig.old} cannot be removed yet: " + "; ".join(why),
                files.get(mig.old.product),
                hint="keep the port until its sunset date and until every consumer has moved to the new major",
            )
        )
    return out


def migrate_agreement(
    registry: Registry,
    actor: Principal,
    *,
    consumer: str,
    provider: str,
    old_port: str,
    new_port: str,
    now: datetime | None = None,
) -> AgreementView:
    """Ask for the new major's port with the purpose (and end date) of the open agreement on the old port.

    An agreement covers a port, so a consumer moving to the new major's port needs one there; it is a
    plain request (`request_agreement`), approved at once when the provider set the new port to
    auto-approve, waiting for the provider's decision otherwise. The old agreement stays until the
    old port goes.
    """
    actor.require_writer()
    with registry.read() as session:
        domain = session.execute(sa.select(m.Product.domain_id).where(m.Product.id == consumer)).scalar_one_or_none()
    if domain is None:
        raise NotFound(f"consumer product '{consumer}' is not registered")
    actor.require_maintainer([str(domain)], f"move the usage agreements of product {consumer}")
    if new_port == old_port:
        raise MeshplaneError(f"the new port is the agreement's port {old_port}: name the new major's port")
    with registry.read() as session:
        row = session.execute(
            sa.select(UsageAgreement.purpose, UsageAgreement.end_date, UsageAgreement.state).where(
                UsageAgreement.consumer_product_id == consumer,
                UsageAgreement.provider_product_id == provider,
                UsageAgreement.port_name == old_port,
                UsageAgreement.state.in_([s.value for s in OPEN_STATES]),
            )
        ).first()
    if row is None:
        raise NotFound(f"{consumer} has no open usage agreement for {provider}/{old_port} to carry over")
    return request_agreement(
        registry, actor, consumer=consumer, provider=provider, port=new_port, purpose=row.purpose,
        end_date=row.end_date, now=now,
    )  # fmt: skip


__all__ = ["Consumer", "Migration", "Port", "list_migrations", "migrate_agreement", "plan_diagnostics"]
