"""The catalog: what the registry knows about domains, products, ports and contracts, and search.

Reads only. Lists are paged (`limit`/`offset`, with the `total`). Details are JSON-ready dicts in
the shapes of docs/api.md.

Search runs over a `CatalogIndex`: one entry per active product with its texts (id, name,
description purpose/usage/limitations), tags, domain, owners (usernames and names of the product
team, or of the domain team when the product has none) and the column names of the latest version
of each of its contracts. The index is built from the registry with a handful of queries and kept
per registry while the registry is unchanged: every apply (and every audited change) adds an
`audit_log` row, so one ``max(audit_log.id)`` query per search tells whether it is still current.
"""

from __future__ import annotations

import fnmatch
import functools
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pydantic
import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from meshplane.access import OPEN_STATES
from meshplane.diagnostics import MeshplaneError
from meshplane.errors import NotFound
from meshplane.registry import Registry
from meshplane.registry import models as m
from meshplane.registry.access import PortSetting, UsageAgreement
from meshplane.registry.versions import major_of, parse_version


@dataclass
class Page:
    """One page of a list and how many items match in all."""

    items: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _count(session: Session, query: sa.sql.expression.SelectBase) -> int:
    return int(session.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one())


def _members(session: Session, team_ids: Iterable[int | None]) -> dict[int, list[dict[str, Any]]]:
    ids = {t for t in team_ids if t is not None}
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if not ids:
        return out
    query = sa.select(m.TeamMember).where(m.TeamMember.team_id.in_(ids)).order_by(m.TeamMember.position)
    for mem in session.execute(query).scalars():
        out[mem.team_id].append({"username": mem.username, "name": mem.name, "role": mem.role})
    return out


def _team(session: Session, team_id: int | None) -> dict[str, Any] | None:
    """A team with its members, in one query."""
    if team_id is None:
        return None
    rows = session.execute(
        sa.select(
            m.Team.name, m.Team.description, m.TeamMember.username, m.TeamMember.name.label("member"), m.TeamMember.role
        )
        .outerjoin(m.TeamMember, m.TeamMember.team_id == m.Team.id)
        .where(m.Team.id == team_id)
        .order_by(m.TeamMember.position)
    ).all()
    if not rows:
        return None
    members = [{"username": r.username, "name": r.member, "role": r.role} for r in rows if r.username is not None]
    return {"name": rows[0].name, "description": rows[0].description, "members": members}


# --- domains ------------------------------------------------------------------------------------------


def list_domains(registry: Registry, *, include_retired: bool = False, limit: int = 50, offset: int = 0) -> Page:
    """Domains by id, with their team name and number of active products."""
    query = sa.select(m.Domain)
    if not include_retired:
        query = query.where(m.Domain.retired_at.is_(None))
    products = (
        sa.select(m.Product.domain_id, sa.func.count().label("n"))
        .where(m.Product.retired_at.is_(None))
        .group_by(m.Product.domain_id)
    )
    with registry.read() as session:
        total = _count(session, query)
        rows = session.execute(query.order_by(m.Domain.id).limit(limit).offset(offset)).scalars().all()
        counts = {r.domain_id: r.n for r in session.execute(products)}
        teams = {t.id: t.name for t in session.execute(sa.select(m.Team.id, m.Team.name))} if rows else {}
        items = [
            {
                "id": d.id,
                "name": d.name,
                "description": d.description,
                "tags": list(d.tags or []),
                "team": teams.get(d.team_id) if d.team_id is not None else None,
                "products": counts.get(d.id, 0),
                "retiredAt": _iso(d.retired_at),
            }
            for d in rows
        ]
        return Page(items, total)


def get_domain(registry: Registry, domain_id: str) -> dict[str, Any]:
    """A domain: its document, team with members, and products."""
    with registry.read() as session:
        row = session.get(m.Domain, domain_id)
        if row is None:
            raise NotFound(f"no domain '{domain_id}'")
        products = session.execute(
            sa.select(m.Product.id, m.Product.name, m.Product.status, m.Product.retired_at)
            .where(m.Product.domain_id == domain_id)
            .order_by(m.Product.id)
        ).all()
        return {
            "id": row.id,
            "name": row.name,
            "description": row.description,
            "tags": list(row.tags or []),
            "team": _team(session, row.team_id),
            "products": [
                {"id": p.id, "name": p.name, "status": p.status, "retiredAt": _iso(p.retired_at)} for p in products
            ],
            "document": row.document,
            "createdAt": _iso(row.created_at),
            "updatedAt": _iso(row.updated_at),
            "retiredAt": _iso(row.retired_at),
        }


