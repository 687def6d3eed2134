"""Lineage use cases: receive OpenLineage events, and turn them into inter-domain data movement governance.

**Receiving.** `receive_event` / `receive_batch` parse events strictly (`meshplane.lineage.parse_event`,
never partial mode), store each new event once (by fingerprint) and derive, in the same transaction:
the run (attributed to a domain by `attribute_job`), its datasets resolved to output ports through
the index built at apply time, their latest statistics and schema (with its drift from the port's
contract), and column usage from ``columnLineage``. Concurrent requests of one process are written
together (group commit: one transaction carries every request waiting for the write lock), so a
stream of single events costs one commit per group, not per event.

**Movements.** A *flow* is data moving between products and domains, aggregated from run datasets:
a read of a product's output port by another product's (or domain's) job, a write into a product's
port by another domain's job, and reads or writes of lake data that belongs to no product. Per flow:
runs, rows and bytes (the latest figures of each run and dataset, summed over runs), last seen,
the usage agreement's state, whether the consumer declared an input port, and governance flags
(`FLAG_RULES`). `movements` aggregates them (also per day), `domain_matrix` per domain pair.

**Graph and impact.** `lineage_graph` walks product-level edges upstream and downstream;
`column_usage_resolver` answers `meshplane impact` per consumer and changed column from column usage.
"""

from __future__ import annotations

import enum
import threading
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from meshplane.lineage import (
    DatasetIdentity,
    DatasetRole,
    EventKind,
    InvalidEventError,
    LineageEvent,
    PortIndex,
    PortMatch,
    attribute_job,
    parse_batch,
    parse_event,
)
from meshplane.lineage.schemas import EventIssue
from meshplane.registry import Registry
from meshplane.registry import lineage as store
from meshplane.registry import models as m
from meshplane.registry.access import Principal

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
    event = parse_event(body)
    status = ingest(registry, [event], actor=principal.actor, now=now)[0]
    return IngestResult(0, status, event.fingerprint, event.kind.value, warnings=event.warnings)


def receive_batch(
    registry: Registry, body: bytes | str | Sequence[Any], principal: Principal, *, now: datetime | None = None
) -> BatchOutcome:
    """Receive a JSON array of events: the valid ones are stored, each malformed one is reported.

    Raises `InvalidEventError` only when the body is not an array, or holds more than `MAX_BATCH`.
    """
    principal.require_writer()
    parsed = parse_batch(body)
    if len(parsed) > MAX_BATCH:
        raise InvalidEventError([EventIssue("$", f"a batch holds at most {MAX_BATCH} events, got {len(parsed)}")])
    good = [p for p in parsed if isinstance(p, LineageEvent)]
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


@dataclass
class _Job:
    events: Sequence[LineageEvent]
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
        with self.pending_lock:
            self.pending.append(job)
        with self.lock:
            if not job.done.is_set():
                with self.pending_lock:
                    jobs, self.pending = self.pending, []
                self._write(registry, jobs)
        if job.error is not None:
            raise job.error
        assert job.result is not None
        return job.result

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


def ingest(
    registry: Registry, events: Sequence[LineageEvent], *, actor: str, now: datetime | None = None
) -> list[IngestStatus]:
    """Store parsed events and what they say (group-committed with concurrent callers); one status each."""
    with _committers_lock:
        committer = _committers.setdefault(registry.url.url, _GroupCommit())
    return committer.submit(registry, _Job(events, actor, now or datetime.now(UTC)))


# --- what an event says ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _IndexContext:
    version: int | None
    index: PortIndex
    job_namespaces: Mapping[str, str]
    owners: Mapping[str, str]
    lake: tuple[DatasetIdentity, ...]

    def in_lake(self, identity: DatasetIdentity) -> bool:
        return any(
            identity.namespace == root.namespace and (identity.name + "/").startswith(root.name.rstrip("/") + "/")
            for root in self.lake
        )


_contexts: dict[str, _IndexContext] = {}
_shapes: dict[tuple[str, str, str], dict[str, dict[str, str | None]] | None] = {}
_cache_lock = threading.Lock()


