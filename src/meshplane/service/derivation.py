"""Deriving what stored OpenLineage events say: runs, run datasets, column usage — the worker's first job.

The receiver (`meshplane.service.lineage`) stores each new event with a queue row
(`meshplane.registry.lineage_queue`) and answers at once; `DerivationJob`, run by the background
worker (`meshplane.registry.worker`), turns queued events into the derived tables, in chunks,
oldest first:

* the run, attributed to a domain (`attribute_job`), its latest state;
* its datasets, resolved to output ports through the index built at apply time, with their
  latest statistics and the schema's drift from the port's contract;
* column usage from ``columnLineage``;
* the ``dataQualityAssertions`` of inputs that resolve to a port, as test runs of its contract
  (`meshplane.service.assertions`), once per run and dataset.

A chunk is **claimed** (a lease on its queue rows; ``FOR UPDATE SKIP LOCKED`` on PostgreSQL),
**observed** outside any write (parsing, resolving, merging into the stored rows as read), and
**written** in one transaction that also releases the claim. That transaction checks that the
rows merged into are still as they were read (on PostgreSQL under per-run advisory locks, so two
derivers touching one run take turns) and observes again inside it when another deriver wrote
them meanwhile; it fails, and writes nothing, when the claim was lost. Each event is so derived
exactly once, by however many workers. Merging is order-independent (`RunState.observe`,
`DatasetState.observe`). An event whose derivation raises is marked failed (with the error) and
skipped, never retried in a loop; the others go on.

Readers read what is derived; `lineage_status` says how many events wait and since when.
`derive_pending` derives everything waiting now, in the calling thread (``meshplane worker
--once``, tests).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import operator
import os
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from meshplane.diagnostics import MeshplaneError
from meshplane.lineage import (
    DatasetIdentity,
    DatasetLink,
    DatasetRole,
    EventKind,
    LineageEvent,
    PortIndex,
    PortMatch,
    attribute_job,
    parse_event,
)
from meshplane.registry import Registry, dbtlinks
from meshplane.registry import lineage as store
from meshplane.registry import lineage_queue as queue
from meshplane.registry import models as m
from meshplane.registry.database import EXCLUSIVE_LOCK_KEY
from meshplane.registry.testruns import store_evidence_run
from meshplane.registry.worker import JobResult
from meshplane.service.assertions import assertion_key, assertion_run
from meshplane.service.flags import facet_is_complete, schema_drift
from meshplane.service.senders import SENDER_RULE, bind_attribution, foreign_run, port_evidence_mismatch

log = logging.getLogger(__name__)

DERIVE_CHUNK = 500
"""Most events claimed and derived in one write transaction."""
BACKLOG_CHUNK = 5000
"""Chunk size of `derive_pending` for a large backlog (a reindex queues every stored event): fewer and larger
write transactions, and the events of one run mostly in one chunk (derived once, not merged into the stored
run again)."""


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


def _index_context(session: Session, registry: Registry) -> _IndexContext:
    """The port index as of its newest build and the newest dbt links, cached on the registry per both versions."""
    version = (store.index_version(session), dbtlinks.links_version(session))

    def build() -> _IndexContext:
        stored = store.load_index(session)
        lake = tuple(DatasetIdentity.parse(root) for root in stored.lake_roots)
        links = [dataset_link(row) for row in dbtlinks.load_links(session)]
        return _IndexContext(
            stored.version, PortIndex.from_rows(stored.rows, links), stored.job_namespaces, stored.owners, lake
        )

    return registry.cache.get("lineage-port-index", version, build)


def dataset_link(row: dbtlinks.LinkRow) -> DatasetLink:
    """A stored dbt link as the port index follows it."""
    target = DatasetIdentity(row.target_namespace, row.target_name)
    return DatasetLink(row.scheme, row.name, target, row.product, row.node, row.function)


def _contract_shape(
    session: Session, registry: Registry, contract_id: str, version: str
) -> dict[str, dict[str, str | None]] | None:
    """object name (lower) → {column (lower) → logical type}; cached on the registry (versions are immutable)."""

    def build() -> dict[str, dict[str, str | None]] | None:
        document = session.execute(
            sa.select(m.ContractVersion.document).where(
                m.ContractVersion.contract_id == contract_id, m.ContractVersion.version == version
            )
        ).scalar_one_or_none()
        if document is None:
            return None
        shape = {
            str(obj.get("physicalName") or obj.get("name") or "").lower(): _columns(obj)
            for obj in document.get("schema") or []
        }
        shape |= {str(obj.get("name") or "").lower(): _columns(obj) for obj in document.get("schema") or []}
        return shape

    key = ("contract-shape", contract_id, version)
    shape = registry.cache.get(key, 1, build)
    if shape is None:  # a contract not applied yet: not cached, it may come
        registry.cache.put(key, 0, None)
    return shape


def _columns(obj: Mapping[str, Any]) -> dict[str, str | None]:
    return {
        str(p.get("physicalName") or p.get("name") or "").lower(): p.get("logicalType")
        for p in obj.get("properties") or []
    }


def _resolution(match: PortMatch | None) -> store.Resolution:
    if match is None:
        return store.Resolution()
    r = match.row
    return store.Resolution(r.domain, r.product, r.port, r.contract_id, r.contract_version, r.object, match.how.value)


def _linked_target(index: PortIndex, identity: DatasetIdentity) -> DatasetIdentity:
    """What a dataset stands for: its link's target (a dbt relation reading lake files), else itself."""
    link = index.linked(identity)
    return link.target if link is not None else identity


