"""Lineage attribution bound to the sender: who sent each event, and what a run's senders may claim.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07

``lineage_events`` gains ``sender_role`` and ``sender_domain``: the role of the token that posted
the event and, for a maintainer, its domain (`meshplane.access.Principal.lineage_domain`); events
stored before are filled from ``received_by`` (``name (maintainer of D, token X)``, the format of
`Principal.actor`). ``lineage_runs`` gains ``received_by`` (who sent its events), ``sender_domain``
(the domain a maintainer's token bound it to) and ``mismatch`` (what the rules would have said
instead); ``lineage_run_datasets`` gains ``mismatch`` (evidence about another domain's port from a
sender who may not give it). Runs derived before keep NULLs until they are derived again
(`meshplane lineage reindex`).
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_ACTOR = re.compile(r"\((admin|reader|lineage-writer|maintainer of ([^,)]+))(?:, token [^)]*)?\)$")
"""`Principal.actor` as it was written: ``name (role[ of domain][, token id])``."""


def sender_of(received_by: str) -> tuple[str | None, str | None]:
    """(role, domain) of a stored ``received_by`` (None, None when it names no role)."""
    found = _ACTOR.search(received_by)
    if found is None:
        return None, None
    if found.group(2) is not None:
        return "maintainer", found.group(2)
    return found.group(1), None


def upgrade() -> None:
    """Add the sender columns and fill those of the stored events."""
    with op.batch_alter_table("lineage_events") as batch:
        batch.add_column(sa.Column("sender_role", sa.String(16), nullable=True))
        batch.add_column(sa.Column("sender_domain", sa.String(200), nullable=True))
    with op.batch_alter_table("lineage_runs") as batch:
        batch.add_column(sa.Column("received_by", sa.Text(), nullable=True))
        batch.add_column(sa.Column("sender_domain", sa.String(200), nullable=True))
        batch.add_column(sa.Column("mismatch", sa.Text(), nullable=True))
    with op.batch_alter_table("lineage_run_datasets") as batch:
        batch.add_column(sa.Column("mismatch", sa.Text(), nullable=True))
    events = sa.table(
        "lineage_events",
        sa.column("received_by", sa.String(300)),
        sa.column("sender_role", sa.String(16)),
        sa.column("sender_domain", sa.String(200)),
    )
    connection = op.get_bind()
    senders = connection.execute(sa.select(events.c.received_by).distinct()).scalars().all()
    for received_by in senders:  # a handful of distinct tokens, however many events
        role, domain = sender_of(received_by)
        if role is not None:
            connection.execute(
                events.update()
                .where(events.c.received_by == received_by)
                .values(sender_role=role, sender_domain=domain)
            )


def downgrade() -> None:
    """Drop the sender columns (attribution follows the rules alone again)."""
    with op.batch_alter_table("lineage_run_datasets") as batch:
        batch.drop_column("mismatch")
    with op.batch_alter_table("lineage_runs") as batch:
        batch.drop_column("mismatch")
        batch.drop_column("sender_domain")
        batch.drop_column("received_by")
    with op.batch_alter_table("lineage_events") as batch:
        batch.drop_column("sender_domain")
        batch.drop_column("sender_role")
