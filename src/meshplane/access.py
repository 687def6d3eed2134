"""Who may do what: roles, the caller (`Principal`), the token format and the agreement state machine.

Pure rules, no database: the API and the CLI decide who is calling and what a role allows without
importing the registry. The tables that store tokens and agreements are in `meshplane.registry.access`;
the errors a refusal raises are in `meshplane.errors`.

The agreement lifecycle is the table `TRANSITIONS`; `Role` and `Principal` say who is calling.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from meshplane.errors import AccessDenied

TOKEN_PREFIX = "mp_"
"""Every API token starts with this: ``mp_<id>_<secret>``."""
TOKEN_ID_LENGTH = 8
"""Characters of a token's public id (after the prefix), by which it is found, listed and revoked."""


class Role(enum.StrEnum):
    """What a token may do."""

    ADMIN = "admin"
    """The lake owner: everything, in every domain."""
    MAINTAINER = "maintainer"
    """A domain team: write its own domain's products and contracts, decide agreements on its ports."""
    READER = "reader"
    """Read the catalog, nothing else."""
    LINEAGE_WRITER = "lineage-writer"
    """A shared runner's integration token (Airflow, Spark, dbt): sends lineage events for any domain,
    attributed by the rules; reads like a reader, changes nothing else."""


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

    @property
    def lineage_domain(self) -> str | None:
        """The domain every lineage event this caller sends is attributed to: a maintainer's own.

        None: the attribution rules decide (admins, `lineage-writer` tokens).
        """
        return self.domain if self.role is Role.MAINTAINER else None

    def may_maintain(self, domain: str | None) -> bool:
        """True when this caller may write `domain` (admins may write every domain)."""
        if self.role is Role.ADMIN:
            return True
        return self.role is Role.MAINTAINER and domain is not None and domain == self.domain

    def require_lineage_sender(self) -> None:
        """Refuse callers who may not send lineage events: anonymous (401) and readers (403)."""
        if not self.authenticated:
            raise AccessDenied("authentication required: send `Authorization: Bearer <token>`", authenticated=False)
        if self.role is Role.READER:
            raise AccessDenied(f"{self.name} is a reader: reader tokens cannot change anything")

    def require_writer(self) -> None:
        """Refuse anonymous callers (401), readers and lineage writers (403: they send lineage, nothing else)."""
        self.require_lineage_sender()
        if self.role is Role.LINEAGE_WRITER:
            raise AccessDenied(f"{self.name} is a lineage-writer: it may send lineage events, nothing else")

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


__all__ = [
    "OPEN_STATES",
    "TOKEN_ID_LENGTH",
    "TOKEN_PREFIX",
    "TRANSITIONS",
    "AgreementAction",
    "AgreementState",
    "Principal",
    "Role",
    "next_state",
]