def _run_key(event: LineageEvent) -> str:
    if event.kind is EventKind.RUN:
        return str(event.run_id)
    if event.kind is EventKind.JOB:
        return store.run_key_of_job(event.job_namespace or "", event.job_name or "")
    return store.STATIC_RUN_KEY


_RUN_VALUES = operator.attrgetter(*(f.name for f in dataclasses.fields(store.RunState)))
_DATASET_VALUES = operator.attrgetter(*(f.name for f in dataclasses.fields(store.DatasetState)))


def _values(
    runs: Mapping[str, store.RunState], datasets: Mapping[tuple[str, str, str], store.DatasetState]
) -> tuple[dict[str, Any], dict[tuple[str, str, str], Any]]:
    """The stored rows' values as read: a shallow copy (merging replaces a row's values, never changes one
    in place), so what is read can be compared with what is stored later without a deep copy."""
    return (
        {key: _RUN_VALUES(state) for key, state in runs.items()},
        {key: _DATASET_VALUES(state) for key, state in datasets.items()},
    )


class _Batch:
    """Everything one ingest transaction derives from its new events."""

    def __init__(self, session: Session, registry: Registry, context: _IndexContext) -> None:
        self.session, self.registry, self.ctx = session, registry, context
        self.runs: dict[str, store.RunState] = {}
        self.stored_runs: set[str] = set()
        self.datasets: dict[tuple[str, str, str], store.DatasetState] = {}
        self.touched_runs: set[str] = set()
        self.touched_sets: set[tuple[str, str, str]] = set()
        self.uses: dict[tuple[str, ...], tuple[store.UsageObservation, datetime, datetime]] = {}
        """Column usage observed, per row: the last observation, the earliest and the latest sighting."""
        self.shas: dict[DatasetIdentity, str] = {}
        self.matches: dict[Any, PortMatch | None] = {}
        """Each distinct dataset (identity and symlinks) of the batch resolved once (`resolved`)."""
        self.resolutions: dict[int, tuple[PortMatch | None, store.Resolution]] = {}
        self.lake: dict[DatasetIdentity, bool] = {}
        self.senders: Mapping[int, store.Sender | None] = {}
        """Who sent each event (by ``id()`` of the event): binds attribution (`meshplane.service.senders`)."""
        self.drifts: dict[tuple[Any, ...], list[dict[str, str]] | None] = {}
        self.evidence: dict[str, tuple[datetime, dict[str, Any], str]] = {}
        """Test runs the events' assertions give: key → (event time, run document, recorded by); the latest wins."""

    def load(self, events: Sequence[LineageEvent]) -> None:
        run_keys = {_run_key(e) for e in events if e.kind is not EventKind.DATASET}
        parents = {e.parent.run_id for e in events if e.parent is not None and e.parent.run_id}
        self.runs = store.load_runs(self.session, run_keys | parents)
        self.stored_runs = set(self.runs)
        keys = {(_run_key(e), d.role.value, self.sha(d.identity)) for e in events for d in e.datasets}
        # A run not stored yet has no stored datasets; DatasetEvents' datasets have no run row.
        known = self.stored_runs | {store.STATIC_RUN_KEY}
        self.datasets = store.load_datasets(self.session, [k for k in keys if k[0] in known])
        self.loaded = (frozenset(run_keys | parents), frozenset(keys))
        self.snapshot = _values(self.runs, self.datasets)

    def still_current(self, session: Session) -> bool:
        """True when the stored rows this batch merged into are as it read them (no other deriver wrote them)."""
        runs = store.load_runs(session, self.loaded[0])
        known = set(runs) | {store.STATIC_RUN_KEY}
        datasets = store.load_datasets(session, [k for k in self.loaded[1] if k[0] in known])
        return _values(runs, datasets) == self.snapshot

    def lock_keys(self) -> set[str]:
        """What concurrent derivers must not write at once: runs (their datasets with them), the datasets of
        DatasetEvents (they share one run key, so each is locked on its own) and usage rows."""
        static = {f"set:{sha}" for run, _, sha in self.loaded[1] if run == store.STATIC_RUN_KEY}
        return set(self.loaded[0]) | set(self.runs) | static | {f"usage:{u.key}" for u in self.usage}

    @property
    def usage(self) -> list[store.UsageObservation]:
        """The column usage observed: per row its earliest and its latest sighting, with the values of the last
        observation (what `store_ingest` merges the same way from every observation)."""
        return [
            dataclasses.replace(obs, at=at)
            for obs, first, last in self.uses.values()
            for at in dict.fromkeys((first, last))
        ]

    def resolved(self, dataset: Any) -> PortMatch | None:
        """`PortIndex.resolve_dataset` once per distinct identity and symlinks in the batch (all it depends on)."""
        key = (dataset.identity, dataset.symlinks)
        found = self.matches.get(key, self)
        if found is self:
            found = self.matches[key] = self.ctx.index.resolve_dataset(dataset)
        return found  # type: ignore[return-value]

    def resolution(self, match: PortMatch | None) -> store.Resolution:
        """The stored form of a match, once per match."""
        found = self.resolutions.get(id(match))
        if found is None or found[0] is not match:
            found = self.resolutions[id(match)] = (match, _resolution(match))
        return found[1]

    def in_lake(self, identity: DatasetIdentity) -> bool:
        """Whether what a dataset stands for lies in the lake, once per identity."""
        found = self.lake.get(identity)
        if found is None:
            found = self.lake[identity] = self.ctx.in_lake(_linked_target(self.ctx.index, identity))
        return found

    def sha(self, identity: DatasetIdentity) -> str:
        found = self.shas.get(identity)
        if found is None:
            found = self.shas[identity] = store.identity_sha(identity.namespace, identity.name)
        return found

    def drift(
        self, match: PortMatch, fields: Sequence[tuple[str, str | None]], complete: bool
    ) -> list[dict[str, str]] | None:
        key = (match.contract_id, match.contract_version, match.object, tuple(fields), complete)
        if key not in self.drifts:
            shape = _contract_shape(self.session, self.registry, match.contract_id, match.contract_version)
            columns = (shape or {}).get(match.object.lower())
            self.drifts[key] = schema_drift(fields, columns, complete=complete) if columns is not None else None
        return self.drifts[key]

    def parent_domain(self, parent: Any) -> str | None:
        run = self.runs.get(parent.run_id or "")
        return run.domain if run is not None else None

    def observe(self, event: LineageEvent) -> None:
        at = event.event_time or datetime.now(UTC)
        key = _run_key(event)
        matches = {id(d): self.resolved(d) for d in event.datasets}
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
            sender = self.senders.get(id(event))
            if run is not None and (foreign := foreign_run(run.domain, sender)) is not None:
                if run.rule == SENDER_RULE and who is not None and sender is not None and who.domain == sender.bound:
                    # bound by another domain's maintainer against the rules: the rules' domain reclaims it
                    run.domain = run.rule = run.rule_detail = None
                else:
                    run.note(foreign)  # noted on the run; nothing of the event is merged
                    self.touched_runs.add(key)
                    return
            if run is None:
                kind = "run" if event.kind is EventKind.RUN else "job"
                run = store.RunState(key, kind, event.job_namespace or "", event.job_name or "", at, at)
                self.runs[key] = run
            parent = event.parent.run_id if event.parent is not None else None
            parent = parent if parent is None or len(parent) <= store.RUN_ID_LENGTH else None  # not a run id
            attribution, mismatch = bind_attribution(who, sender)
            run.observe(
                at,
                event.event_type.value if event.event_type else None,
                event.is_terminal,
                attribution,
                parent,
                sender=sender,
                mismatch=mismatch,
            )
            self.touched_runs.add(key)
            domain = run.domain
        for dataset in event.datasets:
            match = matches[id(dataset)]
            self._dataset(key, event, dataset, match, at)
            if dataset.role is DatasetRole.OUTPUT and dataset.column_lineage is not None and match is not None:
                row = match.row  # another domain's maintainer says nothing of what that domain's product reads
                if not port_evidence_mismatch(self.senders.get(id(event)), row.domain, row.product, row.port):
                    self._usage(event, dataset=dataset, consumer=match, matches=matches, domain=domain, at=at)

    def _dataset(self, key: str, event: LineageEvent, dataset: Any, match: PortMatch | None, at: datetime) -> None:
        identity = dataset.identity
        stats = dataset.statistics
        drift, mismatch = None, None
        if match is not None and dataset.role is not DatasetRole.INPUT:  # evidence about the port
            row = match.row
            mismatch = port_evidence_mismatch(self.senders.get(id(event)), row.domain, row.product, row.port)
        elif match is not None and dataset.assertions and event.kind is EventKind.RUN:  # test results of the port
            mismatch = self._assertions(key, event, dataset, match, at)
        if dataset.schema is not None and match is not None and dataset.role is not DatasetRole.INPUT and not mismatch:
            fields = tuple((f.name, f.type) for f in dataset.schema)
            drift = self.drift(match, fields, facet_is_complete(event.producer, fields))
        obs = store.DatasetObservation(
            key,
            dataset.role.value,
            identity.namespace,
            identity.name,
            at,
            self.resolution(match),
            self.in_lake(identity),
            self.sha(identity),
            event.is_terminal,
            (stats.row_count, stats.bytes, stats.file_count) if stats is not None else None,
            drift,
            mismatch,
        )
        state = self.datasets.get(obs.key)
        if state is None:
            state = self.datasets[obs.key] = store.DatasetState.new(obs)
        state.observe(obs)
        self.touched_sets.add(obs.key)

    def _assertions(self, key: str, event: LineageEvent, dataset: Any, match: PortMatch, at: datetime) -> str | None:
        """Keep the dataset's assertions as a test run of the port; the sender's mismatch instead when it may not."""
        sender = self.senders.get(id(event))
        row = match.row
        mismatch = port_evidence_mismatch(sender, row.domain, row.product, row.port, reported="tested")
        if mismatch is not None:
            return mismatch
        by = sender.received_by if sender is not None else "local operator (lineage)"
        document = assertion_run(event, dataset.identity, dataset.assertions, match, at=at, received_by=by)
        run_key = assertion_key(key, dataset.identity)
        if run_key not in self.evidence or at >= self.evidence[run_key][0]:
            self.evidence[run_key] = (at, document, by)
        return None

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
            provider = (
                by_identity.get(identity)
                or self.ctx.index.resolve(identity)
                or self.ctx.index.resolve_table_function(identity, event.inputs)
            )
            if provider is None or provider.product == consumer.product:
                continue
            obs = store.UsageObservation(
                consumer.product,
                domain,
                provider.product,
                provider.port,
                provider.contract_id,
                provider.object,
                source_field.field,
                at,
            )
            row = (obs.consumer_product, obs.provider_product, obs.port, obs.contract_id, obs.object, obs.field)
            seen = self.uses.get(row)
            self.uses[row] = (obs, at, at) if seen is None else (obs, min(seen[1], at), max(seen[2], at))

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
        for run_key, (_, document, by) in sorted(self.evidence.items()):
            store_evidence_run(session or self.session, document, key=run_key, actor=by)


