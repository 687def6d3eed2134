"""Reindexes: the basis stored lineage was derived on, and each time it was derived again.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07

``lineage_reindexes`` holds one row per reindex (`meshplane.registry.reindex`): the fingerprint of
what resolution depends on (the port index, the job-namespace and owner mappings, the lake roots,
the dbt links), why, when, by whom, and how many stored events were queued again. The newest row
is the basis the derived lineage is (being) derived on.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# The table is declared in meshplane.registry.reindex. Importing it registers it on
# `Base.metadata` whenever the migrations are loaded, so comparing the models with the migrated
# schema sees it.
import meshplane.registry.reindex  # noqa: F401
from meshplane.registry.models import UtcDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``lineage_reindexes``."""
    op.create_table(
        "lineage_reindexes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.String(300), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_lineage_reindexes"),
    )


def downgrade() -> None:
    """Drop ``lineage_reindexes`` (the next reindex starts a new history)."""
    op.drop_table("lineage_reindexes")
