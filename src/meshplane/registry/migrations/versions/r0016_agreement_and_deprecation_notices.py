"""Notifications of agreement transitions and deprecation reminders, through the incident delivery log.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07

* ``agreement_events`` gains the notification claim of ``incident_events`` (``notified_at``,
  ``claimed_by``, ``claimed_until``): each transition is written in the transaction that makes it
  and fanned out by the worker's notifications job. The events recorded before this migration are
  marked notified (``notified_at = at``): history is not sent.
* ``deprecation_reminders``: one row per (deprecated port, consumer, milestone) reminded, unique on
  its ``key``, so a reminder is sent once.
* ``notification_deliveries`` carries what a delivery is about: an incident event (``incident_id``
  and ``event_id``, now nullable), an agreement event (``agreement_event_id``) or a reminder
  (``reminder_id``), each unique per (subject, domain, target).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import meshplane.registry.notifications  # noqa: F401  (registers the tables on Base.metadata)
from meshplane.registry.models import UtcDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the agreement events' claim, ``deprecation_reminders`` and the deliveries' new subjects."""
    with op.batch_alter_table("agreement_events") as batch:
        batch.add_column(sa.Column("notified_at", UtcDateTime(), nullable=True))
        batch.add_column(sa.Column("claimed_by", sa.String(120), nullable=True))
        batch.add_column(sa.Column("claimed_until", UtcDateTime(), nullable=True))
    op.create_index("ix_agreement_events_notified_at", "agreement_events", ["notified_at"])
    op.execute(sa.text("UPDATE agreement_events SET notified_at = at"))
    op.create_table(
        "deprecation_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(1000), nullable=False),
        sa.Column("provider_product_id", sa.String(200), nullable=False),
        sa.Column("port_name", sa.String(300), nullable=False),
        sa.Column("port_version", sa.String(64), nullable=False),
        sa.Column("consumer", sa.String(300), nullable=False),
        sa.Column("consumer_domain", sa.String(200), nullable=False),
        sa.Column("milestone", sa.String(16), nullable=False),
        sa.Column("sunset_date", sa.Date(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_deprecation_reminders"),
        sa.UniqueConstraint("key", name="uq_deprecation_reminders_key"),
    )
    with op.batch_alter_table("notification_deliveries") as batch:
        batch.alter_column("incident_id", existing_type=sa.Integer(), nullable=True)
        batch.alter_column("event_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("agreement_event_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("reminder_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_notification_deliveries_agreement_event_id_agreement_events", "agreement_events",
            ["agreement_event_id"], ["id"], ondelete="CASCADE",
        )  # fmt: skip
        batch.create_foreign_key(
            "fk_notification_deliveries_reminder_id_deprecation_reminders", "deprecation_reminders",
            ["reminder_id"], ["id"], ondelete="CASCADE",
        )  # fmt: skip
        batch.create_unique_constraint(
            "uq_notification_deliveries_agreement_target", ["agreement_event_id", "domain_id", "target"]
        )
        batch.create_unique_constraint(
            "uq_notification_deliveries_reminder_target", ["reminder_id", "domain_id", "target"]
        )


def downgrade() -> None:
    """Back to incident deliveries only (the agreement and reminder deliveries are lost)."""
    op.execute(sa.text("DELETE FROM notification_deliveries WHERE incident_id IS NULL OR event_id IS NULL"))
    with op.batch_alter_table("notification_deliveries") as batch:
        batch.drop_constraint("uq_notification_deliveries_reminder_target", type_="unique")
        batch.drop_constraint("uq_notification_deliveries_agreement_target", type_="unique")
        batch.drop_constraint("fk_notification_deliveries_reminder_id_deprecation_reminders", type_="foreignkey")
        batch.drop_constraint("fk_notification_deliveries_agreement_event_id_agreement_events", type_="foreignkey")
        batch.drop_column("reminder_id")
        batch.drop_column("agreement_event_id")
        batch.alter_column("event_id", existing_type=sa.Integer(), nullable=False)
        batch.alter_column("incident_id", existing_type=sa.Integer(), nullable=False)
    op.drop_table("deprecation_reminders")
    op.drop_index("ix_agreement_events_notified_at", table_name="agreement_events")
    with op.batch_alter_table("agreement_events") as batch:
        batch.drop_column("claimed_until")
        batch.drop_column("claimed_by")
        batch.drop_column("notified_at")
