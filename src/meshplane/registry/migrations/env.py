"""Alembic environment, run programmatically by `meshplane.registry.migrate` (no alembic.ini).

The caller passes an open connection in ``config.attributes["connection"]``, already inside the
transaction (and lock) it wants the migrations to run in.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from meshplane.registry.models import Base


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():  # pragma: no cover - meshplane never runs offline
    raise RuntimeError("meshplane registry migrations run online only (meshplane db upgrade)")

_connection = context.config.attributes.get("connection")
if not isinstance(_connection, Connection):  # pragma: no cover - guarded by migrate.py
    raise RuntimeError("run the registry migrations through meshplane.registry.migrate")
_run(_connection)
