"""Deriving what stored OpenLineage events say: runs, run datasets, column usage.

The receiver (`meshplane.service.lineage`) stores each new event with a queue row
(`meshplane.registry.lineage_queue`) and answers at once; this module turns queued events into
the derived tables, in bulk, oldest first, in write transactions of up to `DERIVE_CHUNK` events:

* the run, attributed to a domain (`attribute_job`), its latest state;
* its datasets, resolved to output ports through the index built at apply time, with their
  latest statistics and the schema's drift from the port's contract;
* column usage from ``columnLineage``.

Who derives: a background thread per registry in the process that received the events
(`notify_deriver`, woken after every stored group; it waits `DERIVE_DELAY` seconds to gather
work, and stops when idle), and every reader of derived data first (`derive_pending`: movements,
flags, the lineage graph, impact and plan see every event stored before they started). One deriver
works at a time (`_derive_lock`), so two never derive the same event; it reads in one transaction
and writes in a short second one, so the receiver's writes rarely wait. Merging is
order-independent (`RunState.observe`, `DatasetState.observe`), so the order of derivation does
not change the result. An event whose derivation raises is marked failed (with the error) and
skipped, never retried in a loop; the others go on.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from meshplane.lineage import (
    DatasetIdentity,
    DatasetRole,
    EventKind,
    LineageEvent,
    PortIndex,
    PortMatch,
    attribute_job,
    parse_event,
)
from meshplane.registry import Registry
from meshplane.registry import lineage as store
from meshplane.registry import lineage_queue as queue
from meshplane.registry import models as m

log = logging.getLogger(__name__)

DERIVE_CHUNK = 2_000
"""Most events derived in one write transaction."""
DERIVE_DELAY = 0.2
"""Seconds the background deriver waits after being woken, to gather more events into one transaction."""
IDLE_STOP = 5.0
"""Seconds without work after which the background deriver thread ends (the next event starts it again)."""


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

    def write(self, session: Session | None = None) -> None:
        """Store what was observed (in `session`, by default the one the batch read with)."""
        runs = {k: self.runs[k] for k in self.touched_runs}
        sets = {k: self.datasets[k] for k in self.touched_sets}
        store.store_ingest(
            session or self.session,
            runs=runs,
            new_runs=self.touched_runs - self.stored_runs,
            datasets=sets,
            usage=self.usage,
        )


# --- deriving queued events ----------------------------------------------------------------------------


def derive_events(session: Session, registry_key: str, events: Sequence[LineageEvent]) -> None:
    """Derive `events` (new to the derived tables) inside the caller's write transaction."""
    if events:
        _observe(session, registry_key, events).write()


def _observe(session: Session, registry_key: str, events: Sequence[LineageEvent]) -> _Batch:
    batch = _Batch(session, registry_key, _index_context(session, registry_key))
    batch.load(events)
    for event in events:
        batch.observe(event)
    return batch


_local_locks: dict[str, threading.Lock] = {}
_local_locks_guard = threading.Lock()
DERIVE_LOCK_KEY = 0x6D6C6465  # "mlde": PostgreSQL advisory lock held by the one deriver at work


