"""Notification deliveries (migration ``0015``): one row per (incident event, domain, target).

The notifications job (`meshplane.service.notifications`) turns each incident event into the
deliveries its audience should get, in the transaction that marks the event notified, so an event
is fanned out once. A delivery is ``pending`` until its target accepted it (``delivered``) or its
retry window ran out (``dead``: the dead-letter state). Each attempt is appended to ``attempts_log``;
nothing is deleted. Senders claim one due delivery at a time with a lease (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL), so a sender killed mid-delivery leaves it to another after the lease.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from meshplane.registry.models import ID, NAME, Base

STATES = ("pending", "delivered", "dead")


class Delivery(Base):
    """One message of one incident event to one target of one domain, and its attempts."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (sa.UniqueConstraint("event_id", "domain_id", "target", name="uq_notification_deliveries_target"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("incident_events.id", ondelete="CASCADE"))
    domain_id: Mapped[str] = mapped_column(ID)
    audience: Mapped[str] = mapped_column(sa.String(16))
    """``provider`` (the incident's domain) or ``consumer`` (a domain in its blast radius)."""
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
    return {(int(e), str(d), str(t)) for e, d, t in session.execute(query)}


__all__ = ["STATES", "Delivery", "claim_due", "existing_keys", "of_incident"]
