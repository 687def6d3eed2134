"""Compare the desired state with the registered one: the entity-level part of a plan.

Pure functions over `MeshState` and `RegistryState`; no database access. Contract diffs, semver
enforcement and impact are added on top by `service.gitops`.

Lifecycle rules:

* Ports belong to their product's descriptor: a port that disappears from a descriptor is retired
  by the next apply (no ``--prune`` needed, the product is still there and its descriptor is the
  truth).
* Domains, products and contracts that are no longer in the repository are retired only with
  ``--prune``; without it they are reported as `absent` and left alone.
* Retired entities that reappear are restored. Contract versions are never removed.
* A registered contract version is immutable unless its status is ``draft`` (ODCS): a draft is
  rewritten in place by the next apply, and has no semver obligations (no base version) until a
  version of it becomes ``active``.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from meshplane.registry.state import (
    DRAFT,
    ContractVersionSpec,
    MeshState,
    PortSpec,
    RegisteredPort,
    RegistryState,
)
from meshplane.registry.versions import major_of, parse_version


class Action(enum.StrEnum):
    """What an apply does to an entity."""

    CREATE = "create"
    UPDATE = "update"
    RETIRE = "retire"
    RESTORE = "restore"


class Kind(enum.StrEnum):
    """Entity kinds a plan talks about."""

    DOMAIN = "domain"
    PRODUCT = "product"
    OUTPUT_PORT = "outputPort"
    INPUT_PORT = "inputPort"
    CONTRACT = "contract"
    CONTRACT_VERSION = "contractVersion"
    MESH = "mesh"
    """mesh.yaml's settings (job namespaces, lake root): one change naming the fields."""


