"""Impact use case: who is hit, downstream and across domains, when a contract changes.

`analyse_impact` joins a contract's (breaking) changes with the consumer graph. Whether a consumer
really reads a changed column is decided by a pluggable `ColumnUsageResolver`, called per consumer
and per changed (object, property). `impact_of` asks `column_usage_in` for the registry's column usage
from lineage (issue 7, `meshplane.service.lineage.column_usage_resolver`); without any, the default
`no_column_lineage` says every direct consumer is affected. Transitive consumers (depth > 1)
inherit the verdict of the direct consumer their path goes through: if it does not read the
changed columns, nothing downstream of it is hit through this path.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from meshplane.diagnostics import MeshplaneError
from meshplane.registry import Registry
from meshplane.registry import models as m
from meshplane.registry.graph import ConsumerGraph, DownstreamConsumer, cached_graph
from meshplane.registry.versions import major_of
from meshplane.service.migrations import list_migrations
from meshplane.spec.loader import load_contract
from meshplane.spec.odcs import Contract


class ChangeLike(Protocol):
    """What impact needs of a classified change (`meshplane.diff.Change`)."""

    @property
    def rule(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def object(self) -> str | None: ...
    @property
    def property(self) -> str | None: ...
    def to_dict(self) -> dict[str, Any]: ...


class DiffLike(Protocol):
    """What impact and plan need of a `meshplane.diff.ContractDiff`."""

    @property
    def from_version(self) -> str: ...
    @property
    def to_version(self) -> str: ...
    @property
    def level(self) -> str: ...
    @property
    def required_bump(self) -> str: ...
    @property
    def semver_ok(self) -> bool: ...
    def breaking_changes(self) -> Sequence[ChangeLike]: ...
    def to_dict(self) -> dict[str, Any]: ...


def diff_contract_versions(old: Contract, new: Contract) -> DiffLike:
    """Classify old → new from the consumer's perspective (`meshplane.diff`)."""
    from meshplane.diff import diff_contracts

    result: DiffLike = diff_contracts(old, new)
    return result


class ColumnUsage(enum.StrEnum):
    """Does a consumer use what changed?"""

    AFFECTED = "affected"
    UNKNOWN = "unknown"
    NOT_USING = "not-using"


_RANK = {ColumnUsage.AFFECTED: 0, ColumnUsage.UNKNOWN: 1, ColumnUsage.NOT_USING: 2}


@dataclass(frozen=True)
class ChangedColumn:
    """A changed (object, property) of a contract, with the rules that fired on it.

    ``property_name`` None means the whole object; ``object_name`` None the whole contract (e.g. an SLA).
    """

    object_name: str | None
    property_name: str | None
    rules: tuple[str, ...]
    messages: tuple[str, ...]

    @property
    def label(self) -> str:
        """``orders.customer_id``, ``orders`` or ``(contract)``."""
        if self.object_name is None:
            return "(contract)"
        return f"{self.object_name}.{self.property_name}" if self.property_name else self.object_name


@dataclass(frozen=True)
class UsageVerdict:
    """A resolver's answer for one consumer and one changed column."""

    usage: ColumnUsage
    reason: str


ColumnUsageResolver = Callable[[DownstreamConsumer, ChangedColumn], UsageVerdict]
"""Given a consumer and a changed column: affected, not-using or unknown (with a reason)."""


def no_column_lineage(consumer: DownstreamConsumer, column: ChangedColumn) -> UsageVerdict:
    """The default resolver: without column-level lineage every consumer counts as affected."""
    return UsageVerdict(ColumnUsage.AFFECTED, "affected (no column-level lineage yet)")


def column_usage_in(session: Session) -> ColumnUsageResolver:
    """The resolver for a registry: column usage recorded from lineage (issue 7) if any, else `no_column_lineage`."""
    from meshplane.service.lineage import column_usage_resolver

    return column_usage_resolver(session) or no_column_lineage


