"""Per-domain governance figures in a few aggregate queries (the cockpit's dashboard, docs/web.md).

`adherence` counts test runs per domain and day (passed or warning / all) and finds the contracts
whose latest run failed a freshness or latency check; `metadata_health` counts, per domain,
products without a purpose or an owner team, contract columns without a classification and the
age of the oldest descriptor. Metadata changes only on apply: it is kept in the registry's cache,
stamped with the newest audit entry (as the catalog's search index is).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from meshplane.registry import Registry
from meshplane.registry import models as m
from meshplane.service.testruns import PASSING

FRESHNESS_KINDS = ("sla.freshness", "sla.latency")


@dataclass
class DomainAdherence:
    """Test runs of a domain's contracts in a period: per day (passed, runs), and freshness breaches now."""

    days: dict[str, list[int]] = field(default_factory=dict)
    breaches: list[str] = field(default_factory=list)

    @property
    def runs(self) -> int:
        """Runs in the period."""
        return sum(total for _, total in self.days.values())

    @property
    def rate(self) -> float | None:
        """Passed (or warning) / runs; None without runs."""
        runs = self.runs
        return sum(passed for passed, _ in self.days.values()) / runs if runs else None


def adherence(registry: Registry, since: datetime) -> dict[str, DomainAdherence]:
    """Per domain: runs per day since the start of `since`'s day, and contracts whose latest run failed a
    freshness check (cached until the next recorded run or the next day)."""
    start = datetime.combine(since.date(), datetime.min.time(), tzinfo=UTC)
    with registry.read() as session:
        stamp = (session.execute(sa.select(sa.func.max(m.TestRun.id))).scalar_one(), _stamp(session))
    return registry.cache.get(("adherence", start), stamp, lambda: _adherence(registry, start))


def _stamp(session: Any) -> Any:
    return session.execute(sa.select(sa.func.max(m.AuditEntry.id))).scalar_one()


def _adherence(registry: Registry, since: datetime) -> dict[str, DomainAdherence]:
    run = m.TestRun
    day = sa.func.substr(sa.cast(run.started_at, sa.String), 1, 10)
    passed = sa.func.sum(sa.case((run.result.in_(PASSING), 1), else_=0))
    per_day = (
        sa.select(m.Contract.domain_id, day.label("day"), passed.label("passed"), sa.func.count().label("runs"))
        .join(m.Contract, m.Contract.id == run.contract_id)
        .where(run.started_at >= since)
        .group_by(m.Contract.domain_id, day)
    )
    newest = (
        sa.select(run.contract_id, sa.func.max(run.id).label("id"))
        .where(run.started_at >= since)
        .group_by(run.contract_id)
        .subquery()
    )
    breached = (
        sa.select(m.Contract.domain_id, newest.c.contract_id)
        .join(m.Contract, m.Contract.id == newest.c.contract_id)
        .join(m.CheckResult, m.CheckResult.test_run_id == newest.c.id)
        .where(m.CheckResult.kind.in_(FRESHNESS_KINDS), m.CheckResult.status.in_(("failed", "error")))
        .distinct()
    )
    out: dict[str, DomainAdherence] = defaultdict(DomainAdherence)
    with registry.read() as session:
        for row in session.execute(per_day):
            out[row.domain_id].days[str(row.day)] = [int(row.passed or 0), int(row.runs)]
        for row in session.execute(breached):
            out[row.domain_id].breaches.append(row.contract_id)
    return dict(out)


def latest_results(registry: Registry, contract_ids: Iterable[str]) -> dict[str, tuple[str, str]]:
    """Contract id → (result, started at ISO) of its latest test run, for the given contracts (one query)."""
    wanted = sorted(set(contract_ids))
    if not wanted:
        return {}
    run = m.TestRun
    ranked = (
        sa.select(
            run.contract_id,
            run.result,
            run.started_at,
            sa.func.row_number()
            .over(partition_by=run.contract_id, order_by=(run.started_at.desc(), run.id.desc()))
            .label("rank"),
        )
        .where(run.contract_id.in_(wanted))
        .subquery()
    )
    with registry.read() as session:
        rows = session.execute(sa.select(ranked).where(ranked.c.rank == 1))
        return {row.contract_id: (row.result, row.started_at.isoformat()) for row in rows}


