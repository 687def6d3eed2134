"""The background worker: claims on queued lineage events, and worker heartbeats.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

``lineage_pending`` gains ``claimed_by`` / ``claimed_until``: a worker claims queued events for a
lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so several workers derive side by side and a
worker killed mid-chunk leaves its events to another once the lease ends. ``worker_heartbeats``
holds each worker's last sign of life and what its jobs did (`meshplane.registry.worker`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the claim columns and ``worker_heartbeats``."""
    with op.batch_alter_table("lineage_pending") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(120), nullable=True))
        batch.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "worker_heartbeats",
        sa.Column("worker_id", sa.String(120), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("beat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("interval_s", sa.Float(), nullable=False),
        sa.Column("jobs", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.PrimaryKeyConstraint("worker_id", name="pk_worker_heartbeats"),
    )
    op.create_index("ix_worker_heartbeats_beat_at", "worker_heartbeats", ["beat_at"])


def downgrade() -> None:
    """Drop ``worker_heartbeats`` and the claim columns (claims in flight are forgotten)."""
    op.drop_index("ix_worker_heartbeats_beat_at", table_name="worker_heartbeats")
    op.drop_table("worker_heartbeats")
    with op.batch_alter_table("lineage_pending") as batch:
        batch.drop_column("claimed_until")
        batch.drop_column("claimed_by")