def _index_context(session: Session, key: str) -> _IndexContext:
    version = store.index_version(session)
    with _cache_lock:
        cached = _contexts.get(key)
    if cached is not None and cached.version == version:
        return cached
    stored = store.load_index(session)
    lake = tuple(DatasetIdentity.parse(root) for root in stored.lake_roots)
    context = _IndexContext(
        stored.version, PortIndex.from_rows(stored.rows), stored.job_namespaces, stored.owners, lake
    )
    with _cache_lock:
        _contexts[key] = context
    return context


def _contract_shape(
    session: Session, key: str, contract_id: str, version: str
) -> dict[str, dict[str, str | None]] | None:
    """object name (lower) → {column (lower) → logical type}; cached for good once found (versions are immutable)."""
    cache_key = (key, contract_id, version)
    with _cache_lock:
        if cache_key in _shapes:
            return _shapes[cache_key]
    document = session.execute(
        sa.select(m.ContractVersion.document).where(
            m.ContractVersion.contract_id == contract_id, m.ContractVersion.version == version
        )
    ).scalar_one_or_none()
    shape = None
    if document is not None:
        shape = {
            str(obj.get("physicalName") or obj.get("name") or "").lower(): _columns(obj)
            for obj in document.get("schema") or []
        }
        shape |= {str(obj.get("name") or "").lower(): _columns(obj) for obj in document.get("schema") or []}
        with _cache_lock:
            _shapes[cache_key] = shape
    return shape


def _columns(obj: Mapping[str, Any]) -> dict[str, str | None]:
    return {
        str(p.get("physicalName") or p.get("name") or "").lower(): p.get("logicalType")
        for p in obj.get("properties") or []
    }


TYPE_FAMILIES: dict[str, tuple[str, ...]] = {
    "integer": ("int", "integer", "bigint", "smallint", "tinyint", "long", "short", "int8", "int16", "int32", "int64",
                "uint8", "uint16", "uint32", "uint64", "hugeint", "serial", "bigserial"),
    "number": ("decimal", "numeric", "double", "float", "real", "float4", "float8", "number", "money", "bignumeric"),
    "string": ("varchar", "string", "text", "char", "character", "nvarchar", "nchar", "utf8", "large_string", "uuid",
               "enum", "clob", "character varying"),
    "boolean": ("bool", "boolean", "bit"),
    "date": ("date", "date32", "date64"),
    "timestamp": ("timestamp", "datetime", "timestamptz", "timestamp_ntz", "timestamp_ltz", "timestamp with time zone",
                  "timestamp without time zone"),
    "time": ("time", "timetz", "time64"),
    "object": ("struct", "record", "map", "object", "json", "jsonb", "variant", "row"),
    "array": ("array", "list", "repeated"),
}  # fmt: skip
"""Physical type names (the start of a ``schema`` facet's ``type``, lower case) per ODCS logical type."""

_COMPATIBLE = {"number": {"number", "integer"}, "date": {"date", "timestamp"}, "timestamp": {"timestamp", "date"}}


def type_family(physical: str | None) -> str | None:
    """The logical type of a physical type name (``VARCHAR(20)`` → string), None when unknown."""
    if not physical:
        return None
    text = physical.strip().lower()
    base = text.split("(", 1)[0].split("<", 1)[0].strip()
    for family, names in TYPE_FAMILIES.items():
        if base in names:
            return family
    return None


def schema_drift(fields: Sequence[tuple[str, str | None]], columns: Mapping[str, str | None]) -> list[dict[str, str]]:
    """How a ``schema`` facet's top-level fields differ from a contract object's columns.

    ``missing``: in the contract, not in the data; ``extra``: in the data, not in the contract;
    ``type``: both known, and the data's type is not one the contract's logical type allows.
    """
    facet = {name.lower(): kind for name, kind in fields}
    drift = [
        {"kind": "missing", "column": c, "detail": "in the contract, not in the data"}
        for c in columns
        if c not in facet
    ]
    drift += [
        {"kind": "extra", "column": c, "detail": "in the data, not in the contract"} for c in facet if c not in columns
    ]
    for column, logical in columns.items():
        family = type_family(facet.get(column)) if column in facet else None
        if logical and family and family not in _COMPATIBLE.get(logical, {logical}):
            drift.append({"kind": "type", "column": column, "detail": f"contract {logical}, data {facet[column]}"})
    return drift


