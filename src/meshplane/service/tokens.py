"""API tokens: create (shown once), list, revoke, and authenticate a bearer token.

A token looks like ``mp_<id>_<secret>``: ``mp_`` says what it is (secret scanners can match it),
``<id>`` is 8 public characters to find the row by (and to name the token in lists, logs and audit
rows), ``<secret>`` is 32 random bytes. The registry stores only the SHA-256 of the whole token;
checking a token is one indexed lookup by id and a constant-time comparison of hashes.

Every token expires (`parse_expiry`): 90 days after its creation unless `--expires` (``expires`` in
the API) says otherwise, at most `MAX_EXPIRY_DAYS` ahead; there is no token that never expires. From
its expiry on a token is refused (401 naming the date), like a revoked one.

Only admins manage tokens: through the API with an admin token, or with `meshplane token` on a
machine that can open the registry (whoever can open the database is its admin).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from meshplane.access import TOKEN_ID_LENGTH, TOKEN_PREFIX, Principal, Role
from meshplane.diagnostics import MeshplaneError
from meshplane.errors import AccessDenied, NotFound, RegistryUnavailable
from meshplane.registry import Registry
from meshplane.registry import models as m
from meshplane.registry.access import ApiToken
from meshplane.spec.durations import DurationError, parse_duration

log = logging.getLogger(__name__)

_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
_TOKEN_SHAPE = re.compile(rf"^{TOKEN_PREFIX}([a-z2-7]{{{TOKEN_ID_LENGTH}}})_[A-Za-z0-9_-]{{20,200}}$")
_DOMAIN_ID = re.compile(r"^[a-z][a-z0-9-]{0,199}$")  # the domain.yaml id pattern
LAST_USED_RESOLUTION_S = 60.0
"""`last_used_at` is written at most once a minute per token (a write per request would serialize readers)."""
DEFAULT_EXPIRY_DAYS = 90
"""Days a new token is valid when neither `--expires` nor the `token_default_expiry_days` setting says otherwise."""
MAX_EXPIRY_DAYS = 366
"""The furthest a token's expiry may be (a year, leap day included)."""
_EXPIRY_HINT = "a duration such as 30d, 12h or P90D, a date such as 2027-01-31, or a time with its offset"


def parse_expiry(text: str, *, now: datetime | None = None) -> datetime:
    """When a token given ``--expires TEXT`` expires (UTC); `MeshplaneError` saying why when it cannot.

    TEXT is a duration from now (``30d``, ``12h``, ``P90D``: `meshplane.spec.durations`), a date
    (the token expires at 00:00 UTC of that day) or a time with its offset (``2027-01-31T18:00:00+01:00``).
    The expiry must lie ahead, at most `MAX_EXPIRY_DAYS` days; ``never`` is refused: every token expires.
    """
    now = now or datetime.now(UTC)
    value = text.strip()
    if value.lower() in ("never", "none", "0", "off"):
        raise MeshplaneError(
            f"expiry {value!r}: every token expires, at most {MAX_EXPIRY_DAYS} days ahead; "
            "create a new one before the old one expires"
        )
    expires_at: datetime | None = None
    try:
        expires_at = now + parse_duration(value)
    except (DurationError, OverflowError):
        expires_at = _expiry_instant(value)
    if expires_at is None:
        raise MeshplaneError(f"expiry {value[:80]!r} is not {_EXPIRY_HINT}")
    if expires_at <= now:
        raise MeshplaneError(f"expiry {value[:80]!r}: {expires_at.isoformat()} is not in the future")
    if expires_at > now + timedelta(days=MAX_EXPIRY_DAYS):
        raise MeshplaneError(f"expiry {value[:80]!r}: a token expires at most {MAX_EXPIRY_DAYS} days ahead")
    return expires_at


def _expiry_instant(value: str) -> datetime | None:
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        instant = datetime.fromisoformat(value)
    except ValueError:
        return None
    if instant.tzinfo is None:
        raise MeshplaneError(f"expiry {value[:80]!r}: give the time's offset (Z or +01:00), or a date")
    return instant.astimezone(UTC)


