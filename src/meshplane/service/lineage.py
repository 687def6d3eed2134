"""Lineage use cases: receive OpenLineage events, and turn them into inter-domain data movement governance.

**Receiving.** `receive_event` / `receive_batch` check events strictly
(`meshplane.lineage.check_event`: the validation of `parse_event`, without reading the datasets),
store each new event once (by fingerprint) with a row in the derivation queue, and answer.
Writes go through the registry's writer (`Registry.write` / `write_async`): on SQLite one writer
thread group-commits every request waiting, so a stream of single events costs one commit per
group, not per event. What the events say (runs attributed to domains, datasets resolved to
output ports with their latest statistics and schema drift, column usage) is derived afterwards
by the background worker's derivation job (`meshplane.service.derivation`); `lineage_status`
says how far it lags.

**Movements** (`meshplane.service.movements`) aggregate the derived run datasets into flows between
products and domains, with agreements and governance flags, and the lineage graph.

**Impact.** `column_usage_resolver` answers `meshplane impact` per consumer and changed column from
column usage.
"""

from __future__ import annotations

import asyncio
import enum
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from meshplane.access import Principal
from meshplane.lineage import InvalidEventError, LineageEvent, ReceivedEvent, check_batch, check_event
from meshplane.lineage.schemas import EventIssue
from meshplane.registry import Registry
from meshplane.registry import lineage as store
from meshplane.registry import lineage_queue as queue
from meshplane.registry import models as m
from meshplane.registry.worker import heartbeats
from meshplane.service.derivation import derive_pending, schema_drift
from meshplane.service.reindex import reindex_status

if TYPE_CHECKING:
    from meshplane.registry.graph import DownstreamConsumer
    from meshplane.service.impact import ChangedColumn, ColumnUsageResolver, UsageVerdict

MAX_BATCH = 10_000
"""Most events one batch request may carry."""
LOOP_PARSE_LIMIT = 64 * 1024
"""Bodies up to this size are checked on the event loop (tens of microseconds); larger ones in a thread."""


# --- receiving ------------------------------------------------------------------------------------


class IngestStatus(enum.StrEnum):
    """What became of one received event."""

    STORED = "stored"
    DUPLICATE = "duplicate"
    """Already stored (same fingerprint): not stored or counted again."""
    FAILED = "failed"