class ImpactedConsumer(NamedTuple):
    """A downstream consumer with the verdict on whether the change hits it."""

    consumer: DownstreamConsumer
    usage: ColumnUsage
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """JSON shape (docs/gitops.md)."""
        c = self.consumer
        return {
            "product": c.product,
            "domain": c.domain,
            "team": c.team,
            "depth": c.depth,
            "path": list(c.path),
            "contractId": c.contract_id,
            "major": c.major,
            "inputPort": c.input_port,
            "usage": self.usage.value,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class ColumnImpact:
    """The verdict of each direct consumer for one changed column."""

    column: ChangedColumn
    verdicts: tuple[tuple[str, UsageVerdict], ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {
            "object": self.column.object_name,
            "property": self.column.property_name,
            "rules": list(self.column.rules),
            "consumers": [{"product": p, "usage": v.usage.value, "reason": v.reason} for p, v in self.verdicts],
        }


@dataclass
class ImpactReport:
    """Everything downstream of one contract major version, with verdicts."""

    contract_id: str
    version: str | None
    major: int | None
    provider: str | None
    consumers: list[ImpactedConsumer] = field(default_factory=list)
    columns: list[ColumnImpact] = field(default_factory=list)
    diff: DiffLike | None = None
    migrations: list[dict[str, Any]] = field(default_factory=list)
    """Open migrations of the contract: deprecated ports and who is still on them (`service.migrations`)."""

    @property
    def affected(self) -> list[ImpactedConsumer]:
        """Consumers the change hits (or may hit)."""
        return [c for c in self.consumers if c.usage is not ColumnUsage.NOT_USING]

    def summary(self) -> dict[str, int]:
        """Counts for headlines."""
        return {
            "consumers": len(self.consumers),
            "affected": len(self.affected),
            "domains": len({c.consumer.domain for c in self.consumers}),
            "maxDepth": max((c.consumer.depth for c in self.consumers), default=0),
        }

    def to_dict(self) -> dict[str, Any]:
        """The `impact --format json` shape (docs/gitops.md)."""
        out: dict[str, Any] = {
            "contract": {"id": self.contract_id, "version": self.version, "major": self.major},
            "provider": self.provider,
            "summary": self.summary(),
            "consumers": [c.to_dict() for c in self.consumers],
            "columns": [c.to_dict() for c in self.columns],
        }
        if self.diff is not None:
            out["diff"] = self.diff.to_dict()
            out["breakingChanges"] = [c.to_dict() for c in self.diff.breaking_changes()]
        if self.migrations:
            out["migrations"] = self.migrations
        return out


def changed_columns(changes: Sequence[ChangeLike]) -> list[ChangedColumn]:
    """Group changes by (object, property), in first-seen order."""
    grouped: dict[tuple[str | None, str | None], list[ChangeLike]] = {}
    for change in changes:
        grouped.setdefault((change.object, change.property), []).append(change)
    return [
        ChangedColumn(obj, prop, tuple(dict.fromkeys(c.rule for c in items)), tuple(c.message for c in items))
        for (obj, prop), items in grouped.items()
    ]


def analyse_impact(
    graph: ConsumerGraph,
    contract_id: str,
    major: int | None,
    *,
    version: str | None = None,
    provider: str | None = None,
    changes: Sequence[ChangeLike] | None = None,
    resolver: ColumnUsageResolver = no_column_lineage,
) -> ImpactReport:
    """Consumers downstream of (contract, major), judged against `changes`.

    `changes` None means "any change" (every consumer is listed as affected); an empty sequence
    means there is nothing breaking, and no consumer is hit.
    """
    downstream = graph.downstream(contract_id, major, provider)
    report = ImpactReport(contract_id, version, major, provider)
    columns = changed_columns(changes or [])
    head_verdict: dict[str, UsageVerdict] = {}
    for consumer in downstream:
        if consumer.depth != 1:
            continue
        if changes is not None and not columns:
            head_verdict[consumer.product] = UsageVerdict(ColumnUsage.NOT_USING, "not hit: no breaking change")
            continue
        if not columns:
            head_verdict[consumer.product] = UsageVerdict(ColumnUsage.AFFECTED, "consumes this contract major version")
            continue
        verdicts = [resolver(consumer, column) for column in columns]
        head_verdict[consumer.product] = min(verdicts, key=lambda v: _RANK[v.usage])
    for column in columns:
        report.columns.append(
            ColumnImpact(column, tuple((c.product, resolver(c, column)) for c in downstream if c.depth == 1))
        )
    for consumer in downstream:
        if consumer.depth == 1:
            verdict = head_verdict[consumer.product]
            report.consumers.append(ImpactedConsumer(consumer, verdict.usage, verdict.reason))
            continue
        head = consumer.path[len(consumer.path) - consumer.depth]
        upstream = head_verdict.get(head, UsageVerdict(ColumnUsage.UNKNOWN, ""))
        reason = (
            f"does not read it: upstream {head} does not use the changed columns"
            if upstream.usage is ColumnUsage.NOT_USING
            else f"{upstream.usage.value} through {head}"
        )
        report.consumers.append(ImpactedConsumer(consumer, upstream.usage, reason))
    return report


def parse_contract_ref(ref: str) -> tuple[str, str | None]:
    """``id`` or ``id@version`` → (id, version or None)."""
    contract_id, sep, version = ref.strip().partition("@")
    if not contract_id or (sep and not version):
        raise MeshplaneError(f"'{ref}' is not a contract reference: use CONTRACT_ID or CONTRACT_ID@VERSION")
    return contract_id, version or None


def impact_of(
    registry: Registry,
    ref: str,
    *,
    against: Path | None = None,
    resolver: ColumnUsageResolver | None = None,
) -> ImpactReport:
    """The `meshplane impact` use case, read from the registry.

    With `against`, the registered version is diffed with that file and the report lists the
    breaking changes and, per changed column, the consumers hit. Without a `resolver`, the
    registry's column usage decides (`column_usage_in`).
    """
    contract_id, version = parse_contract_ref(ref)
    new_contract: Contract | None = None
    if against is not None:
        loaded = load_contract(against)
        if loaded.model is None or not loaded.ok:
            raise MeshplaneError(f"{against} is not a valid contract", loaded.diagnostics)
        new_contract = loaded.model
        if new_contract.id != contract_id:
            raise MeshplaneError(f"{against} is contract '{new_contract.id}', not '{contract_id}'")
    with registry.read() as session:
        row = session.get(m.Contract, contract_id)
        if row is None:
            raise MeshplaneError(f"contract '{contract_id}' is not registered (run `meshplane apply` first)")
        version = version or row.latest_version
        stored = session.execute(
            sa.select(m.ContractVersion.document).where(
                m.ContractVersion.contract_id == contract_id, m.ContractVersion.version == version
            )
        ).scalar_one_or_none()
        if stored is None:
            raise MeshplaneError(f"contract '{contract_id}' has no registered version {version}")
        graph = cached_graph(session, registry.cache)
        provider = row.product_id
        if resolver is None:
            resolver = column_usage_in(session)
    diff: DiffLike | None = None
    changes: Sequence[ChangeLike] | None = None
    if new_contract is not None:
        old_contract = Contract.from_document(stored)
        diff = diff_contract_versions(old_contract, new_contract)
        changes = diff.breaking_changes()
    report = analyse_impact(
        graph, contract_id, major_of(version), version=version, provider=provider, changes=changes, resolver=resolver
    )
    report.diff = diff
    report.migrations = [row for row in list_migrations(registry) if row["contract"] == contract_id]
    return report
