"""Lineage use cases: receive OpenLineage events, and turn them into inter-domain data movement governance.

**Receiving.** `receive_event` / `receive_batch` check events strictly
(`meshplane.lineage.check_event`: the validation of `parse_event`, without reading the datasets),
store each new event once (by fingerprint) with a row in the derivation queue, and answer.
Concurrent requests of one process are written together (group commit: one transaction carries
every request waiting for the write lock), so a stream of single events costs one commit per
group, not per event. What the events say (runs attributed to domains, datasets
resolved to output ports with their latest statistics and schema drift, column usage) is derived
in bulk by `meshplane.service.derivation`: in the background, and by every reader first.

**Movements** (`meshplane.service.movements`) aggregate the derived run datasets into flows between
products and domains, with agreements and governance flags, and the lineage graph.

**Impact.** `column_usage_resolver` answers `meshplane impact` per consumer and changed column from
column usage.
"""

from __future__ import annotations

import asyncio
import enum
import threading
import weakref
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from meshplane.lineage import InvalidEventError, LineageEvent, ReceivedEvent, check_batch, check_event
from meshplane.lineage.schemas import EventIssue
from meshplane.registry import Registry
from meshplane.registry import lineage as store
from meshplane.registry import lineage_queue as queue
from meshplane.registry import models as m
from meshplane.registry.access import Principal
from meshplane.service.derivation import (
    TYPE_FAMILIES,
    derive_pending,
    notify_deriver,
    schema_drift,
    type_family,
)

if TYPE_CHECKING:
    from meshplane.registry.graph import DownstreamConsumer
    from meshplane.service.impact import ChangedColumn, ColumnUsageResolver, UsageVerdict

MAX_BATCH = 10_000
"""Most events one batch request may carry."""


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
    principal.require_writer()
    event = check_event(body)
    status = ingest(registry, [event], actor=principal.actor, now=now)[0]
    return IngestResult(0, status, event.fingerprint, event.kind.value, warnings=event.warnings)


def receive_batch(
    registry: Registry, body: bytes | str | Sequence[Any], principal: Principal, *, now: datetime | None = None
) -> BatchOutcome:
    """Receive a JSON array of events: the valid ones are stored, each malformed one is reported.

    Raises `InvalidEventError` only when the body is not an array, or holds more than `MAX_BATCH`.
    """
    principal.require_writer()
    parsed = check_batch(body)
    if len(parsed) > MAX_BATCH:
        raise InvalidEventError([EventIssue("$", f"a batch holds at most {MAX_BATCH} events, got {len(parsed)}")])
    good = [p for p in parsed if not isinstance(p, InvalidEventError)]
    statuses = iter(ingest(registry, good, actor=principal.actor, now=now) if good else [])
    results = []
    for index, item in enumerate(parsed):
        if isinstance(item, InvalidEventError):
            reason = f"{item.path}: {item.reason}"
            results.append(IngestResult(index, IngestStatus.FAILED, reason=reason, errors=item.issues))
        else:
            status = next(statuses)
            results.append(IngestResult(index, status, item.fingerprint, item.kind.value, warnings=item.warnings))
    return BatchOutcome(tuple(results))


StorableEvent = LineageEvent | ReceivedEvent
"""An event to store: as the receiver checks it (`check_event`), or fully parsed (`parse_event`)."""


@dataclass
class _Job:
    events: Sequence[StorableEvent]
    actor: str
    now: datetime
    done: threading.Event = field(default_factory=threading.Event)
    result: list[IngestStatus] | None = None
    error: BaseException | None = None


