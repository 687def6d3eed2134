"""Storing received events, and the ones waiting to be derived: the ``lineage_pending`` table (migrations 0004, 0007).

The receiver stores each new event (``lineage_events``, append-only: `insert_events`) and a
``lineage_pending`` row for it in one short transaction, and answers; what the event says (runs, run datasets,
column usage) is derived afterwards, in bulk, by the worker's derivation job
(`meshplane.service.derivation`). A worker `claim`s queued events for a lease (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL: two workers never claim the same row), derives them, and `release`s them
in the transaction that writes what they say, which succeeds only while the claim is still its
own: an event is derived exactly once. A worker killed mid-chunk leaves its claims to run out.
An event whose derivation fails keeps its row, with the error and the time, and is not tried
again until `retry_failed` (lineage status shows them).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from meshplane.registry.bulk import driver_errors, insert_rows
from meshplane.registry.lineage import EventRow, StoredEvent
from meshplane.registry.models import Base

_CHUNK = 500
_EVENT_FIELDS = [f.name for f in fields(EventRow)]


class PendingEvent(Base):
    """A stored event whose derivation has not happened yet (or failed: `failed_at`, `error`)."""

    __tablename__ = "lineage_pending"

    event_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    failed_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(sa.Text)
    claimed_by: Mapped[str | None] = mapped_column(sa.String(120))
    claimed_until: Mapped[datetime | None]


_TABLE = cast(sa.Table, PendingEvent.__table__)
_BODIES = (
    sa.select(StoredEvent.id, StoredEvent.body)
    .where(StoredEvent.id.in_(sa.bindparam("ids", expanding=True)))
    .order_by(StoredEvent.id)
)


def insert_events(session: Session, events: Sequence[EventRow]) -> dict[str, int]:
    """Insert the events not stored yet (``ON CONFLICT DO NOTHING`` on the fingerprint): fingerprint → id.

    One statement for the whole batch; an event stored before, by this or a concurrent transaction,
    is skipped by the database itself.
    """
    if not events:
        return {}
    if session.get_bind().dialect.name == "sqlite":
        return _insert_events_sqlite(session, events)
    return _insert_events_core(session, events)


def _insert_events_core(session: Session, events: Sequence[EventRow]) -> dict[str, int]:
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(StoredEvent.__table__)
        .on_conflict_do_nothing(index_elements=["fingerprint"])
        .returning(StoredEvent.fingerprint, StoredEvent.id)
    )
    rows = session.connection().execute(statement, [{name: getattr(e, name) for name in _EVENT_FIELDS} for e in events])
    return {row[0]: row[1] for row in rows}


_SQLITE_ROWS_PER_INSERT = 200


def _sqlite_time(value: datetime | None) -> str | None:
    """A timestamp as SQLAlchemy's SQLite dialect stores `UtcDateTime` (naive UTC, microseconds)."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _insert_events_sqlite(session: Session, events: Sequence[EventRow]) -> dict[str, int]:
    """`insert_events` on SQLite, through the driver: the receiver's hottest write, without per-value
    bind processing. The values are exactly what the SQLAlchemy path writes (a test holds them equal)."""
    columns = ", ".join(_EVENT_FIELDS)
    row = "(" + ", ".join("?" * len(_EVENT_FIELDS)) + ")"
    driver = session.connection().connection.driver_connection
    assert driver is not None
    out: dict[str, int] = {}
    times: dict[datetime, str | None] = {}  # the events of a request share their received_at, often their time
    for start in range(0, len(events), _SQLITE_ROWS_PER_INSERT):
        chunk = events[start : start + _SQLITE_ROWS_PER_INSERT]
        values: list[Any] = []
        for event in chunk:
            for value in map(event.__getattribute__, _EVENT_FIELDS):
                if isinstance(value, datetime):
                    text = times.get(value)
                    if text is None:
                        text = times[value] = _sqlite_time(value)
                    values.append(text)
                else:
                    values.append(value)
        statement = (
            f"INSERT INTO lineage_events ({columns}) VALUES {', '.join([row] * len(chunk))} "
            "ON CONFLICT (fingerprint) DO NOTHING RETURNING fingerprint, id"
        )
        with driver_errors(statement):
            out.update((str(f), int(i)) for f, i in driver.execute(statement, values).fetchall())
    return out


def add_pending(session: Session, event_ids: Iterable[int]) -> None:
    """Queue stored events for derivation (one executemany)."""
    rows = [{"event_id": event_id} for event_id in event_ids]
    insert_rows(session.connection(), _TABLE, rows)


def claim(
    session: Session, worker_id: str, *, until: datetime, now: datetime, limit: int, up_to: int | None = None
) -> list[int]:
    """Claim up to `limit` queued events (oldest first; ids up to `up_to`) for `worker_id` until `until`; their ids.

    Free events are those never claimed, or whose claim ran out (a worker that died). On
    PostgreSQL the candidates are locked ``FOR UPDATE SKIP LOCKED``: concurrent claims get
    disjoint events without waiting for each other.
    """
    candidates = (
        sa.select(PendingEvent.event_id)
        .where(
            PendingEvent.failed_at.is_(None),
            sa.or_(PendingEvent.claimed_until.is_(None), PendingEvent.claimed_until < now),
        )
        .order_by(PendingEvent.event_id)
        .limit(limit)
    )
    if up_to is not None:
        candidates = candidates.where(PendingEvent.event_id <= up_to)
    if session.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    statement = (
        sa.update(PendingEvent)
        .where(PendingEvent.event_id.in_(candidates.scalar_subquery()))
        .values(claimed_by=worker_id, claimed_until=until)
        .returning(PendingEvent.event_id)
    )
    return sorted(int(row[0]) for row in session.connection().execute(statement))  # core: no ORM bookkeeping


