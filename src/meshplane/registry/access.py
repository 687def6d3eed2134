"""The access tables: API tokens, usage agreements, their transitions, per-port settings.

Tables (created by migration ``0002``):

* ``api_tokens``: one row per token. The token itself is never stored: only the SHA-256 of the
  whole token, and its public id (the 8 characters after ``mp_``), which is how a token is found,
  listed and revoked; it is refused from ``expires_at`` on (migration ``0009``). Tokens are
  high-entropy random strings, so a plain SHA-256 is enough (a slow password hash protects
  low-entropy secrets, which these are not).
* ``usage_agreements``: a consumer product's access to a provider product's output port (by port
  name, so a new port version keeps its agreements), with a purpose and an optional end date.
  ``open_key`` is set while an agreement is open (requested, approved or active) and NULL once it is
  closed; its unique constraint makes a second open agreement for the same consumer and port
  impossible on every database, whatever the concurrency.
* ``agreement_events``: every state transition (who, when, why), each with its ``audit_log`` row.
* ``port_settings``: per output port (product + port name) settings, today only auto-approve.

The rules these rows follow (roles, `Principal`, the agreement state machine, the token format) are
in `meshplane.access`, the errors of a refusal in `meshplane.errors`: neither needs the database.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from meshplane.registry.models import ID, NAME, SHA256, Base


class ApiToken(Base):
    """An API token: its public id and the SHA-256 of the whole token (never the token itself)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[str] = mapped_column(sa.String(16), unique=True)
    name: Mapped[str] = mapped_column(NAME)
    role: Mapped[str] = mapped_column(sa.String(16))
    domain_id: Mapped[str | None] = mapped_column(ID)
    sha256: Mapped[str] = mapped_column(SHA256)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(NAME)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(NAME)
    expires_at: Mapped[datetime]
    """From this instant on the token is refused (migration ``0009``)."""


class UsageAgreement(Base):
    """A consumer product's agreement to use a provider product's output port."""

    __tablename__ = "usage_agreements"
    __table_args__ = (
        sa.Index("ix_usage_agreements_provider", "provider_product_id", "port_name"),
        sa.Index("ix_usage_agreements_consumer", "consumer_product_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consumer_product_id: Mapped[str] = mapped_column(sa.ForeignKey("products.id"))
    provider_product_id: Mapped[str] = mapped_column(sa.ForeignKey("products.id"))
    port_name: Mapped[str] = mapped_column(NAME)
    purpose: Mapped[str] = mapped_column(sa.Text)
    state: Mapped[str] = mapped_column(sa.String(16), index=True)
    end_date: Mapped[date | None] = mapped_column(sa.Date)
    requested_at: Mapped[datetime]
    requested_by: Mapped[str] = mapped_column(NAME)
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(NAME)
    updated_at: Mapped[datetime]
    open_key: Mapped[str | None] = mapped_column(sa.String(800), unique=True)


class AgreementEvent(Base):
    """One transition of a usage agreement: who moved it from which state to which, when and why."""

    __tablename__ = "agreement_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(sa.ForeignKey("usage_agreements.id"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(NAME)
    from_state: Mapped[str | None] = mapped_column(sa.String(16))
    to_state: Mapped[str] = mapped_column(sa.String(16))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    audit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("audit_log.id"))
    notified_at: Mapped[datetime | None] = mapped_column(index=True)
    """When the notifications job fanned the transition out (migration ``0016``; None: not yet)."""
    claimed_by: Mapped[str | None] = mapped_column(sa.String(120))
    claimed_until: Mapped[datetime | None]


class PortSetting(Base):
    """Settings of an output port (product + port name): whether usage requests are approved automatically."""

    __tablename__ = "port_settings"

    product_id: Mapped[str] = mapped_column(sa.ForeignKey("products.id"), primary_key=True)
    port_name: Mapped[str] = mapped_column(NAME, primary_key=True)
    auto_approve: Mapped[bool] = mapped_column(sa.Boolean)
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(NAME)


def open_key(consumer_product_id: str, provider_product_id: str, port_name: str) -> str:
    """The value of ``usage_agreements.open_key`` while an agreement is open."""
    return f"{consumer_product_id}\n{provider_product_id}\n{port_name}"


__all__ = [
    "AgreementEvent",
    "ApiToken",
    "PortSetting",
    "UsageAgreement",
    "open_key",
]