# --- deriving queued events ----------------------------------------------------------------------------


class Claimant(Protocol):
    """Who claims queued events: a worker (`meshplane.registry.worker.Worker`) or a one-shot caller."""

    @property
    def registry(self) -> Registry:
        """The registry to derive in."""
        ...

    @property
    def worker_id(self) -> str:
        """The name claims are taken under."""
        ...

    def lease_until(self) -> datetime:
        """The end of a lease taken now."""
        ...


@dataclass(frozen=True)
class _OneShot:
    registry: Registry
    lease_s: float = 300.0
    worker_id: str = field(default_factory=lambda: f"one-shot:{os.getpid()}:{uuid.uuid4().hex[:8]}")

    def lease_until(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.lease_s)


class LeaseLost(Exception):
    """Another worker took over a claim (this one outlived its lease): the chunk is left to it."""


def _observe(
    session: Session,
    registry: Registry,
    events: Sequence[LineageEvent],
    senders: Mapping[int, store.Sender | None] | None = None,
) -> _Batch:
    """Observe `events`; the runs other events of the chunk name as their parent first (their domain decides).

    `senders`: who sent each event, by ``id()`` of the event (none: attributed by the rules alone).
    """
    batch = _Batch(session, registry, _index_context(session, registry))
    batch.senders = senders or {}
    batch.load(events)
    parents = {e.parent.run_id for e in events if e.parent is not None and e.parent.run_id}
    for event in sorted(events, key=lambda e: e.run_id not in parents):  # stable: otherwise as stored
        batch.observe(event)
    return batch


