"""Migration 0009: tokens get an expiry; the tokens of before get the migration's moment plus 90 days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import command

from meshplane.access import Principal, Role
from meshplane.registry import Registry, migrate
from meshplane.registry.access import ApiToken
from meshplane.service.tokens import TokenAuthenticator, hash_token

TOKEN = "mp_abcdefgh_" + "s" * 43
CREATED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _at(registry: Registry, revision: str, *, down: bool = False) -> None:
    with registry.engine.connect() as conn, conn.begin():
        (command.downgrade if down else command.upgrade)(migrate.alembic_config(conn), revision)


def test_tokens_of_before_expire_90_days_after_the_migration(registry_url: str) -> None:
    with Registry(registry_url, auto_upgrade=False) as registry:
        _at(registry, "0008")
        with registry.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO api_tokens (token_id, name, role, sha256, created_at, created_by) "
                    "VALUES ('abcdefgh', 'ci', 'reader', :sha, :at, 'test')"
                ),
                {"sha": hash_token(TOKEN), "at": CREATED.replace(tzinfo=None)},
            )
        before = datetime.now(UTC)
        _at(registry, "0009")
        after = datetime.now(UTC)
        with registry.read() as session:
            expires_at = session.execute(sa.select(ApiToken.expires_at)).scalar_one()
        assert before + timedelta(days=90) - timedelta(seconds=1) <= expires_at <= after + timedelta(days=90)
        assert TokenAuthenticator(registry).authenticate(TOKEN) == Principal("ci", Role.READER, None, "abcdefgh")
        columns = {c["name"]: c for c in sa.inspect(registry.engine).get_columns("api_tokens")}
        assert columns["expires_at"]["nullable"] is False
        _at(registry, "0008", down=True)
        assert "expires_at" not in {c["name"] for c in sa.inspect(registry.engine).get_columns("api_tokens")}
        _at(registry, "head")
