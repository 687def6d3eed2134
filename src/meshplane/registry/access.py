"""Access to the registry: API tokens, roles, usage agreements and who may do what.

Tables (created by migration ``0002``):

* ``api_tokens``: one row per token. The token itself is never stored: only the SHA-256 of the
  whole token, and its public id (the 8 characters after ``mp_``), which is how a token is found,
  listed and revoked. Tokens are high-entropy random strings, so a plain SHA-256 is enough (a slow
  password hash protects low-entropy secrets, which these are not).
* ``usage_agreements``: a consumer product's access to a provider product's output port (by port
  name, so a new port version keeps its agreements), with a purpose and an optional end date.
  ``open_key`` is set while an agreement is open (requested, approved or active) and NULL once it is
  closed; its unique constraint makes a second open agreement for the same consumer and port
  impossible on every database, whatever the concurrency.
* ``agreement_events``: every state transition (who, when, why), each with its ``audit_log`` row.
* ``port_settings``: per output port (product + port name) settings, today only auto-approve.

The state machine is the table `TRANSITIONS`; `Role` and `Principal` say who is calling.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from meshplane.diagnostics import MeshplaneError
from meshplane.registry.models import ID, NAME, SHA256, Base

TOKEN_PREFIX = "mp_"
TOKEN_ID_LENGTH = 8


class Role(enum.StrEnum):
    """What a token may do."""

    ADMIN = "admin"
    """The lake owner: everything, in every domain."""
    MAINTAINER = "maintainer"
    """A domain team: write its own domain's products and contracts, decide agreements on its ports."""
    READER = "reader"
    """Read the catalog, nothing else."""


class AgreementState(enum.StrEnum):
    """Where a usage agreement stands."""

    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    ACTIVE = "active"
    REVOKED = "revoked"
    EXPIRED = "expired"


OPEN_STATES = frozenset({AgreementState.REQUESTED, AgreementState.APPROVED, AgreementState.ACTIVE})
"""States in which an agreement still counts (and blocks a second request for the same port)."""


class AgreementAction(enum.StrEnum):
    """What moves an agreement from one state to another."""

    APPROVE = "approve"
    REJECT = "reject"
    ACTIVATE = "activate"
    REVOKE = "revoke"
    EXPIRE = "expire"


TRANSITIONS: dict[tuple[AgreementState, AgreementAction], AgreementState] = {
    (AgreementState.REQUESTED, AgreementAction.APPROVE): AgreementState.APPROVED,
    (AgreementState.REQUESTED, AgreementAction.REJECT): AgreementState.REJECTED,
    (AgreementState.APPROVED, AgreementAction.ACTIVATE): AgreementState.ACTIVE,
    (AgreementState.REQUESTED, AgreementAction.REVOKE): AgreementState.REVOKED,
    (AgreementState.APPROVED, AgreementAction.REVOKE): AgreementState.REVOKED,
    (AgreementState.ACTIVE, AgreementAction.REVOKE): AgreementState.REVOKED,
    (AgreementState.ACTIVE, AgreementAction.EXPIRE): AgreementState.EXPIRED,
}
"""(state, action) → next state. Anything not listed is refused (a conflict with the current state)."""


def next_state(state: AgreementState, action: AgreementAction) -> AgreementState | None:
    """The state `action` leads to from `state`, or None when the transition is not allowed."""
    return TRANSITIONS.get((state, action))


# --- errors the API maps to HTTP statuses -----------------------------------------------------------


class AccessDenied(MeshplaneError):
    """The caller may not do this: 401 when not authenticated, else 403."""

    def __init__(self, message: str, *, authenticated: bool = True) -> None:
        super().__init__(message, exit_code=2)
        self.authenticated = authenticated


class NotFound(MeshplaneError):
    """What the request names does not exist (404)."""


class Conflict(MeshplaneError):
    """The request is valid but clashes with the current state (409)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, exit_code=1)


# --- who is calling ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Principal:
    """The caller of a use case: a token's owner, the local operator, or nobody (anonymous)."""

    name: str
    role: Role | None
    domain: str | None = None
    token_id: str | None = None

    @classmethod
    def anonymous(cls) -> Principal:
        """A request without a token."""
        return cls("anonymous", None)

    @classmethod
    def local_admin(cls, user: str) -> Principal:
        """Someone working on the registry directly (the CLI on the server): an admin by definition."""
        return cls(user, Role.ADMIN)

    @property
    def authenticated(self) -> bool:
        """True for a token (or the local operator)."""
        return self.role is not None

    @property
    def is_admin(self) -> bool:
        """True for the lake owner."""
        return self.role is Role.ADMIN

    @property
    def actor(self) -> str:
        """How audit rows name this caller: ``name (role[ of domain], token id)``."""
        if self.role is None:
            return self.name
        scope = f"{self.role.value} of {self.domain}" if self.domain else self.role.value
        token = f", token {self.token_id}" if self.token_id else ""
        return f"{self.name} ({scope}{token})"[:300]

    def may_maintain(self, domain: str | None) -> bool:
        """True when this caller may write `domain` (admins may write every domain)."""
        if self.role is Role.ADMIN:
            return True
        return self.role is Role.MAINTAINER and domain is not None and domain == self.domain

    def require_writer(self) -> None:
        """Refuse anonymous callers (401) and readers (403)."""
        if not self.authenticated:
            raise AccessDenied("authentication required: send `Authorization: Bearer <token>`", authenticated=False)
        if self.role is Role.READER:
            raise AccessDenied(f"{self.name} is a reader: reader tokens cannot change anything")

    def require_admin(self, what: str) -> None:
        """Refuse everyone but admins."""
        self.require_writer()
        if not self.is_admin:
            raise AccessDenied(f"only an admin may {what}")

    def require_maintainer(self, domains: Iterable[str | None], what: str) -> None:
        """Refuse unless this caller maintains every one of `domains` (admins maintain all)."""
        self.require_writer()
        foreign = sorted({d or "?" for d in domains if not self.may_maintain(d)})
        if foreign:
            mine = f"maintainer of {self.domain}" if self.domain else (self.role.value if self.role else "anonymous")
            raise AccessDenied(f"{self.name} ({mine}) may not {what}: it touches domain(s) {', '.join(foreign)}")

    def require_maintainer_of_any(self, domains: Iterable[str | None], what: str) -> None:
        """Refuse unless this caller maintains at least one of `domains`."""
        self.require_writer()
        listed = sorted({d or "?" for d in domains})
        if not any(self.may_maintain(d) for d in listed):
            raise AccessDenied(f"{self.name} may not {what}: only maintainers of {' or '.join(listed)} may")


# --- tables -----------------------------------------------------------------------------------------


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
    "OPEN_STATES",
    "TOKEN_ID_LENGTH",
    "TOKEN_PREFIX",
    "TRANSITIONS",
    "AccessDenied",
    "AgreementAction",
    "AgreementEvent",
    "AgreementState",
    "ApiToken",
    "Conflict",
    "NotFound",
    "PortSetting",
    "Principal",
    "Role",
    "UsageAgreement",
    "next_state",
    "open_key",
]
