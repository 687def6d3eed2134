"""Lineage tables: raw OpenLineage events, runs, run datasets with their latest figures, column usage, the port index.

Tables (created by migration ``0003``):

* ``lineage_events``: every event as received (its canonical JSON), append-only. ``fingerprint``
  (sha256 of the canonical JSON) is unique, so a re-sent event is stored, and counted, once.
* ``lineage_runs``: one row per run (``run_key`` = the run id) and per job of a JobEvent
  (``run_key`` = ``job:`` + a hash of namespace and name): the job, the domain it was attributed to
  and by which rule, the parent run, the latest state, first and last event times.
* ``lineage_run_datasets``: one row per run, role (input, output, static) and canonical dataset:
  the output port it resolved to, whether it lies in the lake, and the *latest* statistics
  (rows, bytes, files) — the figures of a later event replace earlier ones, a terminal event's
  (COMPLETE, FAIL, ABORT) those of RUNNING ones, whatever the order of arrival: figures of one run
  are never summed. For outputs of a port, how the latest ``schema`` facet drifts from its contract
  (the facet itself stays in the raw event).
* ``lineage_column_usage``: which columns of a provider port a consumer product reads
  (``columnLineage``), with first and last sighting.
* ``lineage_port_index`` / ``lineage_index_builds`` / ``lineage_directory``: the dataset → output
  port index (`meshplane.lineage.PortIndex` rows), rebuilt by every apply inside its transaction
  (`meshplane.service.portindex.PortIndexBuild`, stored by apply), with the job-namespace and
  owner mappings of mesh.yaml and the lake roots.

Merging an observation into a row is order-independent (`RunState.observe`,
`DatasetState.observe`); the service layer (`meshplane.service.derivation`) computes the
observations of queued events (``lineage_pending``, `meshplane.registry.lineage_queue`) and calls
`store_ingest` inside one write transaction.
"""

from __future__ import annotations

import hashlib
import json
import logging
import operator
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from meshplane.registry.bulk import insert_rows, update_rows
from meshplane.registry.models import ID, NAME, SHA256, VERSION, Base

log = logging.getLogger(__name__)

RANKS = {"sender": -1, "job-namespace": 0, "ownership": 1, "parent-run": 2, "output-port": 3}
"""Attribution rules, strongest first: a run keeps the domain of the strongest rule that decided it.
``sender``: a maintainer's token binds the runs it sends to its domain, whatever the rules say."""
SENDERS_LENGTH = 2000
"""Longest list of a run's senders kept."""

DIRECTORY_KINDS = ("job-namespace", "owner", "lake", "mesh")
MESH_SETTINGS_ENTRY = "mesh.yaml"
"""Name of the directory entry (kind ``mesh``) holding the applied mesh.yaml's settings as canonical JSON."""
RUN_ID_LENGTH = 64
"""Longest run id kept (a parent run facet naming a longer one names no run meshplane can know)."""
_CHUNK = 500


# --- tables ---------------------------------------------------------------------------------------


class StoredEvent(Base):
    """One OpenLineage event as received (canonical JSON), never changed or deleted."""

    __tablename__ = "lineage_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    fingerprint: Mapped[str] = mapped_column(SHA256, unique=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    event_type: Mapped[str | None] = mapped_column(sa.String(16))
    event_time: Mapped[datetime | None]
    run_id: Mapped[str | None] = mapped_column(sa.String(64))  # not indexed: no query reads events by run
    job_namespace: Mapped[str | None] = mapped_column(sa.Text)
    job_name: Mapped[str | None] = mapped_column(sa.Text)
    received_at: Mapped[datetime] = mapped_column(index=True)
    received_by: Mapped[str] = mapped_column(NAME)
    body: Mapped[str] = mapped_column(sa.Text)
    sender_role: Mapped[str | None] = mapped_column(sa.String(16))
    """The role of the token that posted it (migration ``0011``); None: not known (a local ingest)."""
    sender_domain: Mapped[str | None] = mapped_column(ID)
    """For a maintainer's token, its domain: the domain the event's run is attributed to."""