def _resolution(match: PortMatch | None) -> store.Resolution:
    if match is None:
        return store.Resolution()
    r = match.row
    return store.Resolution(r.domain, r.product, r.port, r.contract_id, r.contract_version, r.object, match.how.value)


def _run_key(event: LineageEvent) -> str:
    if event.kind is EventKind.RUN:
        return str(event.run_id)
    if event.kind is EventKind.JOB:
        return store.run_key_of_job(event.job_namespace or "", event.job_name or "")
    return store.STATIC_RUN_KEY


class _Batch:
    """Everything one ingest transaction derives from its new events."""

    def __init__(self, session: Session, key: str, context: _IndexContext) -> None:
        self.session, self.key, self.ctx = session, key, context
        self.runs: dict[str, store.RunState] = {}
        self.stored_runs: set[str] = set()
        self.datasets: dict[tuple[str, str, str], store.DatasetState] = {}
        self.touched_runs: set[str] = set()
        self.touched_sets: set[tuple[str, str, str]] = set()
        self.usage: list[store.UsageObservation] = []
        self.shas: dict[DatasetIdentity, str] = {}
        self.drifts: dict[tuple[Any, ...], list[dict[str, str]] | None] = {}

    def load(self, events: Sequence[LineageEvent]) -> None:
        run_keys = {_run_key(e) for e in events if e.kind is not EventKind.DATASET}
        parents = {e.parent.run_id for e in events if e.parent is not None and e.parent.run_id}
        self.runs = store.load_runs(self.session, run_keys | parents)
        self.stored_runs = set(self.runs)
        keys = {(_run_key(e), d.role.value, self.sha(d.identity)) for e in events for d in e.datasets}
        # A run not stored yet has no stored datasets; DatasetEvents' datasets have no run row.
        known = self.stored_runs | {store.STATIC_RUN_KEY}
        self.datasets = store.load_datasets(self.session, [k for k in keys if k[0] in known])

    def sha(self, identity: DatasetIdentity) -> str:
        found = self.shas.get(identity)
        if found is None:
            found = self.shas[identity] = store.identity_sha(identity.namespace, identity.name)
        return found

    def drift(self, match: PortMatch, fields: Sequence[tuple[str, str | None]]) -> list[dict[str, str]] | None:
        key = (match.contract_id, match.contract_version, match.object, tuple(fields))
        if key not in self.drifts:
            shape = _contract_shape(self.session, self.key, match.contract_id, match.contract_version)
            columns = (shape or {}).get(match.object.lower())
            self.drifts[key] = schema_drift(fields, columns) if columns is not None else None
        return self.drifts[key]

    def parent_domain(self, parent: Any) -> str | None:
        run = self.runs.get(parent.run_id or "")
        return run.domain if run is not None else None

    def observe(self, event: LineageEvent) -> None:
        at = event.event_time or datetime.now(UTC)
        key = _run_key(event)
        matches = {id(d): self.ctx.index.resolve_dataset(d) for d in event.datasets}
        domain = None
        if event.kind is not EventKind.DATASET:
            who = attribute_job(
                event,
                self.ctx.job_namespaces,
                owners=self.ctx.owners,
                parent_domain=self.parent_domain,
                index=self.ctx.index,
            )
            run = self.runs.get(key)
            if run is None:
                kind = "run" if event.kind is EventKind.RUN else "job"
                run = store.RunState(key, kind, event.job_namespace or "", event.job_name or "", at, at)
                self.runs[key] = run
            parent = event.parent.run_id if event.parent is not None else None
            attribution = (who.domain, who.rule.value, who.detail) if who is not None else None
            run.observe(
                at, event.event_type.value if event.event_type else None, event.is_terminal, attribution, parent
            )
            self.touched_runs.add(key)
            domain = run.domain
        for dataset in event.datasets:
            match = matches[id(dataset)]
            self._dataset(key, event, dataset, match, at)
            if dataset.role is DatasetRole.OUTPUT and dataset.column_lineage is not None and match is not None:
                self._usage(event, dataset=dataset, consumer=match, matches=matches, domain=domain, at=at)

    def _dataset(self, key: str, event: LineageEvent, dataset: Any, match: PortMatch | None, at: datetime) -> None:
        identity = dataset.identity
        stats = dataset.statistics
        drift = None
        if dataset.schema is not None and match is not None and dataset.role is not DatasetRole.INPUT:
            drift = self.drift(match, tuple((f.name, f.type) for f in dataset.schema))
        obs = store.DatasetObservation(
            key,
            dataset.role.value,
            identity.namespace,
            identity.name,
            at,
            _resolution(match),
            self.ctx.in_lake(identity),
            self.sha(identity),
            event.is_terminal,
            (stats.row_count, stats.bytes, stats.file_count) if stats is not None else None,
            drift,
        )
        state = self.datasets.get(obs.key)
        if state is None:
            state = self.datasets[obs.key] = store.DatasetState.new(obs)
        state.observe(obs)
        self.touched_sets.add(obs.key)

    def _usage(
        self,
        event: LineageEvent,
        *,
        dataset: Any,
        consumer: PortMatch,
        matches: Mapping[int, PortMatch | None],
        domain: str | None,
        at: datetime,
    ) -> None:
        by_identity: dict[DatasetIdentity, PortMatch] = {}
        for source in event.inputs:
            found = matches.get(id(source))
            if found is not None:
                for identity in source.identities:
                    by_identity.setdefault(identity, found)
        lineage = dataset.column_lineage
        inputs = [f for _, fields in lineage.fields for f in fields] + list(lineage.dataset)
        for source_field in inputs:
            if not source_field.field or len(source_field.field) > 300:
                continue
            identity = source_field.identity
            provider = by_identity.get(identity) or self.ctx.index.resolve(identity)
            if provider is None or provider.product == consumer.product:
                continue
            self.usage.append(
                store.UsageObservation(
                    consumer.product,
                    domain,
                    provider.product,
                    provider.port,
                    provider.contract_id,
                    provider.object,
                    source_field.field,
                    at,
                )
            )

    def write(self) -> None:
        runs = {k: self.runs[k] for k in self.touched_runs}
        sets = {k: self.datasets[k] for k in self.touched_sets}
        store.store_ingest(
            self.session,
            runs=runs,
            new_runs=self.touched_runs - self.stored_runs,
            datasets=sets,
            usage=self.usage,
        )


def _write_events(registry: Registry, items: Sequence[tuple[LineageEvent, str, datetime]]) -> list[IngestStatus]:
    """Store the new events and what they derive, in one transaction; a status per item."""
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
        new = store.insert_events(session, list(first.values()))
        statuses: list[IngestStatus] = []
        fresh: list[LineageEvent] = []
        for event, _, _ in items:
            if event.fingerprint in new:
                new.discard(event.fingerprint)  # a second copy in the same batch is a duplicate
                statuses.append(IngestStatus.STORED)
                fresh.append(event)
            else:
                statuses.append(IngestStatus.DUPLICATE)
        if fresh:
            batch = _Batch(session, registry.url.url, _index_context(session, registry.url.url))
            batch.load(fresh)
            for event in fresh:
                batch.observe(event)
            batch.write()
        return statuses


def lineage_status(registry: Registry) -> dict[str, Any]:
    """Rows per lineage table, and the port index: its version, size and notes."""
    with registry.read() as session:
        counts = store.lineage_counts(session)
        index = store.load_index(session)
    return {
        "counts": counts,
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
    "ingest",
    "lineage_status",
    "receive_batch",
    "receive_event",
    "schema_drift",
    "type_family",
]