def _advisory_key(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)


_LOCK_KEYS = sa.text(
    "SELECT count(pg_advisory_xact_lock(k)) FROM (SELECT unnest(CAST(:keys AS bigint[])) AS k ORDER BY 1) AS s"
)


def _write_batch(session: Session, batch: _Batch, events: Sequence[LineageEvent], ids: Sequence[int], me: str) -> None:
    """Write what `batch` observed and release the claim on `ids`, in the caller's transaction."""
    registry = batch.registry
    if registry.dialect == "postgresql":  # derivers touching the same runs or usage rows take turns, in one order
        if _tests_in(events):  # test runs are stored under the lock every writer of test runs takes, and first
            session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": EXCLUSIVE_LOCK_KEY})
        session.execute(_LOCK_KEYS, {"keys": sorted({_advisory_key(k) for k in batch.lock_keys()})})
    if not batch.still_current(session):
        batch = _observe(session, registry, events, batch.senders)
    batch.write(session)
    if queue.release(session, ids, me) != len(ids):
        raise LeaseLost(f"the claim of {me} on {len(ids)} events ran out; another worker derives them")


def _tests_in(events: Sequence[LineageEvent]) -> bool:
    """True when an event carries assertions (its derivation may store test runs)."""
    return any(d.assertions for e in events for d in e.inputs)