@dataclass(frozen=True)
class EntityChange:
    """One created / updated / retired / restored domain, product, port or contract."""

    kind: Kind
    action: Action
    id: str
    domain: str | None = None
    product: str | None = None
    fields: tuple[str, ...] = ()
    detail: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON shape (see docs/gitops.md)."""
        out: dict[str, Any] = {"kind": self.kind.value, "action": self.action.value, "id": self.id}
        if self.domain is not None:
            out["domain"] = self.domain
        if self.product is not None:
            out["product"] = self.product
        if self.fields:
            out["fields"] = list(self.fields)
        out.update(self.detail)
        return out


@dataclass(frozen=True)
class NewVersion:
    """A contract version to register, with the registered version it is compared to."""

    spec: ContractVersionSpec
    base_version: str | None
    revises_draft: bool = False
    """True when the version is registered as a draft and the apply rewrites it in place."""


@dataclass(frozen=True)
class VersionConflict:
    """A registered contract version whose file now has other content (versions are immutable)."""

    spec: ContractVersionSpec
    registered_sha256: str


@dataclass(frozen=True)
class ConsumerBreak:
    """A port or contract the apply would remove although other products still consume it."""

    kind: Kind
    id: str
    contract_id: str
    major: int | None
    consumers: tuple[tuple[str, str], ...]  # (product id, input port name)
    file: str | None = None


@dataclass
class ChangeSet:
    """Everything an apply would write, before contract diffs and impact are added."""

    entities: list[EntityChange] = field(default_factory=list)
    new_versions: list[NewVersion] = field(default_factory=list)
    conflicts: list[VersionConflict] = field(default_factory=list)
    duplicates: list[tuple[ContractVersionSpec, ContractVersionSpec]] = field(default_factory=list)
    invalid_versions: list[ContractVersionSpec] = field(default_factory=list)
    consumer_breaks: list[ConsumerBreak] = field(default_factory=list)
    absent: list[EntityChange] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """True when applying would write nothing."""
        return not self.entities and not self.new_versions


def port_id(product: str, name: str, version: str) -> str:
    """How a port is named in plans: ``product/port@version``."""
    return f"{product}/{name}@{version}"


def _changed_fields(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[str, ...]:
    keys = sorted(set(old) | set(new))
    return tuple(k for k in keys if old.get(k) != new.get(k))


def _port_changes(
    kind: Kind, product: str, domain: str, wanted: Iterable[PortSpec], have: Mapping[tuple[str, str], RegisteredPort]
) -> list[EntityChange]:
    out: list[EntityChange] = []
    seen: set[tuple[str, str]] = set()
    for spec in wanted:
        seen.add(spec.key)
        detail = {"name": spec.name, "version": spec.version, "contractId": spec.contract_id}
        row = have.get(spec.key)
        ident = port_id(product, spec.name, spec.version)
        if row is None:
            out.append(EntityChange(kind, Action.CREATE, ident, domain, product, detail=detail))
        elif row.retired:
            out.append(EntityChange(kind, Action.RESTORE, ident, domain, product, detail=detail))
        elif not row.same_as(spec):
            changed = [
                name
                for name, old, new in (
                    ("contractId", row.contract_id, spec.contract_id),
                    ("type", row.type, spec.type),
                    ("description", row.description, spec.description),
                )
                if old != new
            ]
            out.append(EntityChange(kind, Action.UPDATE, ident, domain, product, tuple(changed), detail))
    for key, row in have.items():
        if key not in seen and not row.retired:
            detail = {"name": row.name, "version": row.version, "contractId": row.contract_id}
            out.append(EntityChange(kind, Action.RETIRE, port_id(product, *key), domain, product, detail=detail))
    return out


def compare_states(desired: MeshState, current: RegistryState, *, prune: bool = False) -> ChangeSet:
    """The changes that make the registry match the repository (see the module docstring)."""
    changes = ChangeSet()
    entities = changes.entities

    for dom in desired.domains.values():
        reg = current.domains.get(dom.id)
        if reg is None:
            entities.append(EntityChange(Kind.DOMAIN, Action.CREATE, dom.id, dom.id))
        elif reg.retired:
            entities.append(EntityChange(Kind.DOMAIN, Action.RESTORE, dom.id, dom.id))
        elif reg.sha256 != dom.sha256:
            entities.append(
                EntityChange(
                    Kind.DOMAIN, Action.UPDATE, dom.id, dom.id, fields=_changed_fields(reg.document, dom.document)
                )
            )

    for prod in desired.products.values():
        reg_prod = current.products.get(prod.id)
        if reg_prod is None:
            entities.append(EntityChange(Kind.PRODUCT, Action.CREATE, prod.id, prod.domain))
        elif reg_prod.retired:
            entities.append(EntityChange(Kind.PRODUCT, Action.RESTORE, prod.id, prod.domain))
        elif reg_prod.sha256 != prod.sha256 or reg_prod.domain != prod.domain:
            fields = _changed_fields(reg_prod.document, prod.document)
            if reg_prod.domain != prod.domain and "domain" not in fields:
                fields = (*fields, "domain")
            entities.append(EntityChange(Kind.PRODUCT, Action.UPDATE, prod.id, prod.domain, fields=fields))
        have_out = reg_prod.output_ports if reg_prod else {}
        have_in = reg_prod.input_ports if reg_prod else {}
        entities += _port_changes(Kind.OUTPUT_PORT, prod.id, prod.domain, prod.output_ports, have_out)
        entities += _port_changes(Kind.INPUT_PORT, prod.id, prod.domain, prod.input_ports, have_in)

    _compare_contracts(desired, current, changes)
    _absent(desired, current, changes, prune)
    changes.consumer_breaks = consumer_breaks(desired, current, changes, prune=prune)
    return changes


def _compare_contracts(desired: MeshState, current: RegistryState, changes: ChangeSet) -> None:
    first_file: dict[str, ContractVersionSpec] = {}
    by_version: dict[tuple[str, str], ContractVersionSpec] = {}
    for spec in desired.contract_versions:
        first_file.setdefault(spec.contract_id, spec)
        if parse_version(spec.version) is None:
            changes.invalid_versions.append(spec)
            continue
        key = (spec.contract_id, spec.version)
        other = by_version.get(key)
        if other is not None:
            if other.sha256 != spec.sha256:
                changes.duplicates.append((other, spec))
            continue
        by_version[key] = spec

    for contract_id, spec in first_file.items():
        reg = current.contracts.get(contract_id)
        if reg is None:
            changes.entities.append(
                EntityChange(Kind.CONTRACT, Action.CREATE, contract_id, spec.domain, spec.product_id)
            )
        elif reg.retired:
            changes.entities.append(
                EntityChange(Kind.CONTRACT, Action.RESTORE, contract_id, spec.domain, spec.product_id)
            )
        else:
            fields = tuple(
                name
                for name, old, new in (
                    ("domain", reg.domain, spec.domain),
                    ("product", reg.product_id, spec.product_id),
                    ("name", reg.name, spec.name),
                )
                if old != new
            )
            if fields:
                changes.entities.append(
                    EntityChange(Kind.CONTRACT, Action.UPDATE, contract_id, spec.domain, spec.product_id, fields)
                )

    for (contract_id, version), spec in sorted(by_version.items()):
        reg = current.contracts.get(contract_id)
        registered_sha = reg.versions.get(version) if reg else None
        # A draft is compared with nothing: it has no semver obligations until it is published.
        base = reg.base_version_for(version) if reg and spec.status != DRAFT else None
        if registered_sha is None:
            changes.new_versions.append(NewVersion(spec, base))
        elif registered_sha == spec.sha256:
            continue
        elif reg is not None and reg.is_draft(version):
            changes.new_versions.append(NewVersion(spec, base, revises_draft=True))
        else:
            changes.conflicts.append(VersionConflict(spec, registered_sha))


def _absent(desired: MeshState, current: RegistryState, changes: ChangeSet, prune: bool) -> None:
    gone: list[EntityChange] = []
    for dom in current.domains.values():
        if not dom.retired and dom.id not in desired.domains:
            gone.append(EntityChange(Kind.DOMAIN, Action.RETIRE, dom.id, dom.id))
    for prod in current.products.values():
        if prod.retired or prod.id in desired.products:
            continue
        gone.append(EntityChange(Kind.PRODUCT, Action.RETIRE, prod.id, prod.domain))
        for kind, ports in ((Kind.OUTPUT_PORT, prod.output_ports), (Kind.INPUT_PORT, prod.input_ports)):
            for key, port in ports.items():
                if not port.retired:
                    detail = {"name": port.name, "version": port.version, "contractId": port.contract_id}
                    gone.append(
                        EntityChange(kind, Action.RETIRE, port_id(prod.id, *key), prod.domain, prod.id, detail=detail)
                    )
    wanted_contracts = desired.contract_ids()
    for con in current.contracts.values():
        if not con.retired and con.id not in wanted_contracts:
            gone.append(EntityChange(Kind.CONTRACT, Action.RETIRE, con.id, con.domain, con.product_id))
    if prune:
        changes.entities += gone
    else:
        changes.absent = [c for c in gone if c.kind in (Kind.DOMAIN, Kind.PRODUCT, Kind.CONTRACT)]


@dataclass
class PortTable:
    """Active ports after an apply, as plain tuples (the input of the consumer graph)."""

    products: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # id -> (domain, team name)
    outputs: list[tuple[str, str, str | None, int | None]] = field(
        default_factory=list
    )  # product, port, contract, major
    inputs: list[tuple[str, str, str, int | None]] = field(default_factory=list)  # product, port, contract, major


def ports_after(desired: MeshState, current: RegistryState, *, prune: bool) -> PortTable:
    """The ports that are active once the apply is done: the repository's, plus what is kept unpruned."""
    table = PortTable()
    for prod in desired.products.values():
        table.products[prod.id] = (prod.domain, prod.team.name if prod.team else None)
        table.outputs += [(prod.id, p.name, p.contract_id, p.major) for p in prod.output_ports]
        table.inputs += [(prod.id, p.name, p.contract_id, p.major) for p in prod.input_ports if p.contract_id]
    if not prune:
        for reg in current.products.values():
            if reg.retired or reg.id in desired.products:
                continue
            table.products[reg.id] = (reg.domain, reg.team_name)
            table.outputs += [
                (reg.id, p.name, p.contract_id, p.major) for p in reg.output_ports.values() if not p.retired
            ]
            table.inputs += [
                (reg.id, p.name, p.contract_id, p.major)
                for p in reg.input_ports.values()
                if not p.retired and p.contract_id
            ]
    return table