@dataclass(frozen=True)
class IngestResult:
    """The outcome of one event: its status, and for a failed one the reason and every issue."""

    index: int
    status: IngestStatus
    fingerprint: str | None = None
    kind: str | None = None
    reason: str | None = None
    errors: tuple[EventIssue, ...] = ()
    warnings: tuple[EventIssue, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON shape of one item of a receiver answer."""
        out: dict[str, Any] = {"index": self.index, "status": self.status.value}
        if self.fingerprint:
            out |= {"fingerprint": self.fingerprint, "kind": self.kind}
        if self.reason:
            out |= {"reason": self.reason, "errors": [_issue(i) for i in self.errors]}
        if self.warnings:
            out["warnings"] = [_issue(i) for i in self.warnings]
        return out


def _issue(issue: EventIssue) -> dict[str, str]:
    return {"field": issue.path, "reason": issue.reason}


@dataclass(frozen=True)
class BatchOutcome:
    """The outcome of a batch, item by item."""

    results: tuple[IngestResult, ...]

    def count(self, status: IngestStatus) -> int:
        """Items with this status."""
        return sum(1 for r in self.results if r.status is status)

    def to_dict(self) -> dict[str, Any]:
        """The OpenLineage batch answer (``status``, ``summary``, ``failed_events``) plus ``results``."""
        failed = [r for r in self.results if r.status is IngestStatus.FAILED]
        return {
            "status": "partial_success" if failed else "success",
            "summary": {
                "received": len(self.results),
                "successful": len(self.results) - len(failed),
                "failed": len(failed),
                "retriable": 0,
                "non_retriable": len(failed),
                "stored": self.count(IngestStatus.STORED),
                "duplicates": self.count(IngestStatus.DUPLICATE),
            },
            "failed_events": [{"index": r.index, "reason": r.reason, "retriable": False} for r in failed],
            "results": [r.to_dict() for r in self.results],
        }


def receive_event(
    registry: Registry, body: bytes | str | Mapping[str, Any], principal: Principal, *, now: datetime | None = None
) -> IngestResult:
    """Receive one event (`InvalidEventError` when it is malformed: nothing is stored)."""
    principal.require_lineage_sender()
    event = check_event(body)
    status = ingest(registry, [event], actor=principal, now=now)[0]
    return IngestResult(0, status, event.fingerprint, event.kind.value, warnings=event.warnings)


async def receive_event_async(
    registry: Registry, body: bytes | str | Mapping[str, Any], principal: Principal, *, now: datetime | None = None
) -> IngestResult:
    """`receive_event` for a server's event loop: checked on the loop (tens of microseconds), stored by
    the registry's writer with whatever else waits (one transaction per group, not per request)."""
    principal.require_lineage_sender()
    large = not isinstance(body, Mapping) and len(body) > LOOP_PARSE_LIMIT
    event = await asyncio.to_thread(check_event, body) if large else check_event(body)
    rows = _event_rows([event], principal, now)
    new = await registry.write_async(lambda session: _store(session, rows))
    status = _statuses([event], new)[0]
    return IngestResult(0, status, event.fingerprint, event.kind.value, warnings=event.warnings)


def _checked_batch(body: bytes | str | Sequence[Any]) -> list[ReceivedEvent | InvalidEventError]:
    parsed = check_batch(body)
    if len(parsed) > MAX_BATCH:
        raise InvalidEventError([EventIssue("$", f"a batch holds at most {MAX_BATCH} events, got {len(parsed)}")])
    return parsed


def _batch_outcome(parsed: Sequence[ReceivedEvent | InvalidEventError], statuses: list[IngestStatus]) -> BatchOutcome:
    results = []
    stored = iter(statuses)
    for index, item in enumerate(parsed):
        if isinstance(item, InvalidEventError):
            reason = f"{item.path}: {item.reason}"
            results.append(IngestResult(index, IngestStatus.FAILED, reason=reason, errors=item.issues))
        else:
            status = next(stored)
            results.append(IngestResult(index, status, item.fingerprint, item.kind.value, warnings=item.warnings))
    return BatchOutcome(tuple(results))


def receive_batch(
    registry: Registry, body: bytes | str | Sequence[Any], principal: Principal, *, now: datetime | None = None
) -> BatchOutcome:
    """Receive a JSON array of events: the valid ones are stored, each malformed one is reported.

    Raises `InvalidEventError` only when the body is not an array, or holds more than `MAX_BATCH`.
    """
    principal.require_lineage_sender()
    parsed = _checked_batch(body)
    good = [p for p in parsed if not isinstance(p, InvalidEventError)]
    return _batch_outcome(parsed, ingest(registry, good, actor=principal, now=now) if good else [])


async def receive_batch_async(
    registry: Registry, body: bytes | str | Sequence[Any], principal: Principal, *, now: datetime | None = None
) -> BatchOutcome:
    """`receive_batch` for an event loop: the batch is checked in a worker thread, stored by the writer."""
    principal.require_lineage_sender()
    parsed = await asyncio.to_thread(_checked_batch, body)
    good = [p for p in parsed if not isinstance(p, InvalidEventError)]
    statuses: list[IngestStatus] = []
    if good:
        rows = _event_rows(good, principal, now)
        new = await registry.write_async(lambda session: _store(session, rows))
        statuses = _statuses(good, new)
    return _batch_outcome(parsed, statuses)


StorableEvent = LineageEvent | ReceivedEvent
"""An event to store: as the receiver checks it (`check_event`), or fully parsed (`parse_event`)."""


def ingest(
    registry: Registry, events: Sequence[StorableEvent], *, actor: str | Principal, now: datetime | None = None
) -> list[IngestStatus]:
    """Store events not stored yet, each with a derivation queue row, in one write; a status each.

    `actor` is who sent them: a `Principal` (its role and a maintainer's domain are stored with each
    event and bind the attribution of its run, `meshplane.service.senders`), or a name alone (no binding).
    """
    rows = _event_rows(events, actor, now)
    new = registry.write(lambda session: _store(session, rows))
    return _statuses(events, new)


# --- storing -----------------------------------------------------------------------------------------


def _event_rows(events: Sequence[StorableEvent], actor: str | Principal, now: datetime | None) -> list[store.EventRow]:
    """One row per distinct fingerprint (a second copy in the same request is a duplicate)."""
    received = now or datetime.now(UTC)
    if isinstance(actor, Principal):
        name, role, domain = actor.actor, actor.role.value if actor.role else None, actor.lineage_domain
    else:
        name, role, domain = actor, None, None
    first: dict[str, store.EventRow] = {}
    for event in events:
        if event.fingerprint not in first:
            first[event.fingerprint] = store.EventRow(
                event.fingerprint,
                event.kind.value,
                event.event_type.value if event.event_type else None,
                event.event_time,
                event.run_id,
                event.job_namespace,
                event.job_name,
                received,
                name[:300],
                event.canonical_json,
                role,
                domain,
            )
    return sorted(first.values(), key=lambda row: row.fingerprint)  # one order: concurrent inserts never deadlock


def _store(session: Session, rows: Sequence[store.EventRow]) -> dict[str, int]:
    """Insert the new events and queue them for derivation (in the writer's transaction): fingerprint → id."""
    new = queue.insert_events(session, rows)
    queue.add_pending(session, sorted(new.values()))
    return new


def _statuses(events: Sequence[StorableEvent], new: Mapping[str, int]) -> list[IngestStatus]:
    fresh = set(new)
    out = []
    for event in events:
        if event.fingerprint in fresh:
            fresh.discard(event.fingerprint)  # a second copy in the same request is a duplicate
            out.append(IngestStatus.STORED)
        else:
            out.append(IngestStatus.DUPLICATE)
    return out


def lineage_status(registry: Registry) -> dict[str, Any]:
    """Rows per lineage table, the derivation queue, the port index, the workers, the last reindex."""
    now = datetime.now(UTC)
    with registry.read() as session:
        counts = store.lineage_counts(session)
        waiting, failed = queue.pending_counts(session)
        oldest = queue.oldest_waiting(session)
        failures = queue.failures(session)
        index = store.load_index(session)
        workers = heartbeats(session, now=now)
        reindexing = reindex_status(session)
    return {
        "counts": counts,
        "derivation": {
            "waiting": waiting,
            "oldestWaiting": oldest.isoformat() if oldest else None,
            "lagSeconds": round((now - oldest).total_seconds(), 3) if oldest else 0.0,
            "workersAlive": sum(1 for w in workers if w["alive"]),
            "failed": failed,
            "failures": [
                {"event": event_id, "at": at.isoformat() if at else None, "error": error}
                for event_id, at, error in failures
            ],
        },
        "index": {
            "version": index.version,
            "rows": len(index.rows),
            "jobNamespaces": dict(index.job_namespaces),
            "lakeRoots": list(index.lake_roots),
            "notes": list(index.notes),
        },
        "workers": workers,
        "reindex": reindexing,
    }


# --- column usage for impact ---------------------------------------------------------------------------


def column_usage_resolver(session: Session) -> ColumnUsageResolver | None:
    """A `meshplane.service.impact` resolver from recorded column usage; None when none was recorded.

    A direct consumer whose jobs' ``columnLineage`` names columns of the changed contract is
    *affected* when one of them is the changed column (or the whole object changed), and *not
    using* it otherwise; a consumer without column lineage on that contract stays *affected*.
    """
    from meshplane.service.impact import ColumnUsage, UsageVerdict

    rows = store.column_usage_rows(session)
    if not rows:
        return None
    used: dict[tuple[str, str], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for row in rows:
        used[(row.consumer_product, row.contract_id)][row.object.lower()].add(row.field.lower())
    names = _property_names(session, {r.contract_id for r in rows})

    def resolve(consumer: DownstreamConsumer, column: ChangedColumn) -> UsageVerdict:
        objects = used.get((consumer.product, consumer.contract_id))
        if not objects:
            return UsageVerdict(ColumnUsage.AFFECTED, "affected (no column-level lineage of this consumer)")
        if column.object_name is None:
            return UsageVerdict(ColumnUsage.AFFECTED, "affected (a change to the whole contract)")
        fields = objects.get(column.object_name.lower(), set())
        if column.property_name is None:
            if fields:
                return UsageVerdict(ColumnUsage.AFFECTED, f"reads {column.object_name} (column lineage)")
            return UsageVerdict(ColumnUsage.NOT_USING, f"reads no column of {column.object_name} (column lineage)")
        wanted = names.get((consumer.contract_id, column.object_name.lower(), column.property_name.lower()), set())
        wanted |= {column.property_name.lower()}
        hit = sorted(
            f for f in fields if f in wanted or any(f.startswith(w + ".") or w.startswith(f + ".") for w in wanted)
        )
        if hit:
            return UsageVerdict(ColumnUsage.AFFECTED, f"reads {column.label} (column lineage)")
        listed = ", ".join(sorted(fields)[:8]) or "none"
        return UsageVerdict(ColumnUsage.NOT_USING, f"does not read {column.label}; column lineage shows {listed}")

    return resolve


def _property_names(session: Session, contract_ids: Iterable[str]) -> dict[tuple[str, str, str], set[str]]:
    """(contract, object, property name) → the names a job may use for it (name and physical name, lower case)."""
    out: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    query = sa.select(m.ContractVersion.contract_id, m.ContractVersion.document).where(
        m.ContractVersion.contract_id.in_(sorted(set(contract_ids)))
    )
    for contract_id, document in session.execute(query):
        for obj in document.get("schema") or []:
            for prop in obj.get("properties") or []:
                spelled = {str(v).lower() for v in (prop.get("name"), prop.get("physicalName")) if v}
                for name in spelled:
                    for obj_name in {str(v).lower() for v in (obj.get("name"), obj.get("physicalName")) if v}:
                        out[(contract_id, obj_name, name)] |= spelled
    return out


__all__ = [
    "MAX_BATCH",
    "BatchOutcome",
    "IngestResult",
    "IngestStatus",
    "column_usage_resolver",
    "derive_pending",
    "ingest",
    "lineage_status",
    "receive_batch",
    "receive_batch_async",
    "receive_event",
    "receive_event_async",
    "schema_drift",
]
