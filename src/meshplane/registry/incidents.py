"""Incidents and their audit trail (migration ``0014``): one open incident per (port, check) key.

``incidents`` holds one row per incident: the key (contract of the port, check id), where it lives
(domain, product, port), its state (``open`` → ``acknowledged`` → ``resolved``), how often and when
the failure was seen, the last observed value, and who acknowledged or resolved it and why. A
partial unique index keeps at most one unresolved incident per key.

``incident_events`` is the audit trail: one row per state change (``opened``, ``acknowledged``,
``resolved``, ``reopened``), never updated except for its notification claim. A notifier consumes it
the way the worker consumes the lineage queue: `claim_events` takes unnotified events for a lease
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL), `mark_notified` records them done while the claim is its
own; a notifier killed mid-delivery leaves its claims to run out (docs/monitoring.md#notifications-interface).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from meshplane.registry.models import ID, NAME, Base, JsonDocument

STATES = ("open", "acknowledged", "resolved")
REASONS = ("fixed", "false-positive", "expected", "other")
"""Why a person resolved an incident (the worker resolving it on a passing check says ``passed``)."""
EVENT_KINDS = ("opened", "acknowledged", "resolved", "reopened")


class Incident(Base):
    """A failing check (or freshness breach) of an output port, while it lasts and after."""

    __tablename__ = "incidents"
    __table_args__ = (
        sa.Index(
            "uq_incidents_unresolved_key",
            "key",
            unique=True,
            sqlite_where=sa.text("state != 'resolved'"),
            postgresql_where=sa.text("state != 'resolved'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(720), index=True)
    """``<contract id>|<check id>``: the port (by its contract) and the check."""
    contract_id: Mapped[str] = mapped_column(ID)
    check_id: Mapped[str] = mapped_column(sa.String(500))
    kind: Mapped[str] = mapped_column(sa.String(32))
    """``test`` (a contract test's check) or ``freshness`` (the worker's freshness evaluation)."""
    domain_id: Mapped[str] = mapped_column(ID, index=True)
    product_id: Mapped[str | None] = mapped_column(ID)
    port: Mapped[str | None] = mapped_column(NAME)
    state: Mapped[str] = mapped_column(sa.String(16), index=True)
    severity: Mapped[str | None] = mapped_column(sa.String(16))
    opened_at: Mapped[datetime]
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    occurrences: Mapped[int]
    observed: Mapped[Any | None] = mapped_column(JsonDocument)
    threshold: Mapped[str | None] = mapped_column(sa.Text)
    message: Mapped[str | None] = mapped_column(sa.Text)
    last_run_id: Mapped[int | None]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(NAME)
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(NAME)
    resolution: Mapped[str | None] = mapped_column(sa.String(32))
    note: Mapped[str | None] = mapped_column(sa.Text)
    reopened: Mapped[int]


class IncidentEvent(Base):
    """One state change of an incident: what, when, by whom, why; and its notification claim."""

    __tablename__ = "incident_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(NAME)
    state_from: Mapped[str | None] = mapped_column(sa.String(16))
    state_to: Mapped[str] = mapped_column(sa.String(16))
    reason: Mapped[str | None] = mapped_column(sa.String(32))
    note: Mapped[str | None] = mapped_column(sa.Text)
    details: Mapped[dict[str, Any]]
    notified_at: Mapped[datetime | None] = mapped_column(index=True)
    claimed_by: Mapped[str | None] = mapped_column(sa.String(120))
    claimed_until: Mapped[datetime | None]


def incident_key(contract_id: str, check_id: str) -> str:
    """The key of a (port, check) pair: the port's contract and the check."""
    return f"{contract_id}|{check_id}"


def unresolved(session: Session, key: str) -> Incident | None:
    """The unresolved incident of `key` (at most one)."""
    query = sa.select(Incident).where(Incident.key == key, Incident.state != "resolved")
    return session.scalars(query).first()


def unresolved_keys(session: Session, keys: Sequence[str]) -> dict[str, Incident]:
    """The unresolved incidents among `keys`, by key."""
    out: dict[str, Incident] = {}
    for start in range(0, len(keys), 500):
        chunk = list(keys[start : start + 500])
        query = sa.select(Incident).where(Incident.key.in_(chunk), Incident.state != "resolved")
        out.update((row.key, row) for row in session.scalars(query))
    return out


