"""Monitoring schedules: each scheduled contract, its next run, its claim and its last run.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07

``monitor_schedules`` holds one row per contract bound to an output port (`meshplane.registry.monitoring`):
its schedule, when it is due, which worker holds it until when (a lease), and what its last run did.
``monitor_state`` holds the monitor's bookkeeping (the basis schedules were synchronised on).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# The tables are declared in meshplane.registry.monitoring. Importing it registers them on
# `Base.metadata` whenever the migrations are loaded, so comparing the models with the migrated
# schema sees them.
import meshplane.registry.monitoring  # noqa: F401
from meshplane.registry.models import UtcDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``monitor_schedules`` and ``monitor_state``."""
    op.create_table(
        "monitor_schedules",
        sa.Column("contract_id", sa.String(200), nullable=False),
        sa.Column("domain_id", sa.String(200), nullable=False),
        sa.Column("product_id", sa.String(200), nullable=True),
        sa.Column("port", sa.String(300), nullable=True),
        sa.Column("engine", sa.String(64), nullable=True),
        sa.Column("schedule", sa.String(200), nullable=True),
        sa.Column("origin", sa.String(32), nullable=True),
        sa.Column("problem", sa.Text(), nullable=True),
        sa.Column("next_run_at", UtcDateTime(), nullable=True),
        sa.Column("claimed_by", sa.String(120), nullable=True),
        sa.Column("claimed_until", UtcDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_started_at", UtcDateTime(), nullable=True),
        sa.Column("last_finished_at", UtcDateTime(), nullable=True),
        sa.Column("last_seconds", sa.Float(), nullable=True),
        sa.Column("last_result", sa.String(16), nullable=True),
        sa.Column("last_run_id", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("contract_id", name="pk_monitor_schedules"),
    )
    op.create_index("ix_monitor_schedules_domain_id", "monitor_schedules", ["domain_id"])
    op.create_index("ix_monitor_schedules_next_run_at", "monitor_schedules", ["next_run_at"])
    op.create_table(
        "monitor_state",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_monitor_state"),
    )


def downgrade() -> None:
    """Drop the monitoring tables (schedules are synchronised again from the registry after an upgrade)."""
    op.drop_table("monitor_state")
    op.drop_index("ix_monitor_schedules_next_run_at", table_name="monitor_schedules")
    op.drop_index("ix_monitor_schedules_domain_id", table_name="monitor_schedules")
    op.drop_table("monitor_schedules")
