"""The schedules of monitoring (migration ``0013``): one row per scheduled contract, claimed with a lease.

``monitor_schedules`` holds, per contract bound to an output port, its schedule (as written, where it
came from), the next time it is due, and what its last run did. A worker `claim_due`\\s a due row for
a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL: two workers never claim the same row), runs the
contract's tests, and `finish`\\es it in the transaction that moves ``next_run_at`` on, which only
succeeds while the claim is still its own. A worker killed mid-run leaves its claim to run out;
another worker then runs the job again.

``monitor_state`` is a small key → value table of the monitor's own bookkeeping (when schedules were
last synchronised with the registry, and on what basis), so several workers do that work once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from meshplane.registry.models import ID, NAME, Base


class MonitorSchedule(Base):
    """A contract whose tests the worker runs on a schedule, and its last run."""

    __tablename__ = "monitor_schedules"

    contract_id: Mapped[str] = mapped_column(ID, primary_key=True)
    domain_id: Mapped[str] = mapped_column(ID, index=True)
    product_id: Mapped[str | None] = mapped_column(ID)
    port: Mapped[str | None] = mapped_column(NAME)
    engine: Mapped[str | None] = mapped_column(sa.String(64))
    schedule: Mapped[str | None] = mapped_column(sa.String(200))
    """As written (None: the contract has no schedule and the mesh no default)."""
    origin: Mapped[str | None] = mapped_column(sa.String(32))
    problem: Mapped[str | None] = mapped_column(sa.Text)
    """Why the schedule cannot be read (the contract is then not scheduled)."""
    next_run_at: Mapped[datetime | None] = mapped_column(index=True)
    claimed_by: Mapped[str | None] = mapped_column(sa.String(120))
    claimed_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    """Claims of the current due run (more than one: a worker died and another took it over)."""
    last_started_at: Mapped[datetime | None]
    last_finished_at: Mapped[datetime | None]
    last_seconds: Mapped[float | None] = mapped_column(sa.Float())
    last_result: Mapped[str | None] = mapped_column(sa.String(16))
    last_run_id: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    updated_at: Mapped[datetime]


class MonitorState(Base):
    """One value of the monitor's bookkeeping (``schedules-basis``, ``freshness-cycle``…)."""

    __tablename__ = "monitor_state"

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    value: Mapped[str] = mapped_column(sa.Text)
    at: Mapped[datetime]


@dataclass(frozen=True)
class DesiredSchedule:
    """What a contract's schedule row should say (from the applied contracts and mesh settings)."""

    contract_id: str
    domain_id: str
    product_id: str | None
    port: str | None
    engine: str | None
    schedule: str | None
    origin: str | None
    problem: str | None
    next_run_at: datetime | None
    """Used for a new row, or when the schedule changed; else the stored one is kept."""


def sync_schedules(session: Session, desired: Sequence[DesiredSchedule], now: datetime) -> tuple[int, int, int]:
    """Make the rows say what `desired` says; (added, changed, removed). Claims in flight are kept."""
    stored = {row.contract_id: row for row in session.scalars(sa.select(MonitorSchedule))}
    added = changed = 0
    wanted = {d.contract_id for d in desired}
    for item in desired:
        row = stored.get(item.contract_id)
        if row is None:
            session.add(
                MonitorSchedule(
                    contract_id=item.contract_id,
                    domain_id=item.domain_id,
                    product_id=item.product_id,
                    port=item.port,
                    engine=item.engine,
                    schedule=item.schedule,
                    origin=item.origin,
                    problem=item.problem,
                    next_run_at=item.next_run_at,
                    attempts=0,
                    updated_at=now,
                )
            )
            added += 1
            continue
        values = {
            "domain_id": item.domain_id,
            "product_id": item.product_id,
            "port": item.port,
            "engine": item.engine,
            "schedule": item.schedule,
            "origin": item.origin,
            "problem": item.problem,
        }
        if any(getattr(row, key) != value for key, value in values.items()):
            if row.schedule != item.schedule or row.problem != item.problem:
                row.next_run_at = item.next_run_at
            for key, value in values.items():
                setattr(row, key, value)
            row.updated_at = now
            changed += 1
    gone = [contract_id for contract_id in stored if contract_id not in wanted]
    if gone:
        session.execute(sa.delete(MonitorSchedule).where(MonitorSchedule.contract_id.in_(gone)))
    return added, changed, len(gone)