def hash_token(token: str) -> str:
    """SHA-256 (hex) of a whole token: what the registry stores."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_id_of(token: str) -> str | None:
    """The public id inside a token, or None when the text is not shaped like a meshplane token."""
    match = _TOKEN_SHAPE.match(token)
    return match.group(1) if match else None


def describe_token(token: str) -> str:
    """A safe way to mention a token in logs and messages: its public id only, never the secret."""
    token_id = token_id_of(token)
    return f"{TOKEN_PREFIX}{token_id}_…" if token_id else "(a malformed token)"


@dataclass(frozen=True)
class TokenInfo:
    """A token as listed (no secret, no hash)."""

    id: str
    name: str
    role: Role
    domain: str | None
    created_at: datetime
    created_by: str
    last_used_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None
    expires_at: datetime

    @property
    def expired(self) -> bool:
        """True from the token's expiry on."""
        return datetime.now(UTC) >= self.expires_at

    @property
    def active(self) -> bool:
        """True until revoked or expired."""
        return self.revoked_at is None and not self.expired

    def to_dict(self) -> dict[str, Any]:
        """JSON shape of the API and of `token list --format json`."""
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role.value,
            "domain": self.domain,
            "createdAt": self.created_at.isoformat(),
            "createdBy": self.created_by,
            "lastUsedAt": self.last_used_at.isoformat() if self.last_used_at else None,
            "revokedAt": self.revoked_at.isoformat() if self.revoked_at else None,
            "revokedBy": self.revoked_by,
            "expiresAt": self.expires_at.isoformat(),
            "active": self.active,
        }


@dataclass(frozen=True)
class CreatedToken:
    """A new token: the secret is here once and nowhere else, ever."""

    token: str
    info: TokenInfo

    def to_dict(self) -> dict[str, Any]:
        """The token's listing plus the secret (shown once)."""
        return {**self.info.to_dict(), "token": self.token}


def _info(row: ApiToken) -> TokenInfo:
    return TokenInfo(
        row.token_id,
        row.name,
        Role(row.role),
        row.domain_id,
        row.created_at,
        row.created_by,
        row.last_used_at,
        row.revoked_at,
        row.revoked_by,
        row.expires_at,
    )


def _audit(session: Any, actor: Principal, action: str, *, subject: str, summary: str, details: dict[str, Any]) -> None:
    session.add(
        m.AuditEntry(at=m.utcnow(), actor=actor.actor, action=action, subject=subject, summary=summary, details=details)
    )


def validate_scope(role: Role | str, domain: str | None) -> tuple[Role, str | None]:
    """A role and its domain as a token may hold them: maintainers need a domain, other roles have none."""
    try:
        parsed = Role(role)
    except ValueError:
        raise MeshplaneError(f"role must be one of {', '.join(r.value for r in Role)}, not {role!r}") from None
    if parsed is Role.MAINTAINER:
        if not domain:
            raise MeshplaneError("a maintainer token needs a domain (--domain D)")
        if not _DOMAIN_ID.match(domain):
            raise MeshplaneError(
                f"'{domain}' is not a domain id (a lower-case letter, then lower-case letters, digits and '-')"
            )
        return parsed, domain
    if domain:
        raise MeshplaneError(f"an {parsed.value} token is not scoped to a domain; --domain is for maintainers")
    return parsed, None


def _require_domain(session: Session, domain: str) -> None:
    """Refuse a maintainer scope naming a domain the registry does not hold (a typo would grant nothing)."""
    row = session.get(m.Domain, domain)
    if row is not None and row.retired_at is None:
        return
    known = sorted(session.execute(sa.select(m.Domain.id).where(m.Domain.retired_at.is_(None))).scalars())
    listed = (
        f"known domains: {', '.join(known)}" if known else "the registry holds no domain yet (apply the mesh first)"
    )
    raise MeshplaneError(f"no domain '{domain}' in the registry; {listed}")