def event_bodies(session: Session, event_ids: Sequence[int]) -> list[tuple[int, str]]:
    """(id, canonical JSON) of stored events, by id."""
    out: list[tuple[int, str]] = []
    connection = session.connection()
    for start in range(0, len(event_ids), _CHUNK):
        out += [
            (row.id, row.body) for row in connection.execute(_BODIES, {"ids": list(event_ids[start : start + _CHUNK])})
        ]
    return out


def release(session: Session, event_ids: Sequence[int], worker_id: str) -> int:
    """Remove the queue rows of derived events that `worker_id` still holds; how many (all, or the claim was lost)."""
    removed = 0
    for start in range(0, len(event_ids), _CHUNK):
        result = session.connection().execute(
            sa.delete(PendingEvent).where(
                PendingEvent.event_id.in_(list(event_ids[start : start + _CHUNK])),
                PendingEvent.claimed_by == worker_id,
            )
        )
        removed += int(getattr(result, "rowcount", 0) or 0)
    return removed


def waiting_up_to(session: Session, last: int | None = None) -> tuple[int, int | None]:
    """(how many events wait for derivation with an id up to `last` (all: None), the newest waiting id)."""
    query = sa.select(sa.func.count(), sa.func.max(PendingEvent.event_id)).where(PendingEvent.failed_at.is_(None))
    if last is not None:
        query = query.where(PendingEvent.event_id <= last)
    row = session.execute(query).one()
    return int(row[0] or 0), row[1]


def newest_received(session: Session) -> datetime | None:
    """When the newest stored event was received (the index on ``received_at`` answers it)."""
    value: datetime | None = session.execute(sa.select(sa.func.max(StoredEvent.received_at))).scalar_one_or_none()
    return value


def oldest_waiting(session: Session) -> datetime | None:
    """When the oldest event still waiting for derivation was received (None: nothing waits)."""
    query = (
        sa.select(sa.func.min(StoredEvent.received_at))
        .join(PendingEvent, PendingEvent.event_id == StoredEvent.id)
        .where(PendingEvent.failed_at.is_(None))
    )
    value: datetime | None = session.execute(query).scalar_one_or_none()
    return value


def unclaim(session: Session, event_ids: Sequence[int], worker_id: str) -> None:
    """Give back the claims `worker_id` holds on these events (it could not derive them now)."""
    for start in range(0, len(event_ids), _CHUNK):
        session.execute(
            sa.update(PendingEvent)
            .where(
                PendingEvent.event_id.in_(list(event_ids[start : start + _CHUNK])), PendingEvent.claimed_by == worker_id
            )
            .values(claimed_by=None, claimed_until=None)
        )


def mark_failed(session: Session, event_id: int, error: str, at: datetime, worker_id: str | None = None) -> None:
    """Keep the event queued, but out of the way until `retry_failed`: its derivation raised `error`."""
    session.execute(
        sa.update(PendingEvent)
        .where(
            PendingEvent.event_id == event_id,
            sa.true() if worker_id is None else PendingEvent.claimed_by == worker_id,  # still this worker's
        )
        .values(failed_at=at, error=error[:2000], claimed_by=None, claimed_until=None)
    )


def retry_failed(session: Session) -> int:
    """Queue the failed events again; how many."""
    result = session.execute(
        sa.update(PendingEvent)
        .where(PendingEvent.failed_at.is_not(None))
        .values(failed_at=None, claimed_by=None, claimed_until=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def pending_counts(session: Session) -> tuple[int, int]:
    """(events waiting, events whose derivation failed)."""
    failed = sa.func.count().filter(PendingEvent.failed_at.is_not(None))
    row = session.execute(sa.select(sa.func.count(), failed)).one()
    total, failures = int(row[0] or 0), int(row[1] or 0)
    return total - failures, failures


def failures(session: Session, limit: int = 20) -> list[tuple[int, datetime | None, str | None]]:
    """The first failed derivations: (event id, when, error)."""
    rows = session.execute(
        sa.select(PendingEvent.event_id, PendingEvent.failed_at, PendingEvent.error)
        .where(PendingEvent.failed_at.is_not(None))
        .order_by(PendingEvent.event_id)
        .limit(limit)
    )
    return [(int(r[0]), r[1], r[2]) for r in rows]


__all__ = [
    "PendingEvent",
    "add_pending",
    "claim",
    "event_bodies",
    "failures",
    "insert_events",
    "mark_failed",
    "newest_received",
    "oldest_waiting",
    "pending_counts",
    "release",
    "retry_failed",
    "unclaim",
    "waiting_up_to",
]