def claim_due(session: Session, worker_id: str, *, now: datetime, until: datetime, limit: int = 1) -> list[str]:
    """Claim up to `limit` due schedules (most overdue first) for `worker_id` until `until`; their contract ids.

    Due: ``next_run_at`` passed, and never claimed or the claim ran out (a worker that died). On
    PostgreSQL the candidates are locked ``FOR UPDATE SKIP LOCKED``: concurrent claims get
    disjoint rows without waiting for each other.
    """
    candidates = (
        sa.select(MonitorSchedule.contract_id)
        .where(
            MonitorSchedule.next_run_at.is_not(None),
            MonitorSchedule.next_run_at <= now,
            sa.or_(MonitorSchedule.claimed_until.is_(None), MonitorSchedule.claimed_until < now),
        )
        .order_by(MonitorSchedule.next_run_at, MonitorSchedule.contract_id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    statement = (
        sa.update(MonitorSchedule)
        .where(MonitorSchedule.contract_id.in_(candidates.scalar_subquery()))
        .values(claimed_by=worker_id, claimed_until=until, attempts=MonitorSchedule.attempts + 1)
        .returning(MonitorSchedule.contract_id)
    )
    return sorted(str(row[0]) for row in session.execute(statement))


def due_count(session: Session, now: datetime) -> int:
    """How many schedules are due and free now."""
    query = sa.select(sa.func.count()).where(
        MonitorSchedule.next_run_at.is_not(None),
        MonitorSchedule.next_run_at <= now,
        sa.or_(MonitorSchedule.claimed_until.is_(None), MonitorSchedule.claimed_until < now),
    )
    return int(session.execute(query).scalar_one())


@dataclass(frozen=True)
class FinishedRun:
    """What a scheduled run did, for its schedule row."""

    started_at: datetime
    finished_at: datetime
    result: str
    run_id: int | None
    error: str | None
    next_run_at: datetime | None


def finish(session: Session, contract_id: str, worker_id: str, done: FinishedRun) -> bool:
    """Record a run and release the claim, only while `worker_id` still holds it; whether it did."""
    result = session.execute(
        sa.update(MonitorSchedule)
        .where(MonitorSchedule.contract_id == contract_id, MonitorSchedule.claimed_by == worker_id)
        .values(
            claimed_by=None,
            claimed_until=None,
            attempts=0,
            last_started_at=done.started_at,
            last_finished_at=done.finished_at,
            last_seconds=round((done.finished_at - done.started_at).total_seconds(), 3),
            last_result=done.result,
            last_run_id=done.run_id,
            last_error=(done.error or None) and str(done.error)[:2000],
            next_run_at=done.next_run_at,
        )
    )
    return bool(getattr(result, "rowcount", 0))


def schedule_rows(session: Session, *, domain: str | None = None) -> list[MonitorSchedule]:
    """Every schedule row (of `domain`), by contract id."""
    query = sa.select(MonitorSchedule).order_by(MonitorSchedule.contract_id)
    if domain is not None:
        query = query.where(MonitorSchedule.domain_id == domain)
    return list(session.scalars(query))


def schedule_row(session: Session, contract_id: str) -> MonitorSchedule | None:
    """One contract's schedule row."""
    return session.get(MonitorSchedule, contract_id)


def state(session: Session, name: str) -> MonitorState | None:
    """A bookkeeping value."""
    return session.get(MonitorState, name)


def set_state(session: Session, name: str, value: str, at: datetime) -> None:
    """Store a bookkeeping value (inside the caller's transaction)."""
    row = session.get(MonitorState, name)
    if row is None:
        session.add(MonitorState(name=name, value=value, at=at))
    else:
        row.value, row.at = value, at


__all__ = [
    "DesiredSchedule",
    "FinishedRun",
    "MonitorSchedule",
    "MonitorState",
    "claim_due",
    "due_count",
    "finish",
    "schedule_row",
    "schedule_rows",
    "set_state",
    "state",
    "sync_schedules",
]
