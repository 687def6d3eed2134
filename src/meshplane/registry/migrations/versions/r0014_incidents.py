"""Incidents: one unresolved incident per (port, check) key, and the trail of their state changes.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07

``incidents`` (`meshplane.registry.incidents`) holds each incident with its state, counts, last
observed value and who acknowledged or resolved it; a partial unique index keeps one unresolved
incident per key. ``incident_events`` is the audit trail, one row per state change, with the claim
columns a notifier uses to consume it.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# The tables are declared in meshplane.registry.incidents. Importing it registers them on
# `Base.metadata` whenever the migrations are loaded, so comparing the models with the migrated
# schema sees them.
import meshplane.registry.incidents  # noqa: F401
from meshplane.registry.models import UtcDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    """Create ``incidents`` and ``incident_events``."""
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(720), nullable=False),
        sa.Column("contract_id", sa.String(200), nullable=False),
        sa.Column("check_id", sa.String(500), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("domain_id", sa.String(200), nullable=False),
        sa.Column("product_id", sa.String(200), nullable=True),
        sa.Column("port", sa.String(300), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("severity", sa.String(16), nullable=True),
        sa.Column("opened_at", UtcDateTime(), nullable=False),
        sa.Column("first_seen_at", UtcDateTime(), nullable=False),
        sa.Column("last_seen_at", UtcDateTime(), nullable=False),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("observed", _json(), nullable=True),
        sa.Column("threshold", sa.Text(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("last_run_id", sa.Integer(), nullable=True),
        sa.Column("acknowledged_at", UtcDateTime(), nullable=True),
        sa.Column("acknowledged_by", sa.String(300), nullable=True),
        sa.Column("resolved_at", UtcDateTime(), nullable=True),
        sa.Column("resolved_by", sa.String(300), nullable=True),
        sa.Column("resolution", sa.String(32), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("reopened", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_incidents"),
    )
    op.create_index("ix_incidents_key", "incidents", ["key"])
    op.create_index("ix_incidents_domain_id", "incidents", ["domain_id"])
    op.create_index("ix_incidents_state", "incidents", ["state"])
    op.create_index(
        "uq_incidents_unresolved_key",
        "incidents",
        ["key"],
        unique=True,
        sqlite_where=sa.text("state != 'resolved'"),
        postgresql_where=sa.text("state != 'resolved'"),
    )
    op.create_table(
        "incident_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("actor", sa.String(300), nullable=False),
        sa.Column("state_from", sa.String(16), nullable=True),
        sa.Column("state_to", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("details", _json(), nullable=False),
        sa.Column("notified_at", UtcDateTime(), nullable=True),
        sa.Column("claimed_by", sa.String(120), nullable=True),
        sa.Column("claimed_until", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name="fk_incident_events_incident_id_incidents", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_incident_events"),
    )
    op.create_index("ix_incident_events_incident_id", "incident_events", ["incident_id"])
    op.create_index("ix_incident_events_notified_at", "incident_events", ["notified_at"])


def downgrade() -> None:
    """Drop the incident tables (their history is lost)."""
    op.drop_table("incident_events")
    op.drop_table("incidents")
