"""The registry's tables as SQLAlchemy 2 typed models.

The schema is created and evolved only by the Alembic migrations in `registry/migrations/`; a test
compares the migrated database with these models, so the two cannot drift apart.

Conventions:

* Entities that the mesh repository declares (domains, products, ports, contracts) are never
  deleted by `apply --prune`: they get ``retired_at`` and stay as history. ``retired_at IS NULL``
  means active.
* Contract versions and product descriptors are append-only history: each row holds the applied
  document (JSON) and the SHA-256 of its canonical JSON form.
* Every write of an apply points at its ``audit_log`` row (``audit_id``).
* Timestamps are timezone-aware UTC on both SQLite and PostgreSQL (see `UtcDateTime`).
"""

from __future__ import annotations

import importlib
import pkgutil
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JsonDocument = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
"""JSON on SQLite, JSONB on PostgreSQL (queryable by the API later)."""

ID = sa.String(200)
NAME = sa.String(300)
VERSION = sa.String(64)
SHA256 = sa.String(64)


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every database (SQLite stores it naive, in UTC)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Store in UTC; refuse naive values (they are ambiguous)."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("registry timestamps must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Read back as an aware UTC datetime."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """The current instant, timezone-aware UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base of the registry models."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UtcDateTime(), dict[str, Any]: JsonDocument, list[Any]: JsonDocument}