def consumer_breaks(
    desired: MeshState, current: RegistryState, changes: ChangeSet, *, prune: bool
) -> list[ConsumerBreak]:
    """Retired ports and contracts that products remaining after the apply still consume.

    A consumer is an input port on the same contract id and major version, in another product.
    Removing a port is fine while another active port still serves that contract major version.
    """
    after = ports_after(desired, current, prune=prune)
    served = {(contract, major) for _, _, contract, major in after.outputs if contract}
    consumers: dict[tuple[str, int | None], list[tuple[str, str]]] = defaultdict(list)
    by_contract: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for product, port, contract, major in after.inputs:
        consumers[(contract, major)].append((product, port))
        by_contract[contract].append((product, port))
    files = {p.id: p.file for p in desired.products.values()}
    out: list[ConsumerBreak] = []
    for change in changes.entities:
        if change.action is not Action.RETIRE:
            continue
        if change.kind is Kind.OUTPUT_PORT:
            port_contract: str | None = change.detail.get("contractId")
            major = major_of(str(change.detail.get("version")))
            if not port_contract or (port_contract, major) in served:
                continue
            hit = tuple(c for c in consumers.get((port_contract, major), []) if c[0] != change.product)
            if hit:
                out.append(
                    ConsumerBreak(
                        Kind.OUTPUT_PORT, change.id, port_contract, major, hit, files.get(change.product or "")
                    )
                )
        elif change.kind is Kind.CONTRACT:
            hit = tuple(c for c in by_contract.get(change.id, []) if c[0] != change.product)
            if hit:
                out.append(ConsumerBreak(Kind.CONTRACT, change.id, change.id, None, hit))
    return out