@contextlib.contextmanager
def _derive_lock(registry: Registry) -> Iterator[None]:
    """Exclusive among derivers (threads and processes): only a deriver writes the derived tables.

    So a deriver may read the queue and the derived rows in one transaction and write in a second,
    short one: the receiver's writes wait for that write only, not for the whole derivation.
    SQLite: a lock file beside the database (``<file>.derive.lock``); PostgreSQL: an advisory lock.
    """
    key = registry.url.url
    with _local_locks_guard:
        local = _local_locks.setdefault(key, threading.Lock())
    with local:
        if registry.dialect == "postgresql":
            with registry.engine.connect() as connection:
                connection.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": DERIVE_LOCK_KEY})
                try:
                    yield
                finally:
                    connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": DERIVE_LOCK_KEY})
                    connection.commit()
            return
        database = registry.engine.url.database
        if not database or database == ":memory:":
            yield
            return
        with open(f"{database}.derive.lock", "a+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@dataclass
class DeriveOutcome:
    """What one `derive_pending` call did."""

    derived: int = 0
    failed: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


def derive_pending(registry: Registry, *, limit: int | None = None) -> DeriveOutcome:
    """Derive the events queued when the call begins (at most `limit`), oldest first, in chunks.

    Cheap when nothing waits (one read). Safe to call from several threads and processes: one
    deriver works at a time; each chunk is written and removed from the queue in one transaction.
    An event whose derivation fails is marked failed with its error; the rest are derived.
    Database errors (locked, unreachable) propagate with the queue unchanged.
    """
    outcome = DeriveOutcome()
    started = time.perf_counter()
    with registry.read() as session:
        waiting, _ = queue.pending_counts(session)
    if waiting:
        with _derive_lock(registry):  # what waited when the call began (events keep arriving)
            _derive_chunks(registry, outcome, waiting if limit is None else min(limit, waiting))
    outcome.seconds = time.perf_counter() - started
    return outcome


def _derive_chunks(registry: Registry, outcome: DeriveOutcome, limit: int) -> None:
    key = registry.url.url
    while outcome.derived + outcome.failed < limit:
        size = min(DERIVE_CHUNK, limit - outcome.derived - outcome.failed)
        rows: list[tuple[int, str]] = []
        try:
            with registry.read() as session:  # the heavy part, outside the registry's write lock
                rows = queue.waiting_events(session, size)
                if not rows:
                    return
                batch = _observe(session, key, [parse_event(body) for _, body in rows])  # valid when received
            with registry.write() as session:
                batch.write(session)
                queue.remove_pending(session, [event_id for event_id, _ in rows])
        except sa.exc.OperationalError:
            raise
        except Exception as exc:  # one event's data or a bug must not block the queue: find it
            if not rows:
                raise
            _derive_one_by_one(registry, outcome, rows, exc)
            continue
        outcome.derived += len(rows)


def _derive_one_by_one(
    registry: Registry, outcome: DeriveOutcome, rows: Sequence[tuple[int, str]], first: Exception
) -> None:
    key = registry.url.url
    log.warning("deriving %d lineage events failed (%s); deriving them one by one", len(rows), type(first).__name__)
    for event_id, body in rows:
        try:
            with registry.write() as session:
                derive_events(session, key, [parse_event(body)])
                queue.remove_pending(session, [event_id])
            outcome.derived += 1
        except sa.exc.OperationalError:
            raise
        except Exception as exc:  # recorded on the event, shown by lineage status
            reason = f"{type(exc).__name__}: {exc}"
            log.error("lineage event %d cannot be derived: %s", event_id, reason, exc_info=exc)
            with registry.write() as session:
                queue.mark_failed(session, event_id, reason, datetime.now(UTC))
            outcome.failed += 1
            outcome.errors.append(f"event {event_id}: {reason}")


def watch(
    registry: Registry,
    *,
    interval: float = 0.2,
    chunk: int = 500,
    stop: threading.Event | None = None,
    on_derived: Callable[[DeriveOutcome], None] | None = None,
    parent_pid: int | None = None,
) -> None:
    """Derive queued events as they arrive, until `stop` is set: the deriver process of `meshplane serve`.

    Looks at the queue every `interval` seconds (one small read when it is empty) and derives what
    gathered, in chunks of `chunk` events; with a backlog (a full chunk derived) it goes on at once.
    Deriving what gathered in a pause, rather than each event as it lands, keeps the deriver's
    write transactions few and large: each one holds the registry's write lock, which the
    receiver's commits then wait for. With `parent_pid`, it also ends when that process is gone (a
    server killed without the chance to stop its deriver leaves no orphan behind).
    """
    halt = stop or threading.Event()
    chunk = max(1, chunk)
    while not halt.is_set():
        if parent_pid is not None and os.getppid() != parent_pid:
            log.warning("the server process %d is gone: the deriver stops", parent_pid)
            return
        try:
            outcome = derive_pending(registry, limit=chunk)
        except sa.exc.OperationalError as exc:  # locked for too long, or unreachable: try again later
            log.warning("lineage derivation postponed: %s", type(exc).__name__)
            halt.wait(max(interval, 1.0))
            continue
        if (outcome.derived or outcome.failed) and on_derived is not None:
            on_derived(outcome)
        if outcome.derived + outcome.failed < chunk:  # no backlog: let events gather (fewer, larger writes)
            halt.wait(interval)


def catch_up(registry: Registry) -> None:
    """What a reader of derived data calls first: derive what waits, so it sees every stored event.

    When the database refuses (read-only user, lock held too long), the reader goes on with what
    is derived and a warning is logged: the queue is left as it was.
    """
    try:
        derive_pending(registry)
    except sa.exc.SQLAlchemyError as exc:
        log.warning("lineage events not derived yet (%s); reading what is derived", type(exc).__name__)


def retry_failed(registry: Registry) -> int:
    """Queue the events whose derivation failed again (after a fix); how many."""
    with registry.write() as session:
        return queue.retry_failed(session)


# --- the background deriver ----------------------------------------------------------------------------


class _Deriver:
    """A thread deriving a registry's queued events after each wake-up; it ends when idle."""

    def __init__(self, registry: Registry) -> None:
        self._registry = weakref.ref(registry)
        self._condition = threading.Condition()
        self._woken = False
        self.stopped = False
        self._thread = threading.Thread(target=self._run, name="meshplane-lineage-deriver", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> bool:
        """Ask for a derivation soon; False when the thread has ended (start a new one)."""
        with self._condition:
            if self.stopped:
                return False
            self._woken = True
            self._condition.notify()
            return True

    def _run(self) -> None:
        while True:
            with self._condition:
                if not self._woken:
                    self._condition.wait(IDLE_STOP)
                if not self._woken:
                    self.stopped = True
                    return
                self._woken = False
            time.sleep(DERIVE_DELAY)
            registry = self._registry()
            if registry is None or registry.closed:
                with self._condition:
                    self.stopped = True
                return
            try:
                derive_pending(registry)
            except Exception as exc:  # the queue stays; the next wake-up or reader retries
                log.warning("background lineage derivation stopped for now: %s: %s", type(exc).__name__, exc)
            del registry


_derivers: dict[str, _Deriver] = {}
_derivers_lock = threading.Lock()
_without_thread: weakref.WeakSet[Registry] = weakref.WeakSet()


def derive_elsewhere(registry: Registry) -> None:
    """No background thread for `registry` in this process: a deriver process (`watch`) does it."""
    _without_thread.add(registry)


def notify_deriver(registry: Registry) -> None:
    """Wake (or start) the background deriver thread of `registry` in this process (unless `derive_elsewhere`)."""
    if registry in _without_thread:
        return
    key = registry.url.url
    with _derivers_lock:
        deriver = _derivers.get(key)
        if deriver is not None and deriver.wake():
            return
        deriver = _derivers[key] = _Deriver(registry)
        deriver.wake()
        deriver.start()


__all__ = [
    "DERIVE_CHUNK",
    "DERIVE_DELAY",
    "TYPE_FAMILIES",
    "DeriveOutcome",
    "catch_up",
    "derive_elsewhere",
    "derive_events",
    "derive_pending",
    "notify_deriver",
    "retry_failed",
    "schema_drift",
    "type_family",
    "watch",
]