def port_coverage(registry: Registry) -> dict[str, tuple[int, int]]:
    """Domain → (active output ports, those with a contract), in one query."""
    port = m.OutputPort
    query = (
        sa.select(m.Product.domain_id, sa.func.count(), sa.func.count(port.contract_id))
        .join(m.Product, m.Product.id == port.product_id)
        .where(port.retired_at.is_(None))
        .group_by(m.Product.domain_id)
    )
    with registry.read() as session:
        return {domain: (int(total), int(bound)) for domain, total, bound in session.execute(query)}


def output_ports_of(registry: Registry, product_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """Product → its active output ports (name, version, contract id), for the given products (one query)."""
    wanted = sorted(set(product_ids))
    out: dict[str, list[dict[str, Any]]] = {product: [] for product in wanted}
    if not wanted:
        return out
    port = m.OutputPort
    query = (
        sa.select(port.product_id, port.name, port.version, port.contract_id)
        .where(port.product_id.in_(wanted), port.retired_at.is_(None))
        .order_by(port.product_id, port.name, port.id)
    )
    with registry.read() as session:
        for row in session.execute(query):
            out[row.product_id].append({"name": row.name, "version": row.version, "contractId": row.contract_id})
    return out


@dataclass
class MetadataHealth:
    """What a domain's product metadata lacks."""

    no_purpose: list[str] = field(default_factory=list)
    no_owner: list[str] = field(default_factory=list)
    columns: int = 0
    unclassified: int = 0
    oldest_descriptor_days: int | None = None


def _properties(props: Any) -> Iterator[Mapping[str, Any]]:
    for prop in props if isinstance(props, list) else []:
        if isinstance(prop, Mapping):
            yield prop
            yield from _properties(prop.get("properties"))
            items = prop.get("items")
            if isinstance(items, Mapping):
                yield from _properties(items.get("properties"))


def _load_health(registry: Registry, now: datetime) -> dict[str, MetadataHealth]:
    out: dict[str, MetadataHealth] = defaultdict(MetadataHealth)
    with registry.read() as session:
        product, descriptor = m.Product, m.ProductDescriptor
        current = sa.and_(descriptor.product_id == product.id, descriptor.revision == product.revision)
        products = session.execute(
            sa.select(product.id, product.domain_id, product.team_id, product.updated_at, descriptor.document)
            .outerjoin(descriptor, current)
            .where(product.retired_at.is_(None))
        )
        for row in products:
            health = out[row.domain_id]
            description = (row.document or {}).get("description")
            if not (isinstance(description, Mapping) and description.get("purpose")):
                health.no_purpose.append(row.id)
            if row.team_id is None:
                health.no_owner.append(row.id)
            updated = row.updated_at if row.updated_at.tzinfo else row.updated_at.replace(tzinfo=UTC)
            age = (now - updated).days
            health.oldest_descriptor_days = max(age, health.oldest_descriptor_days or 0)
        documents = session.execute(
            sa.select(m.Contract.domain_id, m.ContractVersion.document)
            .join(
                m.ContractVersion,
                sa.and_(
                    m.ContractVersion.contract_id == m.Contract.id,
                    m.ContractVersion.version == m.Contract.latest_version,
                ),
            )
            .where(m.Contract.retired_at.is_(None))
        )
        for domain, document in documents:
            health = out[domain]
            for obj in (document or {}).get("schema") or []:
                if isinstance(obj, Mapping):
                    for prop in _properties(obj.get("properties")):
                        health.columns += 1
                        health.unclassified += 0 if prop.get("classification") else 1
    return dict(out)


def metadata_health(registry: Registry, now: datetime | None = None) -> dict[str, MetadataHealth]:
    """Per domain, what its product metadata lacks (cached until the next change of the registry)."""
    moment = now or datetime.now(UTC)
    with registry.read() as session:
        stamp = _stamp(session)
    return registry.cache.get(("metadata-health", moment.date()), stamp, lambda: _load_health(registry, moment))


__all__ = [
    "FRESHNESS_KINDS",
    "DomainAdherence",
    "MetadataHealth",
    "adherence",
    "latest_results",
    "metadata_health",
    "output_ports_of",
    "port_coverage",
]
