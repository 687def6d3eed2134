"""Initial registry schema: domains, teams, products, ports, contracts, test runs, audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _at(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _id(name: str = "id") -> sa.Column[Any]:
    return sa.Column(name, sa.Integer(), nullable=False)


def _lifecycle() -> list[sa.Column[Any]]:
    return [_at("created_at"), _at("updated_at"), _at("retired_at", nullable=True)]


def upgrade() -> None:
    """Create every table of the first registry schema."""
    op.create_table(
        "audit_log",
        _id(),
        _at("at"),
        sa.Column("actor", sa.String(300), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(300), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("details", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_action", "audit_log", ["action"])
    op.create_index("ix_audit_log_at", "audit_log", ["at"])

    op.create_table(
        "teams",
        _id(),
        sa.Column("name", sa.String(300), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_teams"),
    )
    op.create_table(
        "team_members",
        _id(),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(300), nullable=False),
        sa.Column("name", sa.String(300), nullable=True),
        sa.Column("role", sa.String(300), nullable=True),
        sa.Column("date_in", sa.String(32), nullable=True),
        sa.Column("date_out", sa.String(32), nullable=True),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name="fk_team_members_team_id_teams", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_team_members"),
        sa.UniqueConstraint("team_id", "position", name="uq_team_members_team_id_position"),
    )
    op.create_index("ix_team_members_username", "team_members", ["username"])

    op.create_table(
        "domains",
        sa.Column("id", sa.String(200), nullable=False),
        sa.Column("name", sa.String(300), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("tags", _json(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("document", _json(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        *_lifecycle(),
        sa.Column("audit_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["audit_id"], ["audit_log.id"], name="fk_domains_audit_id_audit_log"),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name="fk_domains_team_id_teams"),
        sa.PrimaryKeyConstraint("id", name="pk_domains"),
    )

    op.create_table(
        "products",
        sa.Column("id", sa.String(200), nullable=False),
        sa.Column("domain_id", sa.String(200), nullable=False),
        sa.Column("name", sa.String(300), nullable=True),
        sa.Column("status", sa.String(64), nullable=False),
        sa.Column("version", sa.String(64), nullable=True),
        sa.Column("tags", _json(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        *_lifecycle(),
        sa.Column("audit_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["audit_id"], ["audit_log.id"], name="fk_products_audit_id_audit_log"),
        sa.ForeignKeyConstraint(["domain_id"], ["domains.id"], name="fk_products_domain_id_domains"),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name="fk_products_team_id_teams"),
        sa.PrimaryKeyConstraint("id", name="pk_products"),
    )
    op.create_index("ix_products_domain_id", "products", ["domain_id"])

    op.create_table(
        "product_descriptors",
        _id(),
        sa.Column("product_id", sa.String(200), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("document", _json(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        _at("applied_at"),
        sa.Column("applied_by", sa.String(300), nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["audit_id"], ["audit_log.id"], name="fk_product_descriptors_audit_id_audit_log"),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], name="fk_product_descriptors_product_id_products"),
        sa.PrimaryKeyConstraint("id", name="pk_product_descriptors"),
        sa.UniqueConstraint("product_id", "revision", name="uq_product_descriptors_product_id_revision"),
    )

    for table, contract_nullable in (("output_ports", True), ("input_ports", False)):
        extra = (
            [sa.Column("type", sa.String(64), nullable=True), sa.Column("description", sa.Text(), nullable=True)]
            if table == "output_ports"
            else []
        )
        op.create_table(
            table,
            _id(),
            sa.Column("product_id", sa.String(200), nullable=False),
            sa.Column("name", sa.String(300), nullable=False),
            sa.Column("version", sa.String(64), nullable=False),
            sa.Column("major", sa.Integer(), nullable=True),
            sa.Column("contract_id", sa.String(200), nullable=contract_nullable),
            *extra,
            *_lifecycle(),
            sa.ForeignKeyConstraint(["product_id"], ["products.id"], name=f"fk_{table}_product_id_products"),
            sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
            sa.UniqueConstraint("product_id", "name", "version", name=f"uq_{table}_product_id_name_version"),
        )
        op.create_index(f"ix_{table}_contract_major", table, ["contract_id", "major"])

    op.create_table(
        "contracts",
        sa.Column("id", sa.String(200), nullable=False),
        sa.Column("domain_id", sa.String(200), nullable=False),
        sa.Column("product_id", sa.String(200), nullable=True),
        sa.Column("name", sa.String(300), nullable=True),
        sa.Column("latest_version", sa.String(64), nullable=False),
        *_lifecycle(),
        sa.ForeignKeyConstraint(["domain_id"], ["domains.id"], name="fk_contracts_domain_id_domains"),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], name="fk_contracts_product_id_products"),
        sa.PrimaryKeyConstraint("id", name="pk_contracts"),
    )
    op.create_index("ix_contracts_domain_id", "contracts", ["domain_id"])
    op.create_index("ix_contracts_product_id", "contracts", ["product_id"])

    op.create_table(
        "contract_versions",
        _id(),
        sa.Column("contract_id", sa.String(200), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("major", sa.Integer(), nullable=False),
        sa.Column("minor", sa.Integer(), nullable=False),
        sa.Column("patch", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(64), nullable=False),
        sa.Column("document", _json(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        _at("applied_at"),
        sa.Column("applied_by", sa.String(300), nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["audit_id"], ["audit_log.id"], name="fk_contract_versions_audit_id_audit_log"),
        sa.ForeignKeyConstraint(["contract_id"], ["contracts.id"], name="fk_contract_versions_contract_id_contracts"),
        sa.PrimaryKeyConstraint("id", name="pk_contract_versions"),
        sa.UniqueConstraint("contract_id", "version", name="uq_contract_versions_contract_id_version"),
    )

    op.create_table(
        "test_runs",
        _id(),
        sa.Column("contract_id", sa.String(200), nullable=False),
        sa.Column("contract_version", sa.String(64), nullable=False),
        sa.Column("contract_version_id", sa.Integer(), nullable=True),
        sa.Column("server", sa.String(300), nullable=True),
        sa.Column("engine", sa.String(64), nullable=True),
        sa.Column("result", sa.String(16), nullable=False),
        _at("started_at"),
        _at("finished_at", nullable=True),
        _at("recorded_at"),
        sa.Column("recorded_by", sa.String(300), nullable=False),
        sa.Column("check_count", sa.Integer(), nullable=False),
        sa.Column("extra", _json(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_version_id"], ["contract_versions.id"], name="fk_test_runs_contract_version_id_contract_versions"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_test_runs"),
    )
    op.create_index("ix_test_runs_contract", "test_runs", ["contract_id", "contract_version", "started_at"])
    op.create_index("ix_test_runs_result", "test_runs", ["result"])

    op.create_table(
        "check_results",
        _id(),
        sa.Column("test_run_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("check_id", sa.String(500), nullable=False),
        sa.Column("kind", sa.String(64), nullable=True),
        sa.Column("object", sa.String(300), nullable=True),
        sa.Column("property", sa.String(300), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("severity", sa.String(16), nullable=True),
        sa.Column("observed", _json(), nullable=True),
        sa.Column("threshold", sa.Text(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("extra", _json(), nullable=True),
        sa.ForeignKeyConstraint(
            ["test_run_id"], ["test_runs.id"], name="fk_check_results_test_run_id_test_runs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_check_results"),
        sa.UniqueConstraint("test_run_id", "position", name="uq_check_results_test_run_id_position"),
    )


def downgrade() -> None:
    """Drop every table (the registry's content is lost)."""
    for table in (
        "check_results",
        "test_runs",
        "contract_versions",
        "contracts",
        "input_ports",
        "output_ports",
        "product_descriptors",
        "products",
        "domains",
        "team_members",
        "teams",
        "audit_log",
    ):
        op.drop_table(table)
