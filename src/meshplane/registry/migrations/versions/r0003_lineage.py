"""Lineage: raw OpenLineage events, runs, run datasets, column usage, the dataset → port index.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-08
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# The models live in `meshplane.registry.lineage` (apply fills the index: `meshplane.service.portindex`).
# Importing it registers them on `Base.metadata` whenever the migrations are loaded, so comparing
# the migrated schema with the models always sees every table. The DDL below is spelled out.
import meshplane.registry.lineage  # noqa: F401

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _at(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _json(name: str, nullable: bool) -> sa.Column[Any]:
    return sa.Column(name, sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=nullable)


def upgrade() -> None:
    """Create the lineage tables."""
    op.create_table(
        "lineage_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("event_type", sa.String(16), nullable=True),
        _at("event_time", nullable=True),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("job_namespace", sa.Text(), nullable=True),
        sa.Column("job_name", sa.Text(), nullable=True),
        _at("received_at"),
        sa.Column("received_by", sa.String(300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_lineage_events"),
        sa.UniqueConstraint("fingerprint", name="uq_lineage_events_fingerprint"),
    )
    op.create_index("ix_lineage_events_run_id", "lineage_events", ["run_id"])
    op.create_index("ix_lineage_events_received_at", "lineage_events", ["received_at"])
    op.create_table(
        "lineage_runs",
        sa.Column("run_key", sa.String(80), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("job_namespace", sa.Text(), nullable=False),
        sa.Column("job_name", sa.Text(), nullable=False),
        sa.Column("domain", sa.String(200), nullable=True),
        sa.Column("rule", sa.String(32), nullable=True),
        sa.Column("rule_detail", sa.Text(), nullable=True),
        sa.Column("parent_run_id", sa.String(64), nullable=True),
        sa.Column("state", sa.String(16), nullable=True),
        _at("state_at", nullable=True),
        _at("first_seen"),
        _at("last_seen"),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("run_key", name="pk_lineage_runs"),
    )
    op.create_index("ix_lineage_runs_domain", "lineage_runs", ["domain"])
    op.create_index("ix_lineage_runs_last_seen", "lineage_runs", ["last_seen"])
    op.create_table(
        "lineage_run_datasets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_key", sa.String(80), nullable=False),
        sa.Column("role", sa.String(8), nullable=False),
        sa.Column("identity_sha", sa.String(64), nullable=False),
        sa.Column("namespace", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("domain", sa.String(200), nullable=True),
        sa.Column("product", sa.String(200), nullable=True),
        sa.Column("port", sa.String(300), nullable=True),
        sa.Column("contract_id", sa.String(200), nullable=True),
        sa.Column("contract_version", sa.String(64), nullable=True),
        sa.Column("object", sa.String(300), nullable=True),
        sa.Column("match", sa.String(8), nullable=True),
        sa.Column("in_lake", sa.Boolean(), nullable=False),
        _at("first_seen"),
        _at("last_seen"),
        sa.Column("row_count", sa.BigInteger(), nullable=True),
        sa.Column("byte_count", sa.BigInteger(), nullable=True),
        sa.Column("file_count", sa.BigInteger(), nullable=True),
        _at("stats_at", nullable=True),
        sa.Column("stats_final", sa.Boolean(), nullable=True),
        _at("schema_at", nullable=True),
        _json("drift", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_lineage_run_datasets"),
        sa.UniqueConstraint(
            "run_key", "role", "identity_sha", name="uq_lineage_run_datasets_run_key_role_identity_sha"
        ),
    )
    op.create_index("ix_lineage_run_datasets_product", "lineage_run_datasets", ["product"])
    op.create_table(
        "lineage_column_usage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("usage_key", sa.String(64), nullable=False),
        sa.Column("consumer_product", sa.String(200), nullable=False),
        sa.Column("consumer_domain", sa.String(200), nullable=True),
        sa.Column("provider_product", sa.String(200), nullable=False),
        sa.Column("port", sa.String(300), nullable=False),
        sa.Column("contract_id", sa.String(200), nullable=False),
        sa.Column("object", sa.String(300), nullable=False),
        sa.Column("field", sa.String(300), nullable=False),
        _at("first_seen"),
        _at("last_seen"),
        sa.PrimaryKeyConstraint("id", name="pk_lineage_column_usage"),
        sa.UniqueConstraint("usage_key", name="uq_lineage_column_usage_usage_key"),
    )
    op.create_index("ix_lineage_column_usage_consumer", "lineage_column_usage", ["consumer_product", "contract_id"])
    op.create_table(
        "lineage_port_index",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("namespace", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("domain", sa.String(200), nullable=False),
        sa.Column("product", sa.String(200), nullable=False),
        sa.Column("port", sa.String(300), nullable=False),
        sa.Column("contract_id", sa.String(200), nullable=False),
        sa.Column("contract_version", sa.String(64), nullable=False),
        sa.Column("object", sa.String(300), nullable=False),
        sa.Column("server", sa.String(300), nullable=False),
        sa.Column("match", sa.String(8), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_lineage_port_index"),
    )
    op.create_table(
        "lineage_index_builds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=True),
        _at("built_at"),
        sa.Column("mesh_root", sa.Text(), nullable=True),
        sa.Column("row_count", sa.Integer(), nullable=False),
        _json("notes", nullable=False),
        sa.ForeignKeyConstraint(["audit_id"], ["audit_log.id"], name="fk_lineage_index_builds_audit_id_audit_log"),
        sa.PrimaryKeyConstraint("id", name="pk_lineage_index_builds"),
    )
    op.create_table(
        "lineage_directory",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_lineage_directory"),
    )


def downgrade() -> None:
    """Drop the lineage tables."""
    op.drop_table("lineage_directory")
    op.drop_table("lineage_index_builds")
    op.drop_table("lineage_port_index")
    op.drop_index("ix_lineage_column_usage_consumer", table_name="lineage_column_usage")
    op.drop_table("lineage_column_usage")
    op.drop_index("ix_lineage_run_datasets_product", table_name="lineage_run_datasets")
    op.drop_table("lineage_run_datasets")
    op.drop_index("ix_lineage_runs_last_seen", table_name="lineage_runs")
    op.drop_index("ix_lineage_runs_domain", table_name="lineage_runs")
    op.drop_table("lineage_runs")
    op.drop_index("ix_lineage_events_received_at", table_name="lineage_events")
    op.drop_index("ix_lineage_events_run_id", table_name="lineage_events")
    op.drop_table("lineage_events")