class LineageRun(Base):
    """A run (or the static lineage of a job) with its attribution and latest state."""

    __tablename__ = "lineage_runs"

    run_key: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(8))
    job_namespace: Mapped[str] = mapped_column(sa.Text)
    job_name: Mapped[str] = mapped_column(sa.Text)
    domain: Mapped[str | None] = mapped_column(ID, index=True)
    rule: Mapped[str | None] = mapped_column(sa.String(32))
    rule_detail: Mapped[str | None] = mapped_column(sa.Text)
    parent_run_id: Mapped[str | None] = mapped_column(sa.String(RUN_ID_LENGTH))
    state: Mapped[str | None] = mapped_column(sa.String(16))
    state_at: Mapped[datetime | None]
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime] = mapped_column(index=True)
    day: Mapped[str] = mapped_column(sa.String(10))
    events: Mapped[int]
    received_by: Mapped[str | None] = mapped_column(sa.Text)
    """Who sent its events (`Principal.actor` of each token, ``; ``-separated; migration ``0011``)."""
    sender_domain: Mapped[str | None] = mapped_column(ID)
    """The domain a maintainer's token bound the run to (None: attributed by the rules alone)."""
    mismatch: Mapped[str | None] = mapped_column(sa.Text)
    """``sender-mismatch``: the rules would attribute the run to another domain than its sender's."""