@dataclass
class DeriveOutcome:
    """What derivation did."""

    derived: int = 0
    failed: int = 0
    lost: int = 0
    errors: list[str] = field(default_factory=list)


def derive_chunk(claimant: Claimant, *, limit: int = DERIVE_CHUNK, up_to: int | None = None) -> DeriveOutcome:
    """Claim up to `limit` queued events (ids up to `up_to`), derive them and release them; what happened.

    Database errors (locked, unreachable, a closed registry) propagate, the claims given back
    (best effort: otherwise they run out with their lease).
    """
    registry, me = claimant.registry, claimant.worker_id
    outcome = DeriveOutcome()
    ids = registry.write(
        lambda s: queue.claim(s, me, until=claimant.lease_until(), now=datetime.now(UTC), limit=limit, up_to=up_to)
    )
    if not ids:
        return outcome
    with registry.read() as session:
        rows = queue.event_bodies(session, ids)
        senders = store.event_senders(session, ids)
    try:
        events = [parse_event(body) for _, body in rows]  # valid when received
        by_event = {id(event): senders.get(event_id) for (event_id, _), event in zip(rows, events, strict=True)}
        with registry.read() as session:  # the heavy part, outside every write
            batch = _observe(session, registry, events, by_event)
        registry.write(lambda s: _write_batch(s, batch, events, ids, me))
    except LeaseLost as exc:
        log.warning("%s", exc)
        outcome.lost += len(ids)
        return outcome
    except _UNAVAILABLE:
        _give_back(registry, ids, me)
        raise
    except Exception as exc:  # one event's data or a bug must not block the queue: find it
        _derive_one_by_one(claimant, outcome, rows, exc, senders)
        return outcome
    outcome.derived += len(rows)
    return outcome


