"""Notification deliveries (migrations ``0015``, ``0016``): one row per (subject, domain, target).

A delivery's subject is an incident event (``incident_id`` and ``event_id``), a usage agreement's
transition (``agreement_event_id``) or a deprecation reminder (``reminder_id``, a
`DeprecationReminder`, unique per deprecated port, consumer and milestone so it is sent once).
The notifications job (`meshplane.service.notifications`, `meshplane.service.notices`) turns each
event into the deliveries its audience should get, in the transaction that marks the event
notified, so an event is fanned out once. A delivery is ``pending`` until its target accepted it (``delivered``) or its
retry window ran out (``dead``: the dead-letter state). Each attempt is appended to ``attempts_log``;
nothing is deleted. Senders claim one due delivery at a time with a lease (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL), so a sender killed mid-delivery leaves it to another after the lease.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from meshplane.registry.access import AgreementEvent
from meshplane.registry.models import ID, NAME, Base

STATES = ("pending", "delivered", "dead")


class DeprecationReminder(Base):
    """One reminder decided: a consumer still on a deprecated port, at one milestone (sent once)."""

    __tablename__ = "deprecation_reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(1000), unique=True)
    """``<provider>/<port>@<version>|<consumer>|<milestone>``."""
    provider_product_id: Mapped[str] = mapped_column(ID)
    port_name: Mapped[str] = mapped_column(NAME)
    port_version: Mapped[str] = mapped_column(sa.String(64))
    consumer: Mapped[str] = mapped_column(NAME)
    """The consumer product, or ``domain:<id>`` for a domain only seen reading in lineage."""
    consumer_domain: Mapped[str] = mapped_column(ID)
    milestone: Mapped[str] = mapped_column(sa.String(16))
    sunset_date: Mapped[date | None] = mapped_column(sa.Date)
    created_at: Mapped[datetime]


class Delivery(Base):
    """One message about one subject (incident event, agreement transition, reminder) to one target of one domain."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        sa.UniqueConstraint("event_id", "domain_id", "target", name="uq_notification_deliveries_target"),
        sa.UniqueConstraint(
            "agreement_event_id", "domain_id", "target", name="uq_notification_deliveries_agreement_target"
        ),
        sa.UniqueConstraint("reminder_id", "domain_id", "target", name="uq_notification_deliveries_reminder_target"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int | None] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int | None] = mapped_column(sa.ForeignKey("incident_events.id", ondelete="CASCADE"))
    agreement_event_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agreement_events.id", ondelete="CASCADE"))
    reminder_id: Mapped[int | None] = mapped_column(sa.ForeignKey("deprecation_reminders.id", ondelete="CASCADE"))
    domain_id: Mapped[str] = mapped_column(ID)
    audience: Mapped[str] = mapped_column(sa.String(16))
    """``provider`` (the incident's or the port's domain) or ``consumer`` (a domain that reads it)."""
    target: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[str] = mapped_column(sa.String(16))
    """``webhook`` or ``apprise``."""
    address: Mapped[str] = mapped_column(sa.Text)
    """The webhook URL or the apprise URL as declared (``${VAR}`` placeholders unexpanded)."""
    secret_env: Mapped[str | None] = mapped_column(sa.String(200))
    payload: Mapped[dict[str, Any]]
    state: Mapped[str] = mapped_column(sa.String(16), index=True)
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime] = mapped_column(index=True)
    attempts: Mapped[int]
    attempts_log: Mapped[list[Any]]
    delivered_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(sa.String(120))
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    actor: Mapped[str | None] = mapped_column(NAME)