class _GroupCommit:
    """One writer at a time per registry; whoever gets the lock writes every job waiting for it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pending: list[_Job] = []
        self.pending_lock = threading.Lock()

    def submit(self, registry: Registry, job: _Job) -> list[IngestStatus]:
        self.submit_all(registry, [job])
        if job.error is not None:
            raise job.error
        assert job.result is not None
        return job.result

    def submit_all(self, registry: Registry, jobs: Sequence[_Job]) -> None:
        """Write `jobs` (with whatever else waits); each job then holds its `result` or `error`."""
        with self.pending_lock:
            self.pending.extend(jobs)
        with self.lock:
            if not all(job.done.is_set() for job in jobs):
                with self.pending_lock:
                    waiting, self.pending = self.pending, []
                self._write(registry, waiting)

    @staticmethod
    def _write(registry: Registry, jobs: list[_Job]) -> None:
        try:
            statuses = _write_events(registry, [(e, j.actor, j.now) for j in jobs for e in j.events])
        except Exception as exc:
            if len(jobs) == 1:
                jobs[0].error = exc
                jobs[0].done.set()
                return
            for job in jobs:  # one job's bad data must not fail the others: write them one by one
                _GroupCommit._write(registry, [job])
            return
        start = 0
        for job in jobs:
            job.result = statuses[start : start + len(job.events)]
            start += len(job.events)
            job.done.set()


_committers: dict[str, _GroupCommit] = {}
_committers_lock = threading.Lock()


def _committer(registry: Registry) -> _GroupCommit:
    with _committers_lock:
        return _committers.setdefault(registry.url.url, _GroupCommit())


def ingest(
    registry: Registry, events: Sequence[StorableEvent], *, actor: str, now: datetime | None = None
) -> list[IngestStatus]:
    """Store parsed events and what they say (group-committed with concurrent callers); one status each."""
    return _committer(registry).submit(registry, _Job(events, actor, now or datetime.now(UTC)))


class _LoopCommit:
    """The group commit of requests on one event loop: they hand their parsed events over and wait;
    one worker-thread hop writes every event waiting (with the threads' jobs, under their lock)."""

    def __init__(self) -> None:
        self.waiting: list[tuple[_Job, asyncio.Future[list[IngestStatus]]]] = []
        self.writer: asyncio.Task[None] | None = None

    async def submit(self, registry: Registry, job: _Job) -> list[IngestStatus]:
        future: asyncio.Future[list[IngestStatus]] = asyncio.get_running_loop().create_future()
        self.waiting.append((job, future))
        if self.writer is None or self.writer.done():
            self.writer = asyncio.get_running_loop().create_task(self._drain(registry))
        return await future

    async def _drain(self, registry: Registry) -> None:
        while self.waiting:
            group, self.waiting = self.waiting, []
            jobs = [job for job, _ in group]
            try:
                await asyncio.to_thread(_committer(registry).submit_all, registry, jobs)
            except Exception as exc:  # the write machinery itself failed: every waiter hears it
                for _, future in group:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for job, future in group:
                if future.done():  # the request went away
                    continue
                if job.error is not None:
                    future.set_exception(job.error)
                else:
                    assert job.result is not None
                    future.set_result(job.result)


_loop_commits: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, weakref.WeakKeyDictionary[Registry, _LoopCommit]
] = weakref.WeakKeyDictionary()


async def receive_event_async(
    registry: Registry, body: bytes | str | Mapping[str, Any], principal: Principal, *, now: datetime | None = None
) -> IngestResult:
    """`receive_event` for a server's event loop: parsed on the loop (tens of microseconds), written
    by a group commit of the loop's concurrent requests — one worker-thread hop per group, not per event."""
    principal.require_writer()
    event = check_event(body)
    commits = _loop_commits.setdefault(asyncio.get_running_loop(), weakref.WeakKeyDictionary())
    commit = commits.get(registry)
    if commit is None:
        commit = commits[registry] = _LoopCommit()
    status = (await commit.submit(registry, _Job([event], principal.actor, now or datetime.now(UTC))))[0]
    return IngestResult(0, status, event.fingerprint, event.kind.value, warnings=event.warnings)


# --- storing -----------------------------------------------------------------------------------------


def _write_events(registry: Registry, items: Sequence[tuple[StorableEvent, str, datetime]]) -> list[IngestStatus]:
    """Store the new events and queue them for derivation, in one transaction; a status per item."""
    first: dict[str, store.EventRow] = {}
    for event, actor, now in items:
        if event.fingerprint not in first:
            first[event.fingerprint] = store.EventRow(
                event.fingerprint,
                event.kind.value,
                event.event_type.value if event.event_type else None,
                event.event_time,
                event.run_id,
                event.job_namespace,
                event.job_name,
                now,
                actor[:300],
                event.canonical_json,
            )
    with registry.write() as session:
        new = queue.insert_events(session, list(first.values()))
        queue.add_pending(session, sorted(new.values()))
    # a second copy in the same batch is a duplicate
    stored = [new.pop(event.fingerprint, None) is not None for event, _, _ in items]
    statuses = [IngestStatus.STORED if s else IngestStatus.DUPLICATE for s in stored]
    if any(stored):
        notify_deriver(registry)
    return statuses


def lineage_status(registry: Registry) -> dict[str, Any]:
    """Rows per lineage table, the derivation queue (waiting, failed), and the port index."""
    with registry.read() as session:
        counts = store.lineage_counts(session)
        waiting, failed = queue.pending_counts(session)
        failures = queue.failures(session)
        index = store.load_index(session)
    return {
        "counts": counts,
        "derivation": {
            "waiting": waiting,
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
    "TYPE_FAMILIES",
    "BatchOutcome",
    "IngestResult",
    "IngestStatus",
    "column_usage_resolver",
    "derive_pending",
    "ingest",
    "lineage_status",
    "receive_batch",
    "receive_event",
    "receive_event_async",
    "schema_drift",
    "type_family",
]