_UNAVAILABLE = (sa.exc.OperationalError, sa.exc.InterfaceError, MeshplaneError)
"""Errors of the registry itself (locked, unreachable, closed): never a reason to mark an event failed."""


def _give_back(registry: Registry, ids: Sequence[int], me: str) -> None:
    try:
        registry.write(lambda s: queue.unclaim(s, ids, me))
    except Exception as exc:  # the registry is the problem: the lease runs out instead
        log.debug("claims not given back (%s): they run out with their lease", type(exc).__name__)


def _derive_one_by_one(
    claimant: Claimant,
    outcome: DeriveOutcome,
    rows: Sequence[tuple[int, str]],
    first: Exception,
    senders: Mapping[int, store.Sender],
) -> None:
    registry, me = claimant.registry, claimant.worker_id
    log.warning("deriving %d lineage events failed (%s); deriving them one by one", len(rows), type(first).__name__)
    for event_id, body in rows:
        try:
            event = parse_event(body)
            with registry.read() as session:
                batch = _observe(session, registry, [event], {id(event): senders.get(event_id)})
            registry.write(partial(_write_batch, batch=batch, events=[event], ids=[event_id], me=me))
            outcome.derived += 1
        except LeaseLost:
            outcome.lost += 1
        except _UNAVAILABLE:
            _give_back(registry, [i for i, _ in rows], me)
            raise
        except Exception as exc:  # recorded on the event, shown by lineage status
            reason = f"{type(exc).__name__}: {exc}"
            log.error("lineage event %d cannot be derived: %s", event_id, reason, exc_info=exc)
            registry.write(
                partial(queue.mark_failed, event_id=event_id, error=reason, at=datetime.now(UTC), worker_id=me)
            )
            outcome.failed += 1
            outcome.errors.append(f"event {event_id}: {reason}")


