"""Access: API tokens (hashes only), usage agreements with their transitions, output port settings.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

# The models of these tables live in `meshplane.registry.access` (their rules: `meshplane.access`). Importing
# it here registers them on `Base.metadata` whenever the migrations are loaded, so comparing the
# migrated schema with the models (and autogenerate) always sees every table. The DDL below is
# spelled out, as migrations must be; nothing of the module is used.
import meshplane.registry.access  # noqa: F401

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _at(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Create the access tables."""
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_id", sa.String(16), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("domain_id", sa.String(200), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        _at("created_at"),
        sa.Column("created_by", sa.String(300), nullable=False),
        _at("last_used_at", nullable=True),
        _at("revoked_at", nullable=True),
        sa.Column("revoked_by", sa.String(300), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("token_id", name="uq_api_tokens_token_id"),
    )
    op.create_table(
        "usage_agreements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consumer_product_id", sa.String(200), nullable=False),
        sa.Column("provider_product_id", sa.String(200), nullable=False),
        sa.Column("port_name", sa.String(300), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        _at("requested_at"),
        sa.Column("requested_by", sa.String(300), nullable=False),
        _at("decided_at", nullable=True),
        sa.Column("decided_by", sa.String(300), nullable=True),
        _at("updated_at"),
        sa.Column("open_key", sa.String(800), nullable=True),
        sa.ForeignKeyConstraint(
            ["consumer_product_id"], ["products.id"], name="fk_usage_agreements_consumer_product_id_products"
        ),
        sa.ForeignKeyConstraint(
            ["provider_product_id"], ["products.id"], name="fk_usage_agreements_provider_product_id_products"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_usage_agreements"),
        sa.UniqueConstraint("open_key", name="uq_usage_agreements_open_key"),
    )
    op.create_index("ix_usage_agreements_state", "usage_agreements", ["state"])
    op.create_index("ix_usage_agreements_provider", "usage_agreements", ["provider_product_id", "port_name"])
    op.create_index("ix_usage_agreements_consumer", "usage_agreements", ["consumer_product_id"])
    op.create_table(
        "agreement_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        _at("at"),
        sa.Column("actor", sa.String(300), nullable=False),
        sa.Column("from_state", sa.String(16), nullable=True),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("audit_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agreement_id"], ["usage_agreements.id"], name="fk_agreement_events_agreement_id_usage_agreements"
        ),
        sa.ForeignKeyConstraint(["audit_id"], ["audit_log.id"], name="fk_agreement_events_audit_id_audit_log"),
        sa.PrimaryKeyConstraint("id", name="pk_agreement_events"),
    )
    op.create_index("ix_agreement_events_agreement_id", "agreement_events", ["agreement_id"])
    op.create_table(
        "port_settings",
        sa.Column("product_id", sa.String(200), nullable=False),
        sa.Column("port_name", sa.String(300), nullable=False),
        sa.Column("auto_approve", sa.Boolean(), nullable=False),
        _at("updated_at"),
        sa.Column("updated_by", sa.String(300), nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], name="fk_port_settings_product_id_products"),
        sa.PrimaryKeyConstraint("product_id", "port_name", name="pk_port_settings"),
    )


def downgrade() -> None:
    """Drop the access tables."""
    op.drop_table("port_settings")
    op.drop_index("ix_agreement_events_agreement_id", table_name="agreement_events")
    op.drop_table("agreement_events")
    op.drop_index("ix_usage_agreements_consumer", table_name="usage_agreements")
    op.drop_index("ix_usage_agreements_provider", table_name="usage_agreements")
    op.drop_index("ix_usage_agreements_state", table_name="usage_agreements")
    op.drop_table("usage_agreements")
    op.drop_table("api_tokens")
