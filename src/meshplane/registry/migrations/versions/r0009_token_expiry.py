"""Token expiry: every API token has an ``expires_at``; the tokens of before get 90 days from the migration.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

``api_tokens`` gains ``expires_at`` (NOT NULL): a token is refused (401 naming the date) from that
instant on. A token created before this migration never had an expiry; it gets the moment the
migration runs plus 90 days (the default of `meshplane token create`), so no credential of an
upgraded server stays valid forever and none stops working the day of the upgrade. `meshplane token
list` shows the dates; a token to keep is replaced by a new one before then (docs/auth.md). The
downgrade drops the column: every token is again valid until revoked.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from alembic import op

from meshplane.registry.models import UtcDateTime, utcnow

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

EXISTING_TOKEN_DAYS = 90
"""Days the tokens of before the migration stay valid, from the moment it runs."""


def upgrade() -> None:
    """Add ``api_tokens.expires_at``, filled for existing tokens, then required."""
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    tokens = sa.table("api_tokens", sa.column("expires_at", UtcDateTime()))
    op.execute(tokens.update().values(expires_at=utcnow() + timedelta(days=EXISTING_TOKEN_DAYS)))
    with op.batch_alter_table("api_tokens") as batch:
        batch.alter_column("expires_at", existing_type=sa.DateTime(timezone=True), nullable=False)


def downgrade() -> None:
    """Drop ``api_tokens.expires_at``: tokens are valid until revoked again."""
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("expires_at")