# --- products and ports -------------------------------------------------------------------------------


def _port_dict(port: m.OutputPort | m.InputPort) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": port.name,
        "version": port.version,
        "contractId": port.contract_id,
        "retiredAt": _iso(port.retired_at),
    }
    if isinstance(port, m.OutputPort):
        out |= {"type": port.type, "description": port.description}
    return out


def _providers(session: Session, keys: set[tuple[str, int | None]]) -> dict[tuple[str, int | None], list[str]]:
    """Active products publishing each (contract id, major)."""
    out: dict[tuple[str, int | None], list[str]] = defaultdict(list)
    contracts = {c for c, _ in keys}
    if not contracts:
        return out
    rows = session.execute(
        sa.select(m.OutputPort.product_id, m.OutputPort.contract_id, m.OutputPort.major).where(
            m.OutputPort.contract_id.in_(contracts), m.OutputPort.retired_at.is_(None)
        )
    )
    for row in rows:
        key = (row.contract_id, row.major)
        if key in keys and row.product_id not in out[key]:
            out[key].append(row.product_id)
    return out


def get_product(registry: Registry, product_id: str) -> dict[str, Any]:
    """A product: descriptor, team, output ports (with auto-approve), input ports (with providers), contracts."""
    with registry.read() as session:
        found = session.execute(
            sa.select(m.Product, m.ProductDescriptor.document)
            .outerjoin(
                m.ProductDescriptor,
                sa.and_(
                    m.ProductDescriptor.product_id == m.Product.id, m.ProductDescriptor.revision == m.Product.revision
                ),
            )
            .where(m.Product.id == product_id)
        ).first()
        if found is None:
            raise NotFound(f"no product '{product_id}'")
        row, descriptor = found
        outputs = session.execute(
            sa.select(m.OutputPort).where(m.OutputPort.product_id == product_id).order_by(m.OutputPort.id)
        ).scalars()
        inputs = list(
            session.execute(
                sa.select(m.InputPort).where(m.InputPort.product_id == product_id).order_by(m.InputPort.id)
            ).scalars()
        )
        auto = {
            s.port_name: s.auto_approve
            for s in session.execute(sa.select(PortSetting).where(PortSetting.product_id == product_id)).scalars()
        }
        providers = _providers(session, {(p.contract_id, p.major) for p in inputs if p.retired_at is None})
        contracts = session.execute(
            sa.select(m.Contract.id, m.Contract.latest_version, m.Contract.retired_at)
            .where(m.Contract.product_id == product_id)
            .order_by(m.Contract.id)
        ).all()
        document = descriptor or {}
        return {
            "id": row.id,
            "domain": row.domain_id,
            "name": row.name,
            "status": row.status,
            "version": row.version,
            "tags": list(row.tags or []),
            "description": document.get("description"),
            "team": _team(session, row.team_id),
            "outputPorts": [_port_dict(p) | {"autoApprove": auto.get(p.name, False)} for p in outputs],
            "inputPorts": [_port_dict(p) | {"providers": providers.get((p.contract_id, p.major), [])} for p in inputs],
            "contracts": [
                {"id": c.id, "latestVersion": c.latest_version, "retiredAt": _iso(c.retired_at)} for c in contracts
            ],
            "revision": row.revision,
            "descriptor": document,
            "createdAt": _iso(row.created_at),
            "updatedAt": _iso(row.updated_at),
            "retiredAt": _iso(row.retired_at),
        }