def create_token(
    registry: Registry,
    actor: Principal,
    *,
    role: Role | str,
    domain: str | None = None,
    name: str | None = None,
    expires: str | None = None,
    default_days: int = DEFAULT_EXPIRY_DAYS,
) -> CreatedToken:
    """Create a token (admins only); the returned secret is not stored and cannot be shown again.

    It expires as `expires` says (`parse_expiry`), else `default_days` after now.
    """
    actor.require_admin("create tokens")
    parsed, scope = validate_scope(role, domain)
    label = (name or "").strip()
    if len(label) > 300 or "\x00" in label:
        raise MeshplaneError("a token name has at most 300 characters")
    now = m.utcnow()
    expires_at = parse_expiry(expires, now=now) if expires is not None else now + timedelta(days=default_days)

    def _in_transaction(session: Session) -> CreatedToken:
        if scope is not None:
            _require_domain(session, scope)
        for _ in range(8):  # a clash of 40 random bits is rare; retry rather than fail
            token_id = "".join(secrets.choice(_ID_ALPHABET) for _ in range(TOKEN_ID_LENGTH))
            taken = session.execute(sa.select(ApiToken.id).where(ApiToken.token_id == token_id)).first()
            if taken is None:
                break
        else:  # pragma: no cover - 8 clashes in a row
            raise MeshplaneError("could not allocate a token id; try again")
        token = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
        row = ApiToken(
            token_id=token_id,
            name=label or f"{parsed.value}-{token_id}",
            role=parsed.value,
            domain_id=scope,
            sha256=hash_token(token),
            created_at=now,
            created_by=actor.actor,
            expires_at=expires_at,
        )
        session.add(row)
        details = {
            "token": token_id,
            "role": parsed.value,
            "domain": scope,
            "name": row.name,
            "expiresAt": expires_at.isoformat(),
        }
        _audit(
            session,
            actor,
            "token.create",
            subject=token_id,
            summary=f"token {token_id} ({row.name}) created",
            details=details,
        )
        session.flush()
        return CreatedToken(token, _info(row))

    return registry.write(_in_transaction, exclusive=True)


def list_tokens(registry: Registry, actor: Principal, *, include_revoked: bool = False) -> list[TokenInfo]:
    """Every token, newest first (admins only); revoked and expired ones only when asked."""
    actor.require_admin("list tokens")
    query = sa.select(ApiToken).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    if not include_revoked:
        query = query.where(ApiToken.revoked_at.is_(None), ApiToken.expires_at > m.utcnow())
    with registry.read() as session:
        return [_info(row) for row in session.execute(query).scalars()]


def revoke_token(registry: Registry, actor: Principal, token_id: str, *, reason: str | None = None) -> TokenInfo:
    """Revoke a token by its public id (admins only). Revoking a revoked token changes nothing."""
    actor.require_admin("revoke tokens")
    wanted = token_id.removeprefix(TOKEN_PREFIX).rstrip("_…")

    def _in_transaction(session: Session) -> TokenInfo:
        row = session.execute(sa.select(ApiToken).where(ApiToken.token_id == wanted)).scalar_one_or_none()
        if row is None:
            raise NotFound(f"no token with id '{token_id}'")
        if row.revoked_at is None:
            row.revoked_at = m.utcnow()
            row.revoked_by = actor.actor
            details = {"token": row.token_id, "reason": reason}
            _audit(
                session,
                actor,
                "token.revoke",
                subject=row.token_id,
                summary=f"token {row.token_id} ({row.name}) revoked",
                details=details,
            )
        session.flush()
        return _info(row)

    info = registry.write(_in_transaction, exclusive=True)
    registry.cache.clear()  # the authenticators of this registry forget every verified token
    return info


