"""Migration 0011: the sender of every stored event is read from ``received_by``; the downgrade drops it again."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command

from meshplane.registry import Registry, migrate

NOW = datetime(2026, 12, 1, tzinfo=UTC)
SENDERS = {
    "ci-finance (maintainer of finance, token k3f9x2ab)": ("maintainer", "finance"),
    "ci-retail (maintainer of retail)": ("maintainer", "retail"),
    "airflow (lineage-writer, token abcdefgh)": ("lineage-writer", None),
    "lake-owner (admin, token zzzzzzzz)": ("admin", None),
    "test": (None, None),
}


def _at(registry: Registry, revision: str, *, down: bool = False) -> None:
    with registry.engine.connect() as conn, conn.begin():
        (command.downgrade if down else command.upgrade)(migrate.alembic_config(conn), revision)


def test_stored_events_get_their_senders_role_and_domain(registry_url: str) -> None:
    with Registry(registry_url, auto_upgrade=False) as registry:
        _at(registry, "0010")
        with registry.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO lineage_events (id, fingerprint, kind, received_at, received_by, body) "
                    "VALUES (:id, :fingerprint, 'RunEvent', :now, :sender, '{}')"
                ),
                [
                    {"id": i, "fingerprint": f"{i:064d}", "now": NOW, "sender": sender}
                    for i, sender in enumerate(SENDERS, start=1)
                ],
            )
        _at(registry, "0011")
        with registry.engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT received_by, sender_role, sender_domain FROM lineage_events ORDER BY id")
            ).all()
            run_columns = {c["name"] for c in sa.inspect(conn).get_columns("lineage_runs")}
        assert {r[0]: (r[1], r[2]) for r in rows} == SENDERS
        assert {"received_by", "sender_domain", "mismatch"} <= run_columns
        _at(registry, "0010", down=True)
        with registry.engine.connect() as conn:
            columns = {c["name"] for c in sa.inspect(conn).get_columns("lineage_events")}
        assert "sender_role" not in columns and "received_by" in columns
