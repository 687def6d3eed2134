"""Two views of a mesh that `plan` compares: what the repository declares, and what is registered.

`MeshState` is the desired state (built from the mesh files by `service.gitops`); `RegistryState`
is what the registry holds, loaded with a handful of queries (no per-entity round trips).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from meshplane.registry import models as m
from meshplane.registry.versions import major_of, parse_version

DRAFT = "draft"
"""The ODCS status of a contract version that is still being written: editable in place until it is published."""


@dataclass(frozen=True)
class MemberSpec:
    """A team member as declared."""

    username: str
    name: str | None = None
    role: str | None = None
    date_in: str | None = None
    date_out: str | None = None


@dataclass(frozen=True)
class TeamSpec:
    """A team as declared (domain or product team)."""

    name: str | None
    description: str | None = None
    members: tuple[MemberSpec, ...] = ()


@dataclass(frozen=True)
class DomainSpec:
    """A domain as declared in domain.yaml."""

    id: str
    document: Mapping[str, Any]
    sha256: str
    name: str | None = None
    description: str | None = None
    tags: tuple[str, ...] = ()
    team: TeamSpec | None = None
    file: str | None = None


@dataclass(frozen=True)
class PortSpec:
    """An output or input port; identified within its product by (name, version)."""

    name: str
    version: str
    contract_id: str | None
    type: str | None = None
    description: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        """(name, version): a product may publish two versions of a port side by side."""
        return (self.name, self.version)

    @property
    def major(self) -> int | None:
        """Major version the port is bound to (None when the version does not parse)."""
        return major_of(self.version)


@dataclass(frozen=True)
class ProductSpec:
    """A product as declared in its descriptor."""

    id: str
    domain: str
    document: Mapping[str, Any]
    sha256: str
    status: str
    name: str | None = None
    version: str | None = None
    tags: tuple[str, ...] = ()
    team: TeamSpec | None = None
    output_ports: tuple[PortSpec, ...] = ()
    input_ports: tuple[PortSpec, ...] = ()
    file: str | None = None


@dataclass(frozen=True)
class ContractVersionSpec:
    """One contract file: a contract id at one version."""

    contract_id: str
    version: str
    domain: str
    product_id: str | None
    document: Mapping[str, Any]
    sha256: str
    status: str
    name: str | None = None
    file: str | None = None


@dataclass
class MeshState:
    """The desired state: everything the mesh repository declares."""

    name: str
    domains: dict[str, DomainSpec] = field(default_factory=dict)
    products: dict[str, ProductSpec] = field(default_factory=dict)
    contract_versions: list[ContractVersionSpec] = field(default_factory=list)
    lake_base: str | None = None
    """Where the mesh's relative lake root resolves, when not below the mesh folder (`MeshRepository.lake_base`)."""

    def contract_ids(self) -> set[str]:
        """Ids of the contracts that have at least one file."""
        return {spec.contract_id for spec in self.contract_versions}


@dataclass(frozen=True)
class RegisteredPort:
    """A port row."""

    id: int
    name: str
    version: str
    contract_id: str | None
    type: str | None
    description: str | None
    retired: bool

    @property
    def key(self) -> tuple[str, str]:
        """(name, version)."""
        return (self.name, self.version)

    @property
    def major(self) -> int | None:
        """Major version of the port."""
        return major_of(self.version)

    def same_as(self, spec: PortSpec) -> bool:
        """True when the declared port matches this row (ignoring the lifecycle)."""
        return (self.contract_id, self.type, self.description) == (spec.contract_id, spec.type, spec.description)


@dataclass
class RegisteredProduct:
    """A product row with its ports and current descriptor."""

    id: str
    domain: str
    sha256: str
    revision: int
    team_id: int | None
    retired: bool
    team_name: str | None = None
    document: Mapping[str, Any] = field(default_factory=dict)
    output_ports: dict[tuple[str, str], RegisteredPort] = field(default_factory=dict)
    input_ports: dict[tuple[str, str], RegisteredPort] = field(default_factory=dict)


@dataclass(frozen=True)
class RegisteredDomain:
    """A domain row."""

    id: str
    sha256: str
    team_id: int | None
    retired: bool
    document: Mapping[str, Any]
    team_name: str | None = None