def derive_pending(
    registry: Registry, *, limit: int | None = None, wait_s: float = 60.0, chunk: int | None = None
) -> DeriveOutcome:
    """Derive what waits now (at most `limit` events) in the calling thread, `chunk` events per transaction
    (default `DERIVE_CHUNK`; a reindex: `BACKLOG_CHUNK`); what happened.

    Without `limit` it returns once every event waiting at the call is derived (or failed): events
    another worker claimed are waited for, up to `wait_s` (claims of a worker that died run out and
    are derived here).
    """
    total = DeriveOutcome()
    claimant = _OneShot(registry)
    with registry.read() as session:
        _, last = queue.waiting_up_to(session)
    if last is None:
        return total
    deadline = time.monotonic() + wait_s
    chunk = max(1, chunk or DERIVE_CHUNK)
    while limit is None or total.derived + total.failed < limit:
        size = chunk if limit is None else min(chunk, limit - total.derived - total.failed)
        outcome = derive_chunk(claimant, limit=size, up_to=last)
        total.derived += outcome.derived
        total.failed += outcome.failed
        total.lost += outcome.lost
        total.errors += outcome.errors
        if outcome.derived or outcome.failed or outcome.lost or limit is not None:
            if limit is not None and not (outcome.derived or outcome.failed):
                break
            continue
        with registry.read() as session:
            left, _ = queue.waiting_up_to(session, last)
        if not left or time.monotonic() >= deadline:
            break
        time.sleep(0.02)  # claimed by another worker: it is deriving them, or its claim runs out
    return total


class DerivationJob:
    """The worker job deriving queued lineage events, a chunk per run.

    While events keep arriving (one was received within `ARRIVING_S`), the job lets them wait,
    for at most `max_lag_s` seconds: the receivers answer first during a burst, and derivation,
    which costs more per event than receiving, follows right after it. Past `max_lag_s` it derives
    alongside the receivers until the queue is empty. The rule reads the queue, so it holds for a
    worker inside a server (SQLite) and for worker processes of their own alike (the
    `worker_max_lag_seconds` setting; 0: never wait).

    While a backlog lasts (each chunk was full: a reindex queued every stored event), the chunk
    doubles up to `backlog_chunk` (default: no growth), and it is `chunk` again once caught up.
    """

    name = "lineage-derivation"
    ARRIVING_S = 0.5
    """An event received this recently means a burst is going on."""

    def __init__(self, chunk: int = DERIVE_CHUNK, *, max_lag_s: float = 0.0, backlog_chunk: int | None = None) -> None:
        self.chunk = max(1, chunk)
        self.backlog_chunk = max(self.chunk, backlog_chunk or self.chunk)
        self.max_lag_s = max_lag_s
        self._waiting_since: float | None = None
        self._size = self.chunk

    def _waits(self, registry: Registry) -> bool:
        """True while events keep arriving and the wait has not exceeded `max_lag_s`."""
        if self.max_lag_s <= 0:
            return False
        with registry.read() as session:
            newest = queue.newest_received(session)
        if newest is None or (datetime.now(UTC) - newest).total_seconds() >= self.ARRIVING_S:
            self._waiting_since = None
            return False
        now = time.monotonic()
        if self._waiting_since is None:
            self._waiting_since = now
        return now - self._waiting_since < self.max_lag_s

    def run_once(self, worker: Any) -> JobResult:
        """Claim, derive and release one chunk; `more` when the chunk was full (a backlog)."""
        if self._waits(worker.registry):
            return JobResult(detail="waiting: events keep arriving")
        size = self._size
        outcome = derive_chunk(worker, limit=size)
        handled = outcome.derived + outcome.failed + outcome.lost
        if handled < size:
            self._waiting_since = None  # caught up: the next burst is received first again
            self._size = self.chunk
        else:
            self._size = min(self.backlog_chunk, size * 2)
        detail = f"{outcome.derived} derived, {outcome.failed} failed" if handled else "idle"
        return JobResult(outcome.derived, handled >= size, outcome.failed, detail, tuple(outcome.errors))


def retry_failed(registry: Registry) -> int:
    """Queue the events whose derivation failed again (after a fix); how many."""
    return registry.write(queue.retry_failed)


__all__ = [
    "BACKLOG_CHUNK",
    "DERIVE_CHUNK",
    "Claimant",
    "DerivationJob",
    "DeriveOutcome",
    "LeaseLost",
    "derive_chunk",
    "derive_pending",
    "retry_failed",
    "schema_drift",
]
