"""Run the registry's Alembic migrations from code (they ship inside the package; no alembic.ini).

`registry.database.Registry.upgrade` runs `upgrade_connection` inside one transaction that holds
the registry's write lock (``BEGIN IMMEDIATE`` on SQLite, an advisory lock on PostgreSQL), so two
processes opening a fresh registry at the same time migrate it once.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

MIGRATIONS_PACKAGE = "meshplane.registry.migrations"


def migrations_dir() -> Path:
    """Folder of the migration scripts (package data)."""
    return Path(str(resources.files(MIGRATIONS_PACKAGE)))


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at the packaged scripts, carrying `connection` for env.py."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest migration this meshplane ships."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships migrations
        raise RuntimeError("no registry migrations found")
    return head


def known_revisions() -> set[str]:
    """Every revision id this meshplane knows."""
    return {script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at (None for an empty database)."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade_connection(connection: Connection, target: str = "head") -> None:
    """Upgrade the database behind `connection`, inside its current transaction."""
    command.upgrade(alembic_config(connection), target)