class AuditEntry(Base):
    """One audited action: every apply (and, later, token and agreement changes)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(NAME)
    action: Mapped[str] = mapped_column(sa.String(64), index=True)
    subject: Mapped[str | None] = mapped_column(NAME)
    summary: Mapped[str] = mapped_column(sa.Text)
    details: Mapped[dict[str, Any]]


class Team(Base):
    """The team owning a domain or a product (domains and products each point at their own row)."""

    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str | None] = mapped_column(NAME)
    description: Mapped[str | None] = mapped_column(sa.Text)


class TeamMember(Base):
    """A member of a team, in file order."""

    __tablename__ = "team_members"
    __table_args__ = (sa.UniqueConstraint("team_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(sa.ForeignKey("teams.id", ondelete="CASCADE"))
    position: Mapped[int]
    username: Mapped[str] = mapped_column(NAME, index=True)
    name: Mapped[str | None] = mapped_column(NAME)
    role: Mapped[str | None] = mapped_column(NAME)
    date_in: Mapped[str | None] = mapped_column(sa.String(32))
    date_out: Mapped[str | None] = mapped_column(sa.String(32))


class Domain(Base):
    """A business domain (domains/<d>/domain.yaml)."""

    __tablename__ = "domains"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str | None] = mapped_column(NAME)
    description: Mapped[str | None] = mapped_column(sa.Text)
    tags: Mapped[list[Any]]
    team_id: Mapped[int | None] = mapped_column(sa.ForeignKey("teams.id"))
    document: Mapped[dict[str, Any]]
    sha256: Mapped[str] = mapped_column(SHA256)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    retired_at: Mapped[datetime | None]
    audit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("audit_log.id"))


class Product(Base):
    """A data product; its descriptor history is in `ProductDescriptor`."""

    __tablename__ = "products"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    domain_id: Mapped[str] = mapped_column(sa.ForeignKey("domains.id"), index=True)
    name: Mapped[str | None] = mapped_column(NAME)
    status: Mapped[str] = mapped_column(sa.String(64))
    version: Mapped[str | None] = mapped_column(VERSION)
    tags: Mapped[list[Any]]
    team_id: Mapped[int | None] = mapped_column(sa.ForeignKey("teams.id"))
    sha256: Mapped[str] = mapped_column(SHA256)
    revision: Mapped[int]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    retired_at: Mapped[datetime | None]
    audit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("audit_log.id"))


class ProductDescriptor(Base):
    """One applied version of a product descriptor (append-only)."""

    __tablename__ = "product_descriptors"
    __table_args__ = (sa.UniqueConstraint("product_id", "revision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[str] = mapped_column(sa.ForeignKey("products.id"))
    revision: Mapped[int]
    document: Mapped[dict[str, Any]]
    sha256: Mapped[str] = mapped_column(SHA256)
    applied_at: Mapped[datetime]
    applied_by: Mapped[str] = mapped_column(NAME)
    audit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("audit_log.id"))


class OutputPort(Base):
    """A published dataset of a product, bound to a contract id and version."""

    __tablename__ = "output_ports"
    __table_args__ = (
        sa.UniqueConstraint("product_id", "name", "version"),
        sa.Index("ix_output_ports_contract_major", "contract_id", "major"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[str] = mapped_column(sa.ForeignKey("products.id"))
    name: Mapped[str] = mapped_column(NAME)
    version: Mapped[str] = mapped_column(VERSION)
    major: Mapped[int | None]
    contract_id: Mapped[str | None] = mapped_column(ID)
    type: Mapped[str | None] = mapped_column(sa.String(64))
    description: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    retired_at: Mapped[datetime | None]


class InputPort(Base):
    """A product's declared dependency on a contract (id + version; matched on the major version)."""

    __tablename__ = "input_ports"
    __table_args__ = (
        sa.UniqueConstraint("product_id", "name", "version"),
        sa.Index("ix_input_ports_contract_major", "contract_id", "major"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[str] = mapped_column(sa.ForeignKey("products.id"))
    name: Mapped[str] = mapped_column(NAME)
    version: Mapped[str] = mapped_column(VERSION)
    major: Mapped[int | None]
    contract_id: Mapped[str] = mapped_column(ID)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    retired_at: Mapped[datetime | None]


class Contract(Base):
    """A data contract identity; its immutable versions are in `ContractVersion`."""

    __tablename__ = "contracts"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    domain_id: Mapped[str] = mapped_column(sa.ForeignKey("domains.id"), index=True)
    product_id: Mapped[str | None] = mapped_column(sa.ForeignKey("products.id"), index=True)
    name: Mapped[str | None] = mapped_column(NAME)
    latest_version: Mapped[str] = mapped_column(VERSION)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    retired_at: Mapped[datetime | None]


class ContractVersion(Base):
    """One published version of a contract. Immutable: (contract_id, version) is written once."""

    __tablename__ = "contract_versions"
    __table_args__ = (sa.UniqueConstraint("contract_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[str] = mapped_column(sa.ForeignKey("contracts.id"))
    version: Mapped[str] = mapped_column(VERSION)
    major: Mapped[int]
    minor: Mapped[int]
    patch: Mapped[int]
    status: Mapped[str] = mapped_column(sa.String(64))
    document: Mapped[dict[str, Any]]
    sha256: Mapped[str] = mapped_column(SHA256)
    applied_at: Mapped[datetime]
    applied_by: Mapped[str] = mapped_column(NAME)
    audit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("audit_log.id"))


class TestRun(Base):
    """One execution of a contract's checks against one server (ARCHITECTURE.md §3 `test` JSON)."""

    __tablename__ = "test_runs"
    __test__ = False  # not a pytest test class
    __table_args__ = (
        sa.Index("ix_test_runs_contract", "contract_id", "contract_version", "started_at"),
        sa.Index("uq_test_runs_fingerprint", "fingerprint", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[str] = mapped_column(ID)
    contract_version: Mapped[str] = mapped_column(VERSION)
    contract_version_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contract_versions.id"))
    server: Mapped[str | None] = mapped_column(NAME)
    engine: Mapped[str | None] = mapped_column(sa.String(64))
    result: Mapped[str] = mapped_column(sa.String(16), index=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    recorded_at: Mapped[datetime]
    recorded_by: Mapped[str] = mapped_column(NAME)
    check_count: Mapped[int]
    extra: Mapped[dict[str, Any]]
    fingerprint: Mapped[str | None] = mapped_column(SHA256)
    """sha256 of the run document as received: the same run sent again is stored once (None: before 0006)."""


class CheckResult(Base):
    """The outcome of one check of a test run."""

    __tablename__ = "check_results"
    __table_args__ = (sa.UniqueConstraint("test_run_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    test_run_id: Mapped[int] = mapped_column(sa.ForeignKey("test_runs.id", ondelete="CASCADE"))
    position: Mapped[int]
    check_id: Mapped[str] = mapped_column(sa.String(500))
    kind: Mapped[str | None] = mapped_column(sa.String(64))
    object: Mapped[str | None] = mapped_column(NAME)
    property: Mapped[str | None] = mapped_column(NAME)
    status: Mapped[str] = mapped_column(sa.String(16))
    severity: Mapped[str | None] = mapped_column(sa.String(16))
    observed: Mapped[Any | None] = mapped_column(JsonDocument)
    threshold: Mapped[str | None] = mapped_column(sa.Text)
    message: Mapped[str | None] = mapped_column(sa.Text)
    extra: Mapped[dict[str, Any] | None]


def load_all_models() -> sa.MetaData:
    """Import every registry module that declares tables and return the complete metadata.

    Tables live beside the code that owns them (access, lineage, monitoring, ...), so
    `Base.metadata` holds only what has been imported; comparing it with the migrated schema needs
    them all.
    """
    package = importlib.import_module("meshplane.registry")
    for module in pkgutil.iter_modules(package.__path__):
        if module.name != "migrations":
            importlib.import_module(f"meshplane.registry.{module.name}")
    return Base.metadata


__all__ = [
    "AuditEntry",
    "Base",
    "CheckResult",
    "Contract",
    "ContractVersion",
    "Domain",
    "InputPort",
    "OutputPort",
    "Product",
    "ProductDescriptor",
    "Team",
    "TeamMember",
    "TestRun",
    "UtcDateTime",
    "load_all_models",
    "utcnow",
]
