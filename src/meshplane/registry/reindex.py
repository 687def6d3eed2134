"""Reindexing stored lineage: the ``lineage_reindexes`` table (migration 0012) and the reset it records.

What a stored event derives to depends on the port index, the job-namespace and owner mappings,
the lake roots and the dbt links at the time it is derived. When they change, `reset` clears the
derived tables (runs, run datasets, column usage) and queues every stored event again
(``lineage_pending``) in one transaction; the derivation job then derives them all on the new
basis, order-independently, exactly as the first time. Events claimed by a worker at that moment
stay queued and are derived once. Each reset is a row here: the basis's fingerprint, the reason,
who, when, and how many events were queued.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from meshplane.registry.lineage import ColumnUsage, LineageRun, RunDataset, StoredEvent
from meshplane.registry.lineage_queue import PendingEvent
from meshplane.registry.models import NAME, SHA256, Base


class Reindex(Base):
    """One reindex: the basis derived lineage is derived on from then on."""

    __tablename__ = "lineage_reindexes"

    id: Mapped[int] = mapped_column(primary_key=True)
    fingerprint: Mapped[str] = mapped_column(SHA256)
    reason: Mapped[str] = mapped_column(sa.Text)
    at: Mapped[datetime]
    events: Mapped[int]
    requested_by: Mapped[str] = mapped_column(NAME)


@dataclass(frozen=True)
class ReindexRow:
    """A reindex as stored."""

    id: int
    fingerprint: str
    reason: str
    at: datetime
    events: int
    requested_by: str


def last_reindex(session: Session) -> ReindexRow | None:
    """The newest reindex (the current basis), or None."""
    row = session.execute(sa.select(Reindex).order_by(Reindex.id.desc()).limit(1)).scalar_one_or_none()
    if row is None:
        return None
    return ReindexRow(row.id, row.fingerprint, row.reason, row.at, row.events, row.requested_by)


def record(session: Session, fingerprint: str, *, reason: str, at: datetime, by: str, events: int = 0) -> None:
    """Record a basis (without resetting anything: the first basis of a registry)."""
    session.add(Reindex(fingerprint=fingerprint, reason=reason, at=at, events=events, requested_by=by[:300]))
    session.flush()


def reset(session: Session, fingerprint: str, *, reason: str, at: datetime, by: str) -> int:
    """Clear what was derived and queue every stored event again (failed ones too); how many wait now."""
    for model in (ColumnUsage, RunDataset, LineageRun):
        session.execute(sa.delete(model))
    session.execute(
        sa.update(PendingEvent)
        .where(PendingEvent.failed_at.is_not(None))
        .values(failed_at=None, error=None, claimed_by=None, claimed_until=None)
    )
    queued = sa.select(PendingEvent.event_id)
    missing = sa.select(StoredEvent.id).where(StoredEvent.id.not_in(queued))
    session.execute(sa.insert(PendingEvent).from_select(["event_id"], missing))
    count = int(session.execute(sa.select(sa.func.count()).select_from(PendingEvent)).scalar_one())
    record(session, fingerprint, reason=reason, at=at, by=by, events=count)
    return count


__all__ = ["Reindex", "ReindexRow", "last_reindex", "record", "reset"]