def list_ports(
    registry: Registry,
    *,
    domain: str | None = None,
    product: str | None = None,
    contract: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page:
    """Active output ports, by product and name, with their contract and auto-approve setting."""
    query = (
        sa.select(m.OutputPort, m.Product.domain_id)
        .join(m.Product, m.Product.id == m.OutputPort.product_id)
        .where(m.OutputPort.retired_at.is_(None))
    )
    if domain:
        query = query.where(m.Product.domain_id == domain)
    if product:
        query = query.where(m.OutputPort.product_id == product)
    if contract:
        query = query.where(m.OutputPort.contract_id == contract)
    with registry.read() as session:
        total = _count(session, query)
        rows = session.execute(
            query.order_by(m.OutputPort.product_id, m.OutputPort.name, m.OutputPort.id).limit(limit).offset(offset)
        ).all()
        keys = {(r[0].product_id, r[0].name) for r in rows}
        auto = {
            (s.product_id, s.port_name): s.auto_approve
            for s in session.execute(
                sa.select(PortSetting).where(PortSetting.product_id.in_({k[0] for k in keys}))
            ).scalars()
        }
        items = [
            {"product": port.product_id, "domain": dom}
            | _port_dict(port)
            | {"autoApprove": auto.get((port.product_id, port.name), False)}
            for port, dom in rows
        ]
        return Page(items, total)


def get_port(registry: Registry, product_id: str, port: str) -> dict[str, Any]:
    """An output port by product and name: every version, consumers of its active versions, agreements."""
    with registry.read() as session:
        product = session.get(m.Product, product_id)
        if product is None:
            raise NotFound(f"no product '{product_id}'")
        versions = (
            session.execute(
                sa.select(m.OutputPort)
                .where(m.OutputPort.product_id == product_id, m.OutputPort.name == port)
                .order_by(m.OutputPort.id)
            )
            .scalars()
            .all()
        )
        if not versions:
            raise NotFound(f"product '{product_id}' has no output port '{port}'")
        active = {(v.contract_id, v.major) for v in versions if v.retired_at is None and v.contract_id}
        consumers: list[dict[str, Any]] = []
        for contract_id, major in sorted(active, key=lambda k: (k[0] or "", k[1] or 0)):
            rows = session.execute(
                sa.select(m.InputPort, m.Product.domain_id)
                .join(m.Product, m.Product.id == m.InputPort.product_id)
                .where(
                    m.InputPort.contract_id == contract_id,
                    m.InputPort.major == major,
                    m.InputPort.retired_at.is_(None),
                    m.InputPort.product_id != product_id,
                )
                .order_by(m.InputPort.product_id)
            ).all()
            consumers += [
                {
                    "product": inp.product_id,
                    "domain": dom,
                    "inputPort": inp.name,
                    "version": inp.version,
                    "contractId": contract_id,
                }
                for inp, dom in rows
            ]
        setting = session.get(PortSetting, (product_id, port))
        states = session.execute(
            sa.select(UsageAgreement.state, sa.func.count())
            .where(UsageAgreement.provider_product_id == product_id, UsageAgreement.port_name == port)
            .group_by(UsageAgreement.state)
        ).all()
        return {
            "product": product_id,
            "domain": product.domain_id,
            "name": port,
            "versions": [_port_dict(v) for v in versions],
            "autoApprove": bool(setting and setting.auto_approve),
            "consumers": consumers,
            "agreements": {str(state): int(n) for state, n in states},
            "openAgreements": sum(n for state, n in states if state in OPEN_STATES),
        }


# --- contracts ------------------------------------------------------------------------------------------


def list_contracts(
    registry: Registry,
    *,
    domain: str | None = None,
    product: str | None = None,
    include_retired: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> Page:
    """Contracts by id with their latest version."""
    query = sa.select(m.Contract)
    if not include_retired:
        query = query.where(m.Contract.retired_at.is_(None))
    if domain:
        query = query.where(m.Contract.domain_id == domain)
    if product:
        query = query.where(m.Contract.product_id == product)
    with registry.read() as session:
        total = _count(session, query)
        rows = session.execute(query.order_by(m.Contract.id).limit(limit).offset(offset)).scalars()
        items = [
            {
                "id": c.id,
                "name": c.name,
                "domain": c.domain_id,
                "product": c.product_id,
                "latestVersion": c.latest_version,
                "retiredAt": _iso(c.retired_at),
            }
            for c in rows
        ]
        return Page(items, total)


def _version_key(version: str) -> tuple[int, Any]:
    parsed = parse_version(version)
    return (1, parsed) if parsed is not None else (0, version)


def get_contract(registry: Registry, contract_id: str) -> dict[str, Any]:
    """A contract: its versions (oldest first), the ports publishing it and the input ports consuming it."""
    with registry.read() as session:
        row = session.get(m.Contract, contract_id)
        if row is None:
            raise NotFound(f"no contract '{contract_id}'")
        versions = session.execute(
            sa.select(
                m.ContractVersion.version,
                m.ContractVersion.status,
                m.ContractVersion.sha256,
                m.ContractVersion.applied_at,
                m.ContractVersion.applied_by,
            ).where(m.ContractVersion.contract_id == contract_id)
        ).all()
        ports = session.execute(
            sa.select(m.OutputPort.product_id, m.OutputPort.name, m.OutputPort.version).where(
                m.OutputPort.contract_id == contract_id, m.OutputPort.retired_at.is_(None)
            )
        ).all()
        consumers = session.execute(
            sa.select(m.InputPort.product_id, m.InputPort.name, m.InputPort.version).where(
                m.InputPort.contract_id == contract_id, m.InputPort.retired_at.is_(None)
            )
        ).all()
        return {
            "id": row.id,
            "name": row.name,
            "domain": row.domain_id,
            "product": row.product_id,
            "latestVersion": row.latest_version,
            "versions": [
                {
                    "version": v.version,
                    "status": v.status,
                    "sha256": v.sha256,
                    "appliedAt": _iso(v.applied_at),
                    "appliedBy": v.applied_by,
                }
                for v in sorted(versions, key=lambda v: _version_key(v.version))
            ],
            "outputPorts": [{"product": p.product_id, "name": p.name, "version": p.version} for p in ports],
            "consumers": [
                {"product": c.product_id, "inputPort": c.name, "version": c.version, "major": major_of(c.version)}
                for c in consumers
            ],
            "createdAt": _iso(row.created_at),
            "updatedAt": _iso(row.updated_at),
            "retiredAt": _iso(row.retired_at),
        }


def get_contract_version(registry: Registry, contract_id: str, version: str) -> dict[str, Any]:
    """One registered version of a contract, with its document."""
    with registry.read() as session:
        row = session.execute(
            sa.select(m.ContractVersion).where(
                m.ContractVersion.contract_id == contract_id, m.ContractVersion.version == version
            )
        ).scalar_one_or_none()
        if row is None:
            raise NotFound(f"contract '{contract_id}' has no registered version '{version}'")
        return {
            "id": contract_id,
            "version": row.version,
            "status": row.status,
            "sha256": row.sha256,
            "appliedAt": _iso(row.applied_at),
            "appliedBy": row.applied_by,
            "document": row.document,
        }


def diff_contract_versions(registry: Registry, contract_id: str, old: str, new: str) -> dict[str, Any]:
    """The classified diff between two registered versions (the `meshplane diff --format json` shape)."""
    from meshplane.diff import diff_contracts
    from meshplane.spec.odcs import Contract

    documents = {}
    for version in (old, new):
        documents[version] = get_contract_version(registry, contract_id, version)["document"]
    try:
        before = Contract.from_document(documents[old])
        after = Contract.from_document(documents[new])
    except pydantic.ValidationError as exc:  # pragma: no cover - stored versions were validated on apply
        raise MeshplaneError(
            f"a stored version of {contract_id} no longer loads: {exc.error_count()} error(s)"
        ) from exc
    result: dict[str, Any] = diff_contracts(before, after).to_dict()
    return result


# --- search -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A column (property) of a product's contract: ``object.property`` with nested names dotted."""

    contract: str
    object: str
    path: str
    classification: str | None = field(default=None, compare=False)  # a column is its contract, object and path

    def to_dict(self) -> dict[str, str]:
        """JSON shape."""
        return {"contract": self.contract, "object": self.object, "column": self.path}


@dataclass
class CatalogEntry:
    """What search knows about one active product."""

    id: str
    domain: str
    name: str | None
    status: str
    version: str | None
    tags: tuple[str, ...]
    texts: dict[str, str]  # field → text (id, name, purpose, usage, limitations)
    owners: tuple[str, ...]  # usernames, then names
    columns: tuple[Column, ...]
    folded: dict[str, str] = field(init=False, repr=False)
    """`texts` in lower case, and the lower-case tags, owners and column names (folded once, matched often)."""
    folded_tags: frozenset[str] = field(init=False, repr=False)
    folded_owners: tuple[str, ...] = field(init=False, repr=False)
    folded_columns: tuple[tuple[str, str], ...] = field(init=False, repr=False)
    classifications: tuple[str, ...] = field(init=False, repr=False)
    """The distinct classifications of the columns, lower case, sorted (the marketplace's facet)."""
    haystack: str = field(init=False, repr=False)
    """Every folded text in one string: a word absent from it matches no field (the quick rejection)."""

    def __post_init__(self) -> None:
        self.folded = {name: text.lower() for name, text in self.texts.items()}
        self.haystack = "\n".join(self.folded.values())
        self.folded_tags = frozenset(t.lower() for t in self.tags)
        self.folded_owners = tuple(o.lower() for o in self.owners)
        self.folded_columns = tuple((c.path.lower(), c.path.rsplit(".", 1)[-1].lower()) for c in self.columns)
        self.classifications = tuple(sorted({c.classification.lower() for c in self.columns if c.classification}))

    def summary(self) -> dict[str, Any]:
        """JSON shape of a product in lists and search results."""
        return {
            "id": self.id,
            "domain": self.domain,
            "name": self.name,
            "status": self.status,
            "version": self.version,
            "tags": list(self.tags),
            "purpose": self.texts.get("purpose"),
            "classifications": list(self.classifications),
        }


def _walk_properties(props: Any, prefix: str) -> Iterator[tuple[str, str | None]]:
    for prop in props if isinstance(props, list) else []:
        if not isinstance(prop, Mapping) or not isinstance(prop.get("name"), str):
            continue
        here = f"{prefix}{prop['name']}"
        classification = prop.get("classification")
        yield here, classification.strip() or None if isinstance(classification, str) else None
        yield from _walk_properties(prop.get("properties"), f"{here}.")
        items = prop.get("items")
        if isinstance(items, Mapping):
            yield from _walk_properties(items.get("properties"), f"{here}[].")


def contract_columns(contract_id: str, document: Mapping[str, Any]) -> list[Column]:
    """Every property of every schema object of a stored contract document."""
    out: list[Column] = []
    for obj in document.get("schema") or []:
        if isinstance(obj, Mapping) and isinstance(obj.get("name"), str):
            walked = _walk_properties(obj.get("properties"), "")
            out += [Column(contract_id, obj["name"], path, level) for path, level in walked]
    return out


@dataclass
class CatalogIndex:
    """Every active product as search sees it, in id order, and per domain."""

    entries: list[CatalogEntry] = field(default_factory=list)
    by_domain: dict[str, list[CatalogEntry]] = field(default_factory=dict)

    def candidates(self, domain: str | None) -> list[CatalogEntry]:
        """The entries a query on `domain` (None: every domain) has to look at."""
        return self.entries if not domain else self.by_domain.get(domain, [])

    @classmethod
    def load(cls, session: Session) -> CatalogIndex:
        """Build the index from the registry (five queries, whatever the number of products)."""
        descriptor = aliased(m.ProductDescriptor)
        products = session.execute(
            sa.select(m.Product, m.Domain.team_id.label("domain_team"), descriptor.document)
            .join(m.Domain, m.Domain.id == m.Product.domain_id)
            .outerjoin(
                descriptor, sa.and_(descriptor.product_id == m.Product.id, descriptor.revision == m.Product.revision)
            )
            .where(m.Product.retired_at.is_(None))
            .order_by(m.Product.id)
        ).all()
        members: dict[int, list[tuple[str, str | None]]] = defaultdict(list)
        for mem in session.execute(
            sa.select(m.TeamMember.team_id, m.TeamMember.username, m.TeamMember.name).order_by(m.TeamMember.position)
        ):
            members[mem.team_id].append((mem.username, mem.name))
        columns: dict[str, list[Column]] = defaultdict(list)
        latest = session.execute(
            sa.select(m.Contract.id, m.Contract.product_id, m.ContractVersion.document)
            .join(
                m.ContractVersion,
                sa.and_(
                    m.ContractVersion.contract_id == m.Contract.id,
                    m.ContractVersion.version == m.Contract.latest_version,
                ),
            )
            .where(m.Contract.retired_at.is_(None), m.Contract.product_id.is_not(None))
        )
        for contract_id, product_id, document in latest:
            columns[product_id] += contract_columns(contract_id, document or {})
        index = cls()
        for product, domain_team, document in products:
            description = (document or {}).get("description")
            texts = {"id": product.id, "name": product.name or ""}
            if isinstance(description, Mapping):
                texts |= {k: str(description[k]) for k in ("purpose", "usage", "limitations") if description.get(k)}
            team = members.get(product.team_id or -1) or members.get(domain_team or -1) or []
            owners = tuple(u for u, _ in team) + tuple(n for _, n in team if n)
            index.entries.append(
                CatalogEntry(
                    product.id,
                    product.domain_id,
                    product.name,
                    product.status,
                    product.version,
                    tuple(str(t) for t in product.tags or ()),
                    texts,
                    owners,
                    tuple(columns.get(product.id, ())),
                )
            )
        for entry in index.entries:
            index.by_domain.setdefault(entry.domain, []).append(entry)
        return index


@dataclass(frozen=True)
class ProductQuery:
    """What to search for; every given criterion must hold (AND)."""

    text: str | None = None
    tag: str | None = None
    domain: str | None = None
    owner: str | None = None
    column: str | None = None
    status: str | None = None
    classification: str | None = None
    """A column classification (``restricted``, ``pii``…; any case): products with a column so classified."""

    @functools.cached_property
    def _folded(self) -> tuple[str, str, str, list[str], str]:
        """Tag, owner, column pattern, text words and classification in lower case (folded once per query)."""
        return (
            (self.tag or "").lower(),
            (self.owner or "").lower(),
            (self.column or "").lower(),
            (self.text or "").lower().split(),
            (self.classification or "").lower(),
        )

    def match(self, entry: CatalogEntry) -> tuple[int, list[str], list[Column]] | None:
        """(score, fields that matched, matching columns), or None when the product does not match."""
        if self.domain and entry.domain != self.domain:
            return None
        if self.status and entry.status != self.status:
            return None
        tag, owner, pattern, words, level = self._folded
        if tag and tag not in entry.folded_tags:
            return None
        if level and level not in entry.classifications:
            return None
        if words and not all(word in entry.haystack for word in words):
            return None
        fields: list[str] = []
        score = 0
        if owner:
            if not any(owner in name for name in entry.folded_owners):
                return None
            fields.append("owner")
        found: list[Column] = []
        if pattern:
            found = [
                column
                for column, (path, name) in zip(entry.columns, entry.folded_columns, strict=True)
                if (fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(name, pattern))
                and (not level or (column.classification or "").lower() == level)
            ]
            if not found:
                return None
            fields.append("column")
        elif level:
            found = [c for c in entry.columns if (c.classification or "").lower() == level]
            fields.append("classification")
        if words:
            for word in words:
                hits = [name for name, text in entry.folded.items() if word in text]
                if not hits:
                    return None
                score += 3 if ("id" in hits or "name" in hits) else 1
                fields += [h for h in hits if h not in fields]
        return score, fields, found


def catalog_index(registry: Registry) -> CatalogIndex:
    """The search index of `registry`, rebuilt only when the registry changed since it was built (its cache)."""
    with registry.read() as session:
        stamp = session.execute(sa.select(sa.func.max(m.AuditEntry.id))).scalar_one()
        # same snapshot as the stamp on PostgreSQL; never older on SQLite
        return registry.cache.get("catalog-index", stamp, lambda: CatalogIndex.load(session))


def search_products(registry: Registry, query: ProductQuery, *, limit: int = 50, offset: int = 0) -> Page:
    """Active products matching `query`: best text matches first, then by id; each with what matched."""
    hits: list[tuple[int, str, CatalogEntry, list[str], list[Column]]] = []
    candidates = catalog_index(registry).candidates(query.domain)
    if query == ProductQuery(domain=query.domain):  # a plain listing: no entry needs matching
        return Page([e.summary() | {"matched": []} for e in candidates[offset : offset + limit]], len(candidates))
    for entry in candidates:
        found = query.match(entry)
        if found is not None:
            hits.append((found[0], entry.id, entry, found[1], found[2]))
    if query.text:  # the index is in id order: only text scores reorder it
        hits.sort(key=lambda h: (-h[0], h[1]))
    items = []
    for _, _, entry, fields, columns in hits[offset : offset + limit]:
        item = entry.summary() | {"matched": fields}
        if columns:
            item["columns"] = [c.to_dict() for c in columns[:20]]
        items.append(item)
    return Page(items, len(hits))


__all__ = [
    "CatalogEntry",
    "CatalogIndex",
    "Column",
    "Page",
    "ProductQuery",
    "catalog_index",
    "contract_columns",
    "diff_contract_versions",
    "get_contract",
    "get_contract_version",
    "get_domain",
    "get_port",
    "get_product",
    "list_contracts",
    "list_domains",
    "list_ports",
    "search_products",
]