def unresolved_ids(session: Session, keys: Sequence[str]) -> dict[str, int]:
    """The ids of the unresolved incidents among `keys`, by key (no objects loaded)."""
    out: dict[str, int] = {}
    for start in range(0, len(keys), 500):
        chunk = list(keys[start : start + 500])
        query = sa.select(Incident.key, Incident.id).where(Incident.key.in_(chunk), Incident.state != "resolved")
        out.update((key, int(incident_id)) for key, incident_id in session.execute(query))
    return out


def latest(session: Session, key: str) -> Incident | None:
    """The newest incident of `key`, whatever its state."""
    return session.scalars(sa.select(Incident).where(Incident.key == key).order_by(Incident.id.desc()).limit(1)).first()


def latest_of(session: Session, keys: Sequence[str]) -> dict[str, Incident]:
    """The newest incident of each of `keys` that has one, whatever its state."""
    out: dict[str, Incident] = {}
    for start in range(0, len(keys), 500):
        newest = (
            sa.select(sa.func.max(Incident.id))
            .where(Incident.key.in_(list(keys[start : start + 500])))
            .group_by(Incident.key)
        )
        out.update((row.key, row) for row in session.scalars(sa.select(Incident).where(Incident.id.in_(newest))))
    return out


def add_event(
    session: Session,
    incident: Incident,
    kind: str,
    *,
    at: datetime,
    actor: str,
    state_from: str | None,
    reason: str | None = None,
    note: str | None = None,
    details: dict[str, Any] | None = None,
) -> IncidentEvent:
    """Append a state change to the trail (inside the caller's transaction)."""
    event = IncidentEvent(
        incident_id=incident.id,
        kind=kind,
        at=at,
        actor=actor[:300],
        state_from=state_from,
        state_to=incident.state,
        reason=reason,
        note=note,
        details=details or {},
    )
    session.add(event)
    return event


def events_of(session: Session, incident_id: int) -> list[IncidentEvent]:
    """An incident's trail, oldest first."""
    query = sa.select(IncidentEvent).where(IncidentEvent.incident_id == incident_id).order_by(IncidentEvent.id)
    return list(session.scalars(query))


def claim_events(session: Session, worker_id: str, *, now: datetime, until: datetime, limit: int = 100) -> list[int]:
    """Claim up to `limit` unnotified events (oldest first) for `worker_id` until `until`; their ids.

    Free events are those never claimed, or whose claim ran out. On PostgreSQL the candidates are
    locked ``FOR UPDATE SKIP LOCKED``: two notifiers never claim the same event.
    """
    candidates = (
        sa.select(IncidentEvent.id)
        .where(
            IncidentEvent.notified_at.is_(None),
            sa.or_(IncidentEvent.claimed_until.is_(None), IncidentEvent.claimed_until < now),
        )
        .order_by(IncidentEvent.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    statement = (
        sa.update(IncidentEvent)
        .where(IncidentEvent.id.in_(candidates.scalar_subquery()))
        .values(claimed_by=worker_id, claimed_until=until)
        .returning(IncidentEvent.id)
    )
    return sorted(int(row[0]) for row in session.execute(statement))


def mark_notified(session: Session, event_ids: Sequence[int], worker_id: str, at: datetime) -> int:
    """Record events as handed to the notifications, only those `worker_id` still holds; how many."""
    if not event_ids:
        return 0
    result = session.execute(
        sa.update(IncidentEvent)
        .where(IncidentEvent.id.in_(list(event_ids)), IncidentEvent.claimed_by == worker_id)
        .values(notified_at=at, claimed_by=None, claimed_until=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)


__all__ = [
    "EVENT_KINDS",
    "REASONS",
    "STATES",
    "Incident",
    "IncidentEvent",
    "add_event",
    "claim_events",
    "events_of",
    "incident_key",
    "latest",
    "latest_of",
    "mark_notified",
    "unresolved",
    "unresolved_ids",
    "unresolved_keys",
]
