"""Lineage: drop the index of ``lineage_events.run_id``.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24

No query reads stored events by run (runs are read from ``lineage_runs``), and run ids are random
UUIDs: every received event paid for an insert at a random place of this index, a cost that grows
with the table (docs/lineage.md, "Throughput").
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Drop ``ix_lineage_events_run_id``."""
    op.drop_index("ix_lineage_events_run_id", table_name="lineage_events")


def downgrade() -> None:
    """Create ``ix_lineage_events_run_id`` again."""
    op.create_index("ix_lineage_events_run_id", "lineage_events", ["run_id"])
