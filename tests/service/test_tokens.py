"""Token use cases on SQLite and PostgreSQL: shown once, stored hashed, scoped, revocable, last use noted."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from meshplane.access import Principal, Role
from meshplane.diagnostics import MeshplaneError
from meshplane.errors import AccessDenied, NotFound
from meshplane.registry import Registry
from meshplane.registry.access import ApiToken
from meshplane.service.tokens import (
    TokenAuthenticator,
    create_token,
    describe_token,
    hash_token,
    list_tokens,
    parse_expiry,
    revoke_token,
    token_id_of,
    validate_scope,
)
from token_support import add_domains

ADMIN = Principal.local_admin("operator")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Registry]:
    url = f"sqlite:///{tmp_path / 'r.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    with Registry(url) as reg:
        add_domains(reg, "retail", "finance")
        yield reg


def test_a_token_is_shown_once_and_stored_as_its_hash(registry: Registry) -> None:
    created = create_token(registry, ADMIN, role="maintainer", domain="retail", name="ci-retail")
    assert re.fullmatch(r"mp_[a-z2-7]{8}_[A-Za-z0-9_-]{43}", created.token)
    assert token_id_of(created.token) == created.info.id
    assert "token" not in created.info.to_dict() and created.to_dict()["token"] == created.token
    with registry.read() as session:
        row = session.execute(sa.select(ApiToken)).scalar_one()
    assert row.sha256 == hash_token(created.token) and created.token not in str(vars(row))
    assert (row.role, row.domain_id, row.name) == ("maintainer", "retail", "ci-retail")


def test_authenticate(registry: Registry) -> None:
    created = create_token(registry, ADMIN, role="reader")
    auth = TokenAuthenticator(registry)
    principal = auth.authenticate(created.token)
    assert (principal.role, principal.domain, principal.token_id) == (Role.READER, None, created.info.id)
    assert principal.name == f"reader-{created.info.id}"
    forged = created.token[:-1] + ("A" if created.token[-1] != "A" else "B")
    for bad in (forged, "mp_aaaaaaaa_" + "x" * 43, "nonsense", ""):
        with pytest.raises(AccessDenied) as refused:
            auth.authenticate(bad)
        assert refused.value.authenticated is False
    revoke_token(registry, ADMIN, created.info.id, reason="leaked")
    with pytest.raises(AccessDenied, match="revoked"):
        auth.authenticate(created.token)


@pytest.mark.parametrize(
    ("role", "domain", "message"),
    [
        ("maintainer", None, "needs a domain"),
        ("maintainer", "Retail!", "not a domain id"),
        ("reader", "retail", "not scoped"),
        ("owner", None, "role must be one of"),
    ],
)
def test_scopes_are_checked(role: str, domain: str | None, message: str) -> None:
    with pytest.raises(MeshplaneError, match=message):
        validate_scope(role, domain)


def test_only_admins_manage_tokens(registry: Registry) -> None:
    for caller in (Principal("ci", Role.MAINTAINER, "retail"), Principal("r", Role.READER), Principal.anonymous()):
        with pytest.raises(AccessDenied):
            create_token(registry, caller, role="reader")
        with pytest.raises(AccessDenied):
            list_tokens(registry, caller)
    with pytest.raises(AccessDenied) as anonymous:
        revoke_token(registry, Principal.anonymous(), "abcdefgh")
    assert anonymous.value.authenticated is False


def test_list_and_revoke(registry: Registry) -> None:
    first = create_token(registry, ADMIN, role="admin", name="first")
    second = create_token(registry, ADMIN, role="reader", name="second")
    assert [t.name for t in list_tokens(registry, ADMIN)] == ["second", "first"]
    revoked = revoke_token(registry, ADMIN, f"mp_{first.info.id}_…")  # the form `describe_token` shows
    assert revoked.revoked_at is not None and not revoked.active and revoked.revoked_by == ADMIN.actor
    again = revoke_token(registry, ADMIN, first.info.id)
    assert again.revoked_at == revoked.revoked_at  # revoking twice changes nothing
    assert [t.name for t in list_tokens(registry, ADMIN)] == ["second"]
    assert {t.name for t in list_tokens(registry, ADMIN, include_revoked=True)} == {"first", "second"}
    with pytest.raises(NotFound):
        revoke_token(registry, ADMIN, "zzzzzzzz")
    assert second.info.active


def test_last_use_is_written_at_most_once_per_interval(registry: Registry) -> None:
    created = create_token(registry, ADMIN, role="reader")
    auth = TokenAuthenticator(registry, resolution_s=3600)
    assert auth.due_for_last_used(created.info.id) is True
    assert auth.due_for_last_used(created.info.id) is False
    auth.record_use(created.info.id)
    listed = list_tokens(registry, ADMIN)[0]
    assert listed.last_used_at is not None


def test_describe_token_shows_the_id_only() -> None:
    token = "mp_abcdefgh_" + "S" * 43
    assert describe_token(token) == "mp_abcdefgh_…" and "S" not in describe_token(token)
    assert describe_token("secret-looking-thing") == "(a malformed token)"


def _count_token_reads(registry: Registry) -> list[str]:
    seen: list[str] = []

    @sa.event.listens_for(registry.engine, "before_cursor_execute")
    def note(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if "api_tokens" in statement and statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    return seen


def test_a_verified_token_is_remembered_for_the_cache_time(registry: Registry) -> None:
    created = create_token(registry, ADMIN, role="maintainer", domain="retail")
    reads = _count_token_reads(registry)
    cached = TokenAuthenticator(registry, cache_s=0.5)
    for _ in range(20):
        assert cached.authenticate(created.token).domain == "retail"
    assert len(reads) == 1
    forged = created.token[:-1] + ("A" if created.token[-1] != "A" else "B")
    with pytest.raises(AccessDenied):  # same public id, other secret: never answered from the cache
        cached.authenticate(forged)
    time.sleep(0.6)
    cached.authenticate(created.token)
    assert len(reads) == 3  # the forged one was read, then the expired entry read again
    uncached = TokenAuthenticator(registry)  # cache_s=0: every request reads
    uncached.authenticate(created.token)
    uncached.authenticate(created.token)
    assert len(reads) == 5


def test_a_revocation_in_this_process_applies_at_once_elsewhere_within_the_cache_time(registry: Registry) -> None:
    first = create_token(registry, ADMIN, role="maintainer", domain="retail")
    second = create_token(registry, ADMIN, role="maintainer", domain="finance")
    cached = TokenAuthenticator(registry, cache_s=0.5)
    cached.authenticate(first.token)
    cached.authenticate(second.token)
    revoke_token(registry, ADMIN, first.info.id)  # through the service, in this process
    with pytest.raises(AccessDenied, match="revoked"):
        cached.authenticate(first.token)
    cached.authenticate(second.token)  # (a revocation here empties the whole cache: read again)
    with registry.transaction(immediate=True) as session:  # as another process would: straight into the registry
        session.execute(sa.update(ApiToken).where(ApiToken.token_id == second.info.id).values(revoked_at=sa.func.now()))
    assert cached.authenticate(second.token).domain == "finance"  # still remembered ...
    time.sleep(0.6)
    with pytest.raises(AccessDenied, match="revoked"):  # ... for at most the cache time
        cached.authenticate(second.token)


# --- expiry -----------------------------------------------------------------------------------------

EXPIRY_NOW = datetime(2026, 12, 7, 10, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30d", EXPIRY_NOW + timedelta(days=30)),
        ("12h", EXPIRY_NOW + timedelta(hours=12)),
        ("P90D", EXPIRY_NOW + timedelta(days=90)),
        ("1y", EXPIRY_NOW + timedelta(days=365)),
        ("2027-01-31", datetime(2027, 1, 31, tzinfo=UTC)),
        ("2027-01-31T18:00:00+01:00", datetime(2027, 1, 31, 17, tzinfo=UTC)),
        ("2027-01-31T18:00:00Z", datetime(2027, 1, 31, 18, tzinfo=UTC)),
    ],
)
def test_an_expiry_is_a_duration_a_date_or_a_time_with_offset(text: str, expected: datetime) -> None:
    assert parse_expiry(text, now=EXPIRY_NOW) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("never", "every token expires, at most 366 days ahead"),
        ("0d", "is not in the future"),
        ("2026-12-01", "is not in the future"),
        ("2y", "at most 366 days ahead"),
        ("2028-01-01", "at most 366 days ahead"),
        ("2027-01-31T18:00:00", "give the time's offset"),
        ("soon", "is not a duration such as 30d"),
        ("30", "is not a duration such as 30d"),
    ],
)
def test_a_bad_expiry_is_one_line_naming_it(text: str, message: str) -> None:
    with pytest.raises(MeshplaneError) as refused:
        parse_expiry(text, now=EXPIRY_NOW)
    assert message in refused.value.message and "\n" not in refused.value.message


def test_a_token_expires_after_the_default_days_unless_told(registry: Registry) -> None:
    before = datetime.now(UTC)
    default = create_token(registry, ADMIN, role="reader")
    assert before + timedelta(days=90) <= default.info.expires_at <= datetime.now(UTC) + timedelta(days=90)
    shorter = create_token(registry, ADMIN, role="reader", default_days=7)
    assert shorter.info.expires_at - shorter.info.created_at == timedelta(days=7)
    told = create_token(registry, ADMIN, role="reader", expires="2d", default_days=7)
    assert timedelta(days=2) - timedelta(seconds=1) <= told.info.expires_at - told.info.created_at <= timedelta(days=2)
    assert told.to_dict()["expiresAt"] == told.info.expires_at.isoformat() and told.info.active
    with pytest.raises(MeshplaneError, match="every token expires"):
        create_token(registry, ADMIN, role="reader", expires="never")
    with registry.read() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(ApiToken)).scalar_one() == 3


def _expire(registry: Registry, token_id: str, at: datetime) -> None:
    note = sa.update(ApiToken).where(ApiToken.token_id == token_id).values(expires_at=at)
    registry.write(lambda session: session.execute(note))


def test_an_expired_token_is_refused_naming_the_date_and_listed_only_with_all(registry: Registry) -> None:
    created = create_token(registry, ADMIN, role="reader", name="ci")
    kept = create_token(registry, ADMIN, role="reader", name="kept")
    auth = TokenAuthenticator(registry, cache_s=60)
    assert auth.authenticate(created.token).token_id == created.info.id
    at = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    _expire(registry, created.info.id, at)
    registry.cache.clear()  # another process would see it within the cache time
    with pytest.raises(AccessDenied) as refused:
        auth.authenticate(created.token)
    assert refused.value.authenticated is False
    assert refused.value.message == (
        f"the bearer token mp_{created.info.id}_… expired on 2026-12-01T08:00:00+00:00; ask an admin for a new one"
    )
    assert created.token.split("_", 2)[2] not in refused.value.message  # the secret (it may hold "_" itself)
    assert [t.id for t in list_tokens(registry, ADMIN)] == [kept.info.id]
    listed = {t.id: t for t in list_tokens(registry, ADMIN, include_revoked=True)}
    assert listed[created.info.id].expired and not listed[created.info.id].active
    assert listed[created.info.id].to_dict()["expiresAt"] == "2026-12-01T08:00:00+00:00"


def test_a_remembered_token_is_not_accepted_past_its_expiry(registry: Registry) -> None:
    created = create_token(registry, ADMIN, role="reader")
    _expire(registry, created.info.id, datetime.now(UTC) + timedelta(seconds=1.5))
    auth = TokenAuthenticator(registry, cache_s=300)
    assert auth.authenticate(created.token).token_id == created.info.id
    assert auth.remembered(created.token) is not None
    time.sleep(1.6)
    assert auth.remembered(created.token) is None  # no longer answered from memory
    with pytest.raises(AccessDenied, match="expired on"):
        auth.authenticate(created.token)


def test_a_maintainer_token_for_an_unknown_domain_is_refused(registry: Registry) -> None:
    with pytest.raises(MeshplaneError, match=r"no domain 'nosuch' in the registry; known domains: finance, retail"):
        create_token(registry, ADMIN, role="maintainer", domain="nosuch")
    assert list_tokens(registry, ADMIN, include_revoked=True) == []


def test_an_empty_registry_says_to_apply_first(tmp_path: Path) -> None:
    with (
        Registry(f"sqlite:///{tmp_path / 'empty.db'}") as empty,
        pytest.raises(MeshplaneError, match="apply the mesh first"),
    ):
        create_token(empty, ADMIN, role="maintainer", domain="retail")
