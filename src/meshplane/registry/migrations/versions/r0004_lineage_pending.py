"""Lineage: the queue of stored events waiting to be derived (``lineage_pending``).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24

Events stored before this revision were derived when they were received: nothing is queued.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import meshplane.registry.lineage_queue  # noqa: F401  (registers the model on Base.metadata)

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``lineage_pending``."""
    op.create_table(
        "lineage_pending",
        sa.Column("event_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("event_id", name="pk_lineage_pending"),
    )


def downgrade() -> None:
    """Drop ``lineage_pending`` (queued events stay stored, underived)."""
    op.drop_table("lineage_pending")
