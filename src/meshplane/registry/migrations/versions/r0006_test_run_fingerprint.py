"""Test runs: a fingerprint, so that a run sent again is stored once.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24

``test_runs.fingerprint`` is the sha256 of the run document as received (unique). Runs stored
before this revision have none: their documents were not kept whole, and they stay as they are.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``test_runs.fingerprint`` and its unique index."""
    op.add_column("test_runs", sa.Column("fingerprint", sa.String(64), nullable=True))
    op.create_index("uq_test_runs_fingerprint", "test_runs", ["fingerprint"], unique=True)


def downgrade() -> None:
    """Drop the fingerprint (runs sent twice from then on are stored twice)."""
    op.drop_index("uq_test_runs_fingerprint", table_name="test_runs")
    with op.batch_alter_table("test_runs") as batch:
        batch.drop_column("fingerprint")
