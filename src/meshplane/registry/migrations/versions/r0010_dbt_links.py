"""dbt links: which relations of a consumer's dbt project are which lake data.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07

``dbt_link_sets`` holds each ``meshplane dbt link`` of a product (manifest, dbt and manifest
schema versions, who and when; never deleted: the newest id versions the links), ``dbt_links``
the current links of each product, one per dbt node (`meshplane.registry.dbtlinks`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# The tables are declared in meshplane.registry.dbtlinks. Importing it registers them on
# `Base.metadata` whenever the migrations are loaded, so comparing the models with the migrated
# schema sees them.
import meshplane.registry.dbtlinks  # noqa: F401
from meshplane.registry.models import UtcDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``dbt_link_sets`` and ``dbt_links``."""
    op.create_table(
        "dbt_link_sets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product", sa.String(200), nullable=False),
        sa.Column("manifest", sa.Text(), nullable=False),
        sa.Column("project", sa.String(300), nullable=False),
        sa.Column("dbt_version", sa.String(64), nullable=False),
        sa.Column("schema_version", sa.String(16), nullable=False),
        sa.Column("links", sa.Integer(), nullable=False),
        sa.Column("linked_at", UtcDateTime(), nullable=False),
        sa.Column("linked_by", sa.String(300), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dbt_link_sets"),
    )
    op.create_index("ix_dbt_link_sets_product", "dbt_link_sets", ["product"])
    op.create_table(
        "dbt_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("set_id", sa.Integer(), nullable=False),
        sa.Column("product", sa.String(200), nullable=False),
        sa.Column("node", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("scheme", sa.String(32), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("target_namespace", sa.Text(), nullable=False),
        sa.Column("target_name", sa.Text(), nullable=False),
        sa.Column("function", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(["set_id"], ["dbt_link_sets.id"], name="fk_dbt_links_set_id_dbt_link_sets"),
        sa.PrimaryKeyConstraint("id", name="pk_dbt_links"),
    )
    op.create_index("ix_dbt_links_product", "dbt_links", ["product"])


def downgrade() -> None:
    """Drop the dbt links (products must be linked again)."""
    op.drop_index("ix_dbt_links_product", table_name="dbt_links")
    op.drop_table("dbt_links")
    op.drop_index("ix_dbt_link_sets_product", table_name="dbt_link_sets")
    op.drop_table("dbt_link_sets")