class RunDataset(Base):
    """A dataset of a run: its port, its latest statistics and schema. Unique per run, role and dataset."""

    __tablename__ = "lineage_run_datasets"
    __table_args__ = (sa.UniqueConstraint("run_key", "role", "identity_sha"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_key: Mapped[str] = mapped_column(sa.String(80))
    role: Mapped[str] = mapped_column(sa.String(8))
    identity_sha: Mapped[str] = mapped_column(SHA256)
    namespace: Mapped[str] = mapped_column(sa.Text)
    name: Mapped[str] = mapped_column(sa.Text)
    domain: Mapped[str | None] = mapped_column(ID)
    product: Mapped[str | None] = mapped_column(ID, index=True)
    port: Mapped[str | None] = mapped_column(NAME)
    contract_id: Mapped[str | None] = mapped_column(ID)
    contract_version: Mapped[str | None] = mapped_column(VERSION)
    object: Mapped[str | None] = mapped_column(NAME)
    match: Mapped[str | None] = mapped_column(sa.String(8))
    in_lake: Mapped[bool] = mapped_column(sa.Boolean)
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    row_count: Mapped[int | None] = mapped_column(sa.BigInteger)
    byte_count: Mapped[int | None] = mapped_column(sa.BigInteger)
    file_count: Mapped[int | None] = mapped_column(sa.BigInteger)
    stats_at: Mapped[datetime | None]
    stats_final: Mapped[bool | None] = mapped_column(sa.Boolean)
    schema_at: Mapped[datetime | None]
    drift: Mapped[list[Any] | None]
    mismatch: Mapped[str | None] = mapped_column(sa.Text)
    """``sender-mismatch``: a maintainer of another domain reported this output of a port (not evidence)."""


class ColumnUsage(Base):
    """A column of a provider port that a consumer product's job reads (from ``columnLineage``)."""

    __tablename__ = "lineage_column_usage"
    __table_args__ = (sa.Index("ix_lineage_column_usage_consumer", "consumer_product", "contract_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    usage_key: Mapped[str] = mapped_column(SHA256, unique=True)
    consumer_product: Mapped[str] = mapped_column(ID)
    consumer_domain: Mapped[str | None] = mapped_column(ID)
    provider_product: Mapped[str] = mapped_column(ID)
    port: Mapped[str] = mapped_column(NAME)
    contract_id: Mapped[str] = mapped_column(ID)
    object: Mapped[str] = mapped_column(NAME)
    field: Mapped[str] = mapped_column(NAME)
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]


class PortIndexEntry(Base):
    """One row of the dataset → output port index (`meshplane.lineage.PortIndexRow`)."""

    __tablename__ = "lineage_port_index"

    id: Mapped[int] = mapped_column(primary_key=True)
    namespace: Mapped[str] = mapped_column(sa.Text)
    name: Mapped[str] = mapped_column(sa.Text)
    domain: Mapped[str] = mapped_column(ID)
    product: Mapped[str] = mapped_column(ID)
    port: Mapped[str] = mapped_column(NAME)
    contract_id: Mapped[str] = mapped_column(ID)
    contract_version: Mapped[str] = mapped_column(VERSION)
    object: Mapped[str] = mapped_column(NAME)
    server: Mapped[str] = mapped_column(NAME)
    match: Mapped[str] = mapped_column(sa.String(8))


class IndexBuild(Base):
    """One (re)build of the port index; the newest id is the index's version."""

    __tablename__ = "lineage_index_builds"

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("audit_log.id"))
    built_at: Mapped[datetime]
    mesh_root: Mapped[str | None] = mapped_column(sa.Text)
    row_count: Mapped[int]
    notes: Mapped[list[Any]]


class DirectoryEntry(Base):
    """A mapping lineage needs from the mesh: job namespace → domain, owner name → domain, lake roots."""

    __tablename__ = "lineage_directory"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    name: Mapped[str] = mapped_column(sa.Text)
    value: Mapped[str] = mapped_column(sa.Text)


# --- the index ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredIndex:
    """The stored port index and directory, as of build `version` (None: never built)."""

    version: int | None
    rows: tuple[dict[str, str], ...]
    job_namespaces: Mapping[str, str]
    owners: Mapping[str, str]
    lake_roots: tuple[str, ...]
    notes: tuple[str, ...] = ()
    mesh_settings: Mapping[str, Any] | None = None
    """The settings of the applied mesh.yaml (every field, defaults included); None: none recorded yet."""


_INDEX_VERSION = sa.select(sa.func.max(IndexBuild.id))


def index_version(session: Session) -> int | None:
    """The id of the newest index build (one small query; the ingest cache is keyed by it)."""
    value: int | None = session.connection().execute(_INDEX_VERSION).scalar_one_or_none()
    return value


def load_index(session: Session) -> StoredIndex:
    """The stored index rows, directory and notes."""
    version = index_version(session)
    columns = [c for c in PortIndexEntry.__table__.c if c.name != "id"]
    rows = tuple(
        {k: str(v) for k, v in row._mapping.items()}
        for row in session.execute(sa.select(*columns).order_by(PortIndexEntry.id))
    )
    directory: dict[str, dict[str, str]] = {kind: {} for kind in DIRECTORY_KINDS}
    for kind, name, value in session.execute(sa.select(DirectoryEntry.kind, DirectoryEntry.name, DirectoryEntry.value)):
        directory.setdefault(kind, {})[name] = value
    notes: list[Any] = []
    if version is not None:
        notes = session.execute(sa.select(IndexBuild.notes).where(IndexBuild.id == version)).scalar_one()
    settings = directory["mesh"].get(MESH_SETTINGS_ENTRY)
    return StoredIndex(
        version,
        rows,
        directory["job-namespace"],
        directory["owner"],
        tuple(sorted(directory["lake"])),
        tuple(str(n) for n in notes),
        json.loads(settings) if settings else None,
    )


def stored_mesh_settings(session: Session) -> dict[str, Any] | None:
    """The settings of the mesh.yaml last applied (None: none recorded), without reading the index."""
    query = sa.select(DirectoryEntry.value).where(
        DirectoryEntry.kind == "mesh", DirectoryEntry.name == MESH_SETTINGS_ENTRY
    )
    value = session.execute(query).scalar_one_or_none()
    settings: dict[str, Any] | None = json.loads(value) if value else None
    return settings


def replace_index(
    session: Session,
    rows: Sequence[Mapping[str, str]],
    *,
    job_namespaces: Mapping[str, str],
    owners: Mapping[str, str],
    lake_roots: Iterable[str],
    notes: Iterable[str],
    now: datetime,
    audit_id: int | None = None,
    mesh_root: str | None = None,
    mesh_settings: Mapping[str, Any] | None = None,
) -> int:
    """Replace the port index and directory (inside the caller's transaction); returns the new version."""
    session.execute(sa.delete(PortIndexEntry))
    session.execute(sa.delete(DirectoryEntry))
    if rows:
        session.execute(sa.insert(PortIndexEntry), [dict(r) for r in rows])
    entries = [
        *({"kind": "job-namespace", "name": k, "value": v} for k, v in job_namespaces.items()),
        *({"kind": "owner", "name": k, "value": v} for k, v in owners.items()),
        *({"kind": "lake", "name": root, "value": ""} for root in dict.fromkeys(lake_roots)),
    ]
    if mesh_settings is not None:
        value = json.dumps(mesh_settings, sort_keys=True, separators=(",", ":"))
        entries.append({"kind": "mesh", "name": MESH_SETTINGS_ENTRY, "value": value})
    if entries:
        session.execute(sa.insert(DirectoryEntry), entries)
    build = IndexBuild(
        audit_id=audit_id, built_at=now, mesh_root=mesh_root, row_count=len(rows), notes=[str(n) for n in notes]
    )
    session.add(build)
    session.flush()
    return build.id


# --- merging observations into rows -----------------------------------------------------------------


def run_key_of_job(namespace: str, name: str) -> str:
    """The ``run_key`` under which a JobEvent's static lineage is kept."""
    return "job:" + hashlib.sha256(f"{namespace}\n{name}".encode()).hexdigest()[:40]


STATIC_RUN_KEY = "dataset"
"""The ``run_key`` of datasets described by DatasetEvents (no run, no job)."""


def identity_sha(namespace: str, name: str) -> str:
    """Key of a canonical dataset identity in ``lineage_run_datasets``."""
    return hashlib.sha256(f"{namespace}#{name}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Sender:
    """Who posted an event: the token's `Principal.actor`, its role and (for a maintainer) its domain."""

    received_by: str
    role: str | None = None
    domain: str | None = None

    @property
    def bound(self) -> str | None:
        """The domain a maintainer's token binds its runs to; None: the attribution rules decide."""
        return self.domain if self.role == "maintainer" else None


@dataclass(slots=True)
class RunState:
    """A ``lineage_runs`` row in memory; `observe` merges one event into it (order-independent)."""

    run_key: str
    kind: str
    job_namespace: str
    job_name: str
    first_seen: datetime
    last_seen: datetime
    domain: str | None = None
    rule: str | None = None
    rule_detail: str | None = None
    parent_run_id: str | None = None
    state: str | None = None
    state_at: datetime | None = None
    events: int = 0
    day: str = ""
    received_by: str | None = None
    sender_domain: str | None = None
    mismatch: str | None = None

    def observe(
        self,
        at: datetime,
        event_type: str | None,
        terminal: bool,
        attribution: tuple[str, str, str] | None,
        parent_run_id: str | None,
        *,
        sender: Sender | None = None,
        mismatch: str | None = None,
    ) -> None:
        """Merge one event: times, the latest state (a terminal one wins a tie), the strongest attribution,
        its sender (and a sender's mismatch with the rules; the smallest of two, so order never matters)."""
        if sender is not None:
            senders = set(self.received_by.split("; ")) if self.received_by else set()
            if sender.received_by not in senders:
                self.received_by = "; ".join(sorted(senders | {sender.received_by}))[:SENDERS_LENGTH]
            if sender.bound is not None:
                self.sender_domain = min(filter(None, (self.sender_domain, sender.bound)))
        if mismatch is not None:
            self.note(mismatch)
        self.first_seen = min(self.first_seen, at)
        self.last_seen = max(self.last_seen, at)
        self.day = self.first_seen.date().isoformat()
        self.events += 1
        if event_type is not None and (
            self.state_at is None or (at, terminal) >= (self.state_at, _is_terminal(self.state))
        ):
            self.state, self.state_at = event_type, at
        if attribution is not None:
            domain, rule, detail = attribution
            mine = (RANKS.get(rule, 9), domain)
            if self.rule is None or mine < (RANKS.get(self.rule, 9), self.domain or ""):
                self.domain, self.rule, self.rule_detail = domain, rule, detail[:2000]
        self.parent_run_id = self.parent_run_id or parent_run_id

    def note(self, mismatch: str) -> None:
        """Keep a sender mismatch of the run (the smallest of two, so order never matters)."""
        self.mismatch = min(filter(None, (self.mismatch, mismatch[:SENDERS_LENGTH])))


def _is_terminal(state: str | None) -> bool:
    return state in ("COMPLETE", "FAIL", "ABORT")


@dataclass(frozen=True, slots=True)
class Resolution:
    """Where a dataset resolved to (all None: to no output port)."""

    domain: str | None = None
    product: str | None = None
    port: str | None = None
    contract_id: str | None = None
    contract_version: str | None = None
    object: str | None = None
    match: str | None = None


@dataclass(frozen=True, slots=True)
class DatasetObservation:
    """What one event says about one dataset of a run."""

    run_key: str
    role: str
    namespace: str
    name: str
    at: datetime
    resolution: Resolution
    in_lake: bool
    sha: str
    terminal: bool = False
    statistics: tuple[int | None, int | None, int | None] | None = None
    drift: list[Any] | None = None
    """How the ``schema`` facet differs from the port's contract (empty: it agrees); None: not compared."""
    mismatch: str | None = None
    """Set when the sender may not give evidence about this port (another domain's maintainer)."""

    @property
    def key(self) -> tuple[str, str, str]:
        """(run_key, role, identity_sha)."""
        return (self.run_key, self.role, self.sha)


@dataclass(slots=True)
class DatasetState:
    """A ``lineage_run_datasets`` row in memory."""

    run_key: str
    role: str
    identity_sha: str
    namespace: str
    name: str
    in_lake: bool
    first_seen: datetime
    last_seen: datetime
    domain: str | None = None
    product: str | None = None
    port: str | None = None
    contract_id: str | None = None
    contract_version: str | None = None
    object: str | None = None
    match: str | None = None
    row_count: int | None = None
    byte_count: int | None = None
    file_count: int | None = None
    stats_at: datetime | None = None
    stats_final: bool | None = None
    schema_at: datetime | None = None
    drift: list[Any] | None = None
    mismatch: str | None = None
    id: int | None = None

    @classmethod
    def new(cls, obs: DatasetObservation) -> DatasetState:
        """An empty row for an observation (call `observe` next)."""
        return cls(obs.run_key, obs.role, obs.sha, obs.namespace, obs.name, obs.in_lake, obs.at, obs.at)

    def observe(self, obs: DatasetObservation) -> None:
        """Merge: the resolution as of now; the statistics and schema of the latest event that has them.

        Statistics are replaced, never added: a terminal event's figures beat a RUNNING one's at
        any time, otherwise the later event's figures win.
        """
        self.first_seen, self.last_seen = min(self.first_seen, obs.at), max(self.last_seen, obs.at)
        for name in ("domain", "product", "port", "contract_id", "contract_version", "object", "match"):
            setattr(self, name, getattr(obs.resolution, name))
        self.in_lake = obs.in_lake
        if obs.statistics is not None and (
            self.stats_at is None or (obs.terminal, obs.at) >= (bool(self.stats_final), self.stats_at)
        ):
            self.row_count, self.byte_count, self.file_count = obs.statistics
            self.stats_at, self.stats_final = obs.at, obs.terminal
        if obs.drift is not None and (self.schema_at is None or obs.at >= self.schema_at):
            self.schema_at, self.drift = obs.at, obs.drift
        if obs.mismatch is not None:
            self.mismatch = min(filter(None, (self.mismatch, obs.mismatch[:SENDERS_LENGTH])))


@dataclass(frozen=True, slots=True)
class UsageObservation:
    """A consumer product's job read one column of a provider port."""

    consumer_product: str
    consumer_domain: str | None
    provider_product: str
    port: str
    contract_id: str
    object: str
    field: str
    at: datetime

    @property
    def key(self) -> str:
        """The row's unique key."""
        parts = (self.consumer_product, self.provider_product, self.port, self.contract_id, self.object, self.field)
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class EventRow:
    """A new ``lineage_events`` row."""

    fingerprint: str
    kind: str
    event_type: str | None
    event_time: datetime | None
    run_id: str | None
    job_namespace: str | None
    job_name: str | None
    received_at: datetime
    received_by: str
    body: str
    sender_role: str | None = None
    sender_domain: str | None = None


# --- reads and writes of one ingest transaction -----------------------------------------------------


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


_KEYS: sa.BindParameter[Any] = sa.bindparam("keys", expanding=True)
_RUN_FIELDS = [f.name for f in fields(RunState)]
_DATASET_FIELDS = [f.name for f in fields(DatasetState)]
# Built once: a statement object keeps its compiled form and cache key between executions.
_SELECT_RUNS = sa.select(*(getattr(LineageRun, n) for n in _RUN_FIELDS)).where(LineageRun.run_key.in_(_KEYS))
_SELECT_DATASETS = sa.select(*(getattr(RunDataset, n) for n in _DATASET_FIELDS)).where(
    RunDataset.run_key.in_(sa.bindparam("runs", expanding=True)), RunDataset.identity_sha.in_(_KEYS)
)
_SELECT_USAGE = sa.select(ColumnUsage.usage_key, ColumnUsage.id, ColumnUsage.first_seen, ColumnUsage.last_seen).where(
    ColumnUsage.usage_key.in_(_KEYS)
)


_SELECT_SENDERS = sa.select(
    StoredEvent.id, StoredEvent.received_by, StoredEvent.sender_role, StoredEvent.sender_domain
).where(StoredEvent.id.in_(_KEYS))


def event_senders(session: Session, event_ids: Sequence[int]) -> dict[int, Sender]:
    """Who posted each stored event, by event id."""
    out: dict[int, Sender] = {}
    for chunk in _chunks(sorted(set(event_ids))):
        for row in session.connection().execute(_SELECT_SENDERS, {"keys": list(chunk)}):
            out[row.id] = Sender(row.received_by, row.sender_role, row.sender_domain)
    return out


def load_runs(session: Session, keys: Iterable[str]) -> dict[str, RunState]:
    """Stored runs by key."""
    out: dict[str, RunState] = {}
    connection = session.connection()
    for chunk in _chunks(sorted(set(keys))):
        for row in connection.execute(_SELECT_RUNS, {"keys": list(chunk)}):
            out[row.run_key] = RunState(**row._mapping)
    return out


def load_datasets(session: Session, keys: Iterable[tuple[str, str, str]]) -> dict[tuple[str, str, str], DatasetState]:
    """Stored run datasets by (run_key, role, identity_sha), for the given keys."""
    wanted = set(keys)
    out: dict[tuple[str, str, str], DatasetState] = {}
    connection = session.connection()
    run_keys = sorted({k[0] for k in wanted})
    shas = sorted({k[2] for k in wanted})
    for run_chunk in _chunks(run_keys):
        for sha_chunk in _chunks(shas):
            for row in connection.execute(_SELECT_DATASETS, {"runs": list(run_chunk), "keys": list(sha_chunk)}):
                state = DatasetState(**row._mapping)
                key = (state.run_key, state.role, state.identity_sha)
                if key in wanted:
                    out[key] = state
    return out


def store_ingest(
    session: Session,
    *,
    runs: Mapping[str, RunState],
    new_runs: set[str],
    datasets: Mapping[tuple[str, str, str], DatasetState],
    usage: Sequence[UsageObservation],
) -> None:
    """Write what new events derived: runs and datasets (inserted or updated), column usage.

    One ``executemany`` per table and kind of write (`meshplane.registry.bulk`: through the driver
    on SQLite), no per-row round trips.
    """
    connection = session.connection()
    runs_table, sets_table = _table(LineageRun), _table(RunDataset)
    insert_rows(connection, runs_table, [_run_dict(state) for key, state in runs.items() if key in new_runs])
    update_rows(connection, runs_table, "run_key", [_run_dict(s) for k, s in runs.items() if k not in new_runs])
    insert_rows(connection, sets_table, [_dataset_dict(s) for s in datasets.values() if s.id is None])
    update_rows(
        connection, sets_table, "id", [_dataset_dict(s) | {"id": s.id} for s in datasets.values() if s.id is not None]
    )
    if usage:
        _store_usage(session, usage)


def _table(model: type[Base]) -> sa.Table:
    table = model.__table__
    assert isinstance(table, sa.Table)
    return table


_RUN_VALUES = operator.attrgetter(*_RUN_FIELDS)
_DATASET_COLUMNS = [name for name in _DATASET_FIELDS if name != "id"]
_DATASET_VALUES = operator.attrgetter(*_DATASET_COLUMNS)


def _run_dict(state: RunState) -> dict[str, Any]:
    return dict(zip(_RUN_FIELDS, _RUN_VALUES(state), strict=True))


def _dataset_dict(state: DatasetState) -> dict[str, Any]:
    return dict(zip(_DATASET_COLUMNS, _DATASET_VALUES(state), strict=True))


def _store_usage(session: Session, usage: Sequence[UsageObservation]) -> None:
    merged: dict[str, tuple[UsageObservation, datetime, datetime]] = {}
    for obs in usage:
        key = obs.key
        seen = merged.get(key)
        merged[key] = (obs, min(obs.at, seen[1]) if seen else obs.at, max(obs.at, seen[2]) if seen else obs.at)
    keys = sorted(merged)
    stored: dict[str, tuple[int, datetime, datetime]] = {}
    for chunk in _chunks(keys):
        for row in session.connection().execute(_SELECT_USAGE, {"keys": list(chunk)}):
            stored[row.usage_key] = (row.id, row.first_seen, row.last_seen)
    inserts, updates = [], []
    for key in keys:
        obs, first, last = merged[key]
        if key in stored:
            row_id, old_first, old_last = stored[key]
            if first < old_first or last > old_last:
                updates.append({"id": row_id, "first_seen": min(first, old_first), "last_seen": max(last, old_last)})
            continue
        values = {name: getattr(obs, name) for name in ("consumer_product", "consumer_domain", "provider_product")}
        values |= {"port": obs.port, "contract_id": obs.contract_id, "object": obs.object, "field": obs.field}
        inserts.append(values | {"usage_key": key, "first_seen": first, "last_seen": last})
    insert_rows(session.connection(), _table(ColumnUsage), inserts)
    update_rows(session.connection(), _table(ColumnUsage), "id", updates)


# --- queries --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunDatasetRow:
    """A run dataset with its run: what movements, flags and the lineage graph are computed from."""

    run_key: str
    run_kind: str
    run_domain: str | None
    job_namespace: str
    job_name: str
    day: str
    role: str
    namespace: str
    name: str
    domain: str | None
    product: str | None
    port: str | None
    contract_id: str | None
    contract_version: str | None
    in_lake: bool
    row_count: int | None
    byte_count: int | None
    last_seen: datetime
    drift: list[Any] | None = field(default=None, compare=False)
    first_seen: datetime | None = None
    received_by: str | None = None
    """Who sent the run's events."""
    run_mismatch: str | None = None
    """The run's ``sender-mismatch`` (its sender's domain is not the one the rules say)."""
    mismatch: str | None = None
    """This dataset's ``sender-mismatch`` (evidence about another domain's port from a maintainer)."""


def run_dataset_rows(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    kinds: Sequence[str] = ("run",),
) -> Iterator[RunDatasetRow]:
    """Every run dataset (of runs of `kinds`) last seen in [since, until), ordered by run."""
    r, d = LineageRun, RunDataset
    own = ("role", "namespace", "name", "domain", "product", "port", "contract_id", "contract_version", "in_lake")
    columns = [
        d.run_key,
        r.kind.label("run_kind"),
        r.domain.label("run_domain"),
        r.job_namespace,
        r.job_name,
        r.day,
        *(getattr(d, name) for name in (*own, "row_count", "byte_count", "last_seen", "drift", "first_seen")),
        r.received_by,
        r.mismatch.label("run_mismatch"),
        d.mismatch,
    ]
    query = (
        sa.select(*columns)
        .join(r, r.run_key == d.run_key)
        .where(r.kind.in_(list(kinds)))
        .order_by(d.run_key, d.role, d.id)
    )
    if since is not None:
        query = query.where(d.last_seen >= since)
    if until is not None:
        query = query.where(d.last_seen < until)
    for row in session.execute(query.execution_options(yield_per=2000)):
        yield RunDatasetRow(**row._mapping)


def column_usage_rows(session: Session) -> list[ColumnUsage]:
    """Every column usage row, by consumer, contract and field."""
    query = sa.select(ColumnUsage).order_by(ColumnUsage.consumer_product, ColumnUsage.contract_id, ColumnUsage.field)
    return list(session.execute(query).scalars())


def lineage_counts(session: Session) -> dict[str, int]:
    """Rows per lineage table: events, runs, datasets, columnUsage, indexRows."""
    counts = {
        "events": StoredEvent,
        "runs": LineageRun,
        "datasets": RunDataset,
        "columnUsage": ColumnUsage,
        "indexRows": PortIndexEntry,
    }
    return {
        name: int(session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one())
        for name, model in counts.items()
    }


__all__ = [
    "DIRECTORY_KINDS",
    "MESH_SETTINGS_ENTRY",
    "RANKS",
    "STATIC_RUN_KEY",
    "ColumnUsage",
    "DatasetObservation",
    "DatasetState",
    "DirectoryEntry",
    "EventRow",
    "IndexBuild",
    "LineageRun",
    "PortIndexEntry",
    "Resolution",
    "RunDataset",
    "RunDatasetRow",
    "RunState",
    "Sender",
    "StoredEvent",
    "StoredIndex",
    "UsageObservation",
    "column_usage_rows",
    "event_senders",
    "identity_sha",
    "index_version",
    "lineage_counts",
    "load_datasets",
    "load_index",
    "load_runs",
    "replace_index",
    "run_dataset_rows",
    "run_key_of_job",
    "store_ingest",
    "stored_mesh_settings",
]