@dataclass
class RegisteredContract:
    """A contract row with the SHA-256 of each registered version."""

    id: str
    domain: str
    product_id: str | None
    name: str | None
    latest_version: str
    retired: bool
    versions: dict[str, str] = field(default_factory=dict)  # version -> sha256
    version_ids: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, str] = field(default_factory=dict)  # version -> ODCS status

    def is_draft(self, version: str) -> bool:
        """True when the registered `version` is an ODCS ``draft`` (editable, no semver obligations)."""
        return self.statuses.get(version) == DRAFT

    def base_version_for(self, version: str) -> str | None:
        """The highest registered non-draft version below `version` (what a new version is diffed against).

        Drafts carry no semver obligations: a version is compared with what was published, never
        with a draft on its way there.
        """
        target = parse_version(version)
        if target is None:
            return None
        below = [
            (parsed, v)
            for v in self.versions
            if (parsed := parse_version(v)) is not None and parsed < target and not self.is_draft(v)
        ]
        return max(below)[1] if below else None


@dataclass
class RegistryState:
    """Everything registered, keyed by id."""

    domains: dict[str, RegisteredDomain] = field(default_factory=dict)
    products: dict[str, RegisteredProduct] = field(default_factory=dict)
    contracts: dict[str, RegisteredContract] = field(default_factory=dict)


def load_registry_state(session: Session) -> RegistryState:
    """Read the registry's current state in seven queries (one per table)."""
    state = RegistryState()
    team_names = {r[0]: r[1] for r in session.execute(sa.select(m.Team.id, m.Team.name))}
    for row in session.execute(
        sa.select(m.Domain.id, m.Domain.sha256, m.Domain.team_id, m.Domain.retired_at, m.Domain.document).order_by(
            m.Domain.id
        )
    ):
        state.domains[row.id] = RegisteredDomain(
            row.id, row.sha256, row.team_id, row.retired_at is not None, row.document, team_names.get(row.team_id or -1)
        )
    descriptor = aliased(m.ProductDescriptor)
    query = sa.select(
        m.Product.id,
        m.Product.domain_id,
        m.Product.sha256,
        m.Product.revision,
        m.Product.team_id,
        m.Product.retired_at,
        descriptor.document,
    ).outerjoin(descriptor, sa.and_(descriptor.product_id == m.Product.id, descriptor.revision == m.Product.revision))
    for row in session.execute(query.order_by(m.Product.id)):
        state.products[row.id] = RegisteredProduct(
            row.id,
            row.domain_id,
            row.sha256,
            row.revision,
            row.team_id,
            row.retired_at is not None,
            team_names.get(row.team_id or -1),
            row.document or {},
        )
    # Ordered queries: a plan must come out the same twice (apply compares fingerprints).
    out_t, in_t = m.OutputPort.__table__, m.InputPort.__table__
    for row in session.execute(sa.select(out_t).order_by(out_t.c.product_id, out_t.c.name, out_t.c.version)):
        port = RegisteredPort(
            row.id, row.name, row.version, row.contract_id, row.type, row.description, row.retired_at is not None
        )
        state.products[row.product_id].output_ports[port.key] = port
    for row in session.execute(sa.select(in_t).order_by(in_t.c.product_id, in_t.c.name, in_t.c.version)):
        port = RegisteredPort(row.id, row.name, row.version, row.contract_id, None, None, row.retired_at is not None)
        state.products[row.product_id].input_ports[port.key] = port
    con_t = m.Contract.__table__
    for row in session.execute(sa.select(con_t).order_by(con_t.c.id)):
        state.contracts[row.id] = RegisteredContract(
            row.id, row.domain_id, row.product_id, row.name, row.latest_version, row.retired_at is not None
        )
    for ver in session.execute(
        sa.select(
            m.ContractVersion.id,
            m.ContractVersion.contract_id,
            m.ContractVersion.version,
            m.ContractVersion.sha256,
            m.ContractVersion.status,
        ).order_by(m.ContractVersion.id)
    ):
        contract = state.contracts[ver.contract_id]
        contract.versions[ver.version] = ver.sha256
        contract.version_ids[ver.version] = ver.id
        contract.statuses[ver.version] = ver.status
    return state


def load_contract_documents(session: Session, keys: set[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
    """The stored documents of some contract versions, keyed by (contract id, version), in one query."""
    if not keys:
        return {}
    ids = {contract_id for contract_id, _ in keys}
    rows = session.execute(
        sa.select(m.ContractVersion.contract_id, m.ContractVersion.version, m.ContractVersion.document).where(
            m.ContractVersion.contract_id.in_(ids)
        )
    )
    return {(r.contract_id, r.version): r.document for r in rows if (r.contract_id, r.version) in keys}