class TokenAuthenticator:
    """Turns bearer tokens into principals, and notes when each token was last used.

    One instance per server process: it remembers when it last wrote `last_used_at` for each token
    so that the write happens at most once per `LAST_USED_RESOLUTION_S`.

    A verified token is remembered for `cache_s` seconds (the `token_cache_seconds` setting), keyed
    by its public id with its SHA-256, never past its expiry: a request then costs no registry read. A revocation made
    through this process (API or service) takes effect at once (it clears the registry's cache); one
    made elsewhere (another server process, `meshplane token revoke` on the registry) within
    `cache_s`. 0 turns the cache off.
    """

    def __init__(
        self, registry: Registry, *, resolution_s: float = LAST_USED_RESOLUTION_S, cache_s: float = 0.0
    ) -> None:
        self.registry = registry
        self.resolution_s = resolution_s
        self.cache_s = cache_s
        self._last_written: dict[str, float] = {}
        self._verified: dict[str, tuple[str, Principal, float, int, float]] = {}
        self._lock = threading.Lock()

    def authenticate(self, token: str) -> Principal:
        """The principal of a valid, unrevoked token; `AccessDenied` (401) otherwise."""
        token_id = token_id_of(token)
        if token_id is None:
            raise AccessDenied("the bearer token is not a meshplane token", authenticated=False)
        digest = hash_token(token)
        known = self._remembered(token_id, digest)
        if known is not None:
            return known
        generation = self.registry.cache.generation  # before the read: a revocation during it invalidates the entry
        principal, expires_at = self._verify(token, token_id, digest)
        if self.cache_s > 0:
            with self._lock:
                if len(self._verified) > 10_000:
                    self._verified.clear()
                entry = (digest, principal, time.monotonic() + self.cache_s, generation, expires_at.timestamp())
                self._verified[token_id] = entry
        return principal

    def remembered(self, token: str) -> Principal | None:
        """The principal of a token verified less than `cache_s` ago (no I/O), else None."""
        token_id = token_id_of(token)
        return self._remembered(token_id, hash_token(token)) if token_id is not None else None

    def _remembered(self, token_id: str, digest: str) -> Principal | None:
        if self.cache_s <= 0:
            return None
        known = self._verified.get(token_id)
        if (
            known is not None
            and known[3] == self.registry.cache.generation
            and time.monotonic() < known[2]
            and time.time() < known[4]
            and hmac.compare_digest(known[0], digest)
        ):
            return known[1]
        return None

    def _verify(self, token: str, token_id: str, digest: str) -> tuple[Principal, datetime]:
        columns = (ApiToken.name, ApiToken.role, ApiToken.domain_id, ApiToken.sha256, ApiToken.revoked_at)
        with self.registry.read() as session:
            row = session.execute(sa.select(*columns, ApiToken.expires_at).where(ApiToken.token_id == token_id)).first()
        if row is None or not hmac.compare_digest(row.sha256, digest):
            log.info("rejected token %s: unknown token", describe_token(token))
            raise AccessDenied("the bearer token is not valid", authenticated=False)
        if row.revoked_at is not None:
            log.info("rejected token %s: revoked", describe_token(token))
            raise AccessDenied("the bearer token was revoked", authenticated=False)
        if datetime.now(UTC) >= row.expires_at:
            log.info("rejected token %s: expired", describe_token(token))
            raise AccessDenied(
                f"the bearer token {describe_token(token)} expired on {row.expires_at.isoformat(timespec='seconds')}; "
                "ask an admin for a new one",
                authenticated=False,
            )
        return Principal(row.name, Role(row.role), row.domain_id, token_id), row.expires_at

    def due_for_last_used(self, token_id: str) -> bool:
        """True when `last_used_at` of this token should be written now (and reserves the write)."""
        now = time.monotonic()
        with self._lock:
            last = self._last_written.get(token_id)
            if last is not None and now - last < self.resolution_s:
                return False
            self._last_written[token_id] = now
            return True

    def record_use(self, token_id: str) -> None:
        """Write `last_used_at` (best effort: a busy registry only delays the note to the next use)."""
        note = sa.update(ApiToken).where(ApiToken.token_id == token_id).values(last_used_at=m.utcnow())
        try:
            self.registry.write(lambda session: session.execute(note))
        except (sa.exc.SQLAlchemyError, RegistryUnavailable) as exc:  # busy, read-only or full registry
            log.warning("could not note the use of token %s%s: %s", TOKEN_PREFIX, token_id, type(exc).__name__)
            with self._lock:
                self._last_written.pop(token_id, None)


__all__ = [
    "DEFAULT_EXPIRY_DAYS",
    "LAST_USED_RESOLUTION_S",
    "MAX_EXPIRY_DAYS",
    "CreatedToken",
    "TokenAuthenticator",
    "TokenInfo",
    "create_token",
    "describe_token",
    "hash_token",
    "list_tokens",
    "parse_expiry",
    "revoke_token",
    "token_id_of",
    "validate_scope",
]
