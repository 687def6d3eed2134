"""Notification deliveries: one row per (incident event, domain, target), with its attempts.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07

``notification_deliveries`` (`meshplane.registry.notifications`): what each target of each domain
is sent about each incident event, its state (pending, delivered, dead), its attempts log and the
sender's lease.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import meshplane.registry.notifications  # noqa: F401  (registers the table on Base.metadata)
from meshplane.registry.models import UtcDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    """Create ``notification_deliveries``."""
    op.create_table(
        "notification_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("domain_id", sa.String(200), nullable=False),
        sa.Column("audience", sa.String(16), nullable=False),
        sa.Column("target", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("secret_env", sa.String(200), nullable=True),
        sa.Column("payload", _json(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("attempts_log", _json(), nullable=False),
        sa.Column("delivered_at", UtcDateTime(), nullable=True),
        sa.Column("claimed_by", sa.String(120), nullable=True),
        sa.Column("claimed_until", UtcDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(300), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name="fk_notification_deliveries_incident_id_incidents",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["incident_events.id"], name="fk_notification_deliveries_event_id_incident_events",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_notification_deliveries"),
        sa.UniqueConstraint("event_id", "domain_id", "target", name="uq_notification_deliveries_target"),
    )  # fmt: skip
    op.create_index("ix_notification_deliveries_incident_id", "notification_deliveries", ["incident_id"])
    op.create_index("ix_notification_deliveries_state", "notification_deliveries", ["state"])
    op.create_index("ix_notification_deliveries_next_attempt_at", "notification_deliveries", ["next_attempt_at"])


def downgrade() -> None:
    """Drop ``notification_deliveries`` (the delivery logs are lost)."""
    op.drop_table("notification_deliveries")