def claim_due(session: Session, worker_id: str, *, now: datetime, until: datetime) -> Delivery | None:
    """Claim the oldest due pending delivery not held by another sender, until `until`."""
    candidate = (
        sa.select(Delivery.id)
        .where(
            Delivery.state == "pending",
            Delivery.next_attempt_at <= now,
            sa.or_(Delivery.claimed_until.is_(None), Delivery.claimed_until < now),
        )
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(1)
    )
    if session.get_bind().dialect.name == "postgresql":
        candidate = candidate.with_for_update(skip_locked=True)
    statement = (
        sa.update(Delivery)
        .where(Delivery.id.in_(candidate.scalar_subquery()))
        .values(claimed_by=worker_id, claimed_until=until)
        .returning(Delivery.id)
    )
    row = session.execute(statement).first()
    return session.get(Delivery, int(row[0]), populate_existing=True) if row is not None else None


def of_incident(session: Session, incident_id: int) -> list[Delivery]:
    """An incident's deliveries, oldest first."""
    query = sa.select(Delivery).where(Delivery.incident_id == incident_id).order_by(Delivery.id)
    return list(session.scalars(query))


def existing_keys(session: Session, event_ids: Sequence[int]) -> set[tuple[int, str, str]]:
    """(event, domain, target) of the deliveries already made for `event_ids`."""
    if not event_ids:
        return set()
    query = sa.select(Delivery.event_id, Delivery.domain_id, Delivery.target).where(
        Delivery.event_id.in_(list(event_ids))
    )
    return {(int(e), str(d), str(t)) for e, d, t in session.execute(query) if e is not None}


def claim_agreement_events(
    session: Session, worker_id: str, *, now: datetime, until: datetime, limit: int = 100
) -> list[int]:
    """Claim up to `limit` agreement transitions not yet fanned out, as `incidents.claim_events` does."""
    candidates = (
        sa.select(AgreementEvent.id)
        .where(
            AgreementEvent.notified_at.is_(None),
            sa.or_(AgreementEvent.claimed_until.is_(None), AgreementEvent.claimed_until < now),
        )
        .order_by(AgreementEvent.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    statement = (
        sa.update(AgreementEvent)
        .where(AgreementEvent.id.in_(candidates.scalar_subquery()))
        .values(claimed_by=worker_id, claimed_until=until)
        .returning(AgreementEvent.id)
    )
    return sorted(int(row[0]) for row in session.execute(statement))


def mark_agreement_events(session: Session, event_ids: Sequence[int], worker_id: str, at: datetime) -> int:
    """Record agreement transitions as fanned out, only those `worker_id` still holds; how many."""
    if not event_ids:
        return 0
    result = session.execute(
        sa.update(AgreementEvent)
        .where(AgreementEvent.id.in_(list(event_ids)), AgreementEvent.claimed_by == worker_id)
        .values(notified_at=at, claimed_by=None, claimed_until=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def reminded_keys(session: Session, keys: Sequence[str]) -> set[str]:
    """Which of the reminder `keys` were already decided (and so sent or being sent)."""
    out: set[str] = set()
    for start in range(0, len(keys), 500):
        chunk = list(keys[start : start + 500])
        out.update(
            str(k)
            for k in session.scalars(sa.select(DeprecationReminder.key).where(DeprecationReminder.key.in_(chunk)))
        )
    return out


def of_subject(session: Session, *, agreement_id: int | None = None, reminder_key: str | None = None) -> list[Delivery]:
    """The deliveries of one agreement's transitions, or of one reminder, oldest first."""
    query = sa.select(Delivery).order_by(Delivery.id)
    if agreement_id is not None:
        events = sa.select(AgreementEvent.id).where(AgreementEvent.agreement_id == agreement_id)
        query = query.where(Delivery.agreement_event_id.in_(events))
    if reminder_key is not None:
        reminders = sa.select(DeprecationReminder.id).where(DeprecationReminder.key == reminder_key)
        query = query.where(Delivery.reminder_id.in_(reminders))
    return list(session.scalars(query))


__all__ = [
    "STATES",
    "Delivery",
    "DeprecationReminder",
    "claim_agreement_events",
    "claim_due",
    "existing_keys",
    "mark_agreement_events",
    "of_incident",
    "of_subject",
    "reminded_keys",
]
