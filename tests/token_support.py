"""Tokens for tests that need a registry state `create_token` refuses to produce (shared by API, hostile and service tests)."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa

from meshplane.access import Principal
from meshplane.registry import Registry
from meshplane.registry import models as m
from meshplane.registry.access import ApiToken
from meshplane.service.tokens import create_token


def add_domains(registry: Registry, *ids: str) -> None:
    """Domain rows as an apply of `domains/<id>/domain.yaml` leaves them (for token tests without a mesh)."""

    def _insert(session: sa.orm.Session) -> None:
        now = m.utcnow()
        for domain in ids:
            document = {"id": domain}
            digest = hashlib.sha256(domain.encode()).hexdigest()
            session.add(m.Domain(id=domain, tags=[], document=document, sha256=digest, created_at=now, updated_at=now))

    registry.write(_insert)


def orphan_maintainer_token(registry: Registry, operator: Principal, domain: str, name: str) -> str:
    """A maintainer token naming `domain`, absent from the registry (its domain was removed after it was made).

    `create_token` refuses an unknown domain; such a token still exists when a domain leaves the mesh, so the
    API must keep refusing what it would do in a domain it does not own.
    """
    stand_in = "orphan-stand-in"
    add_domains(registry, stand_in)
    created = create_token(registry, operator, role="maintainer", domain=stand_in, name=name)

    def _move(session: sa.orm.Session) -> None:
        session.execute(sa.update(ApiToken).where(ApiToken.token_id == created.info.id).values(domain_id=domain))
        session.execute(sa.delete(m.Domain).where(m.Domain.id == stand_in))

    registry.write(_move)
    return created.token
