"""Who is calling, and what each route lets them do.

Authentication: ``Authorization: Bearer <token>`` (what the OpenLineage HTTP transport sends with
an API key). No header: the anonymous principal, which may read only when the `anonymous_read`
setting is on. A header with a bad, unknown or revoked token is always 401, even for reads.

Authorization has two layers:

1. Every route of the API depends on `read_access` (through its router); every **mutating** route
   also declares its `Ownership` with `writes(...)`, which refuses anonymous callers (401) and
   readers (403) and records, in the OpenAPI operation (``x-meshplane-owner``), how the owning
   domain of what it touches is found.
2. The use case in the service layer resolves that domain and calls
   `Principal.require_maintainer` / `require_admin` (403 for a maintainer of another domain), so
   the rule holds whichever front end calls it.

A new resource module (for instance the OpenLineage receiver) declares its writes the same way:
``@router.post("/lineage", **writes(Ownership("any-writer", "...")))``. The authorization-matrix
test refuses a mutating route without a declared ownership and without an expectation row.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import BackgroundTasks, Depends, Request
from fastapi.concurrency import run_in_threadpool

from meshplane.access import Principal
from meshplane.api.context import ApiContext, get_context
from meshplane.api.problems import WRITE_PROBLEMS
from meshplane.errors import AccessDenied

OWNER_EXTENSION = "x-meshplane-owner"
PRINCIPAL_KEY = "meshplane.principal"
"""Where `api.guard` keeps the request's principal in the ASGI scope (verified once per request)."""

BEARER_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "description": "A meshplane API token (`meshplane token create`; docs/auth.md).",
}
"""The OpenAPI security scheme of every ``/api/`` operation (`document_bearer_auth` adds it).

``/openapi.json`` and ``/docs`` stay public: the document describes the software, the same for every
installation, never its data. So it names no token's shape (no ``bearerFormat``, no id pattern):
an anonymous caller learns nothing of the installation's tokens from it (docs/auth.md).
"""


def document_bearer_auth(document: dict[str, Any]) -> None:
    """Declare bearer tokens in an OpenAPI document: the scheme, and on every ``/api/`` operation.

    Declared here rather than through a FastAPI security dependency: resolving one more dependency
    on every request costs more than the token check itself.
    """
    document.setdefault("components", {}).setdefault("securitySchemes", {})["HTTPBearer"] = dict(BEARER_SCHEME)
    for path, operations in document.get("paths", {}).items():
        if path.startswith("/api/"):
            for operation in operations.values():
                operation["security"] = [{"HTTPBearer": []}]


async def resolve_principal(
    header: str | None, context: ApiContext, *, before_lookup: Callable[[], Awaitable[None]] | None = None
) -> Principal:
    """The principal an ``Authorization`` header names (none: the anonymous one); `AccessDenied` (401) if bad.

    A remembered token costs no I/O and is answered on the event loop; otherwise `before_lookup` is
    awaited (the guard's rate limit: it may refuse) and the registry is read in a worker thread.
    """
    if header is None:
        return Principal.anonymous()
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AccessDenied("use `Authorization: Bearer <token>`", authenticated=False)
    token = token.strip()
    authenticator = context.authenticator
    principal = authenticator.remembered(token)
    if principal is None:
        if before_lookup is not None:
            await before_lookup()
        principal = await run_in_threadpool(authenticator.authenticate, token)
    return principal


def last_use_due(principal: Principal, context: ApiContext) -> str | None:
    """The token whose ``last_used`` is to be written after this request (the authenticator spaces the writes)."""
    token_id = principal.token_id
    return token_id if token_id and context.authenticator.due_for_last_used(token_id) else None


def require_read(principal: Principal, context: ApiContext) -> None:
    """Any token may read; anonymous callers only when the `anonymous_read` setting is on."""
    if not principal.authenticated and not context.settings.anonymous_read:
        raise AccessDenied(
            "authentication required: send `Authorization: Bearer <token>` (anonymous read is off)",
            authenticated=False,
        )


async def current_principal(request: Request, background: BackgroundTasks) -> Principal:
    """The caller of this request (FastAPI resolves it once per request for every dependency).

    The security dependencies are async, have no sub-dependencies of their own and do no blocking
    work on the event loop: FastAPI runs sync dependencies in worker threads, and each hop or extra
    dependency costs more than the check itself.
    """
    context = await get_context(request)
    principal: Principal | None = request.scope.get(PRINCIPAL_KEY)  # the guard verified it already
    if principal is None:
        principal = await resolve_principal(request.headers.get("authorization"), context)
    if token_id := last_use_due(principal, context):
        background.add_task(context.authenticator.record_use, token_id)
    return principal


async def read_access(request: Request, principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    """Any token may read; anonymous callers only when the `anonymous_read` setting is on (`require_read`)."""
    require_read(principal, await get_context(request))
    return principal


async def write_access(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    """A caller who may write something: a token that is not a reader's (the domain is checked later)."""
    principal.require_writer()
    return principal


Caller = Annotated[Principal, Depends(current_principal)]
"""The principal of the request, for handlers to pass to the service layer."""


@dataclass(frozen=True)
class Ownership:
    """How a mutating route finds the domain whose maintainers may call it (admins may always)."""

    rule: str
    """Short name of the rule, e.g. ``consumer-product``."""
    description: str
    """How the owning domain is found, in words (it goes into the OpenAPI document and docs/auth.md)."""

    def to_dict(self) -> dict[str, str]:
        """The ``x-meshplane-owner`` extension of the route's OpenAPI operation."""
        return {"rule": self.rule, "description": self.description}


ADMIN_ONLY = Ownership("admin", "No domain owns it: only admins.")
PRODUCT_DOMAIN = Ownership("product", "The domain of the product in the path.")
CONSUMER_DOMAIN = Ownership("consumer-product", "The domain of the consumer product in the body.")
PROVIDER_DOMAIN = Ownership("provider-product", "The domain of the agreement's provider product (the port's owner).")
EITHER_SIDE = Ownership("agreement-parties", "The domain of the agreement's consumer or of its provider.")
CONTRACT_DOMAIN = Ownership(
    "contract", "The domain each run's contract is registered in (an unregistered contract: 404 for everyone)."
)
PLAN_DOMAINS = Ownership(
    "plan", "Every domain the bundle's plan touches: created, updated, retired or restored entities and versions."
)


def writes(ownership: Ownership) -> dict[str, Any]:
    """Keyword arguments for a mutating route's decorator: write access, the ownership, the problems."""
    return {
        "dependencies": [Depends(write_access)],
        "openapi_extra": {OWNER_EXTENSION: ownership.to_dict()},
        "responses": WRITE_PROBLEMS,
    }


__all__ = [
    "ADMIN_ONLY",
    "BEARER_SCHEME",
    "CONSUMER_DOMAIN",
    "CONTRACT_DOMAIN",
    "EITHER_SIDE",
    "OWNER_EXTENSION",
    "PLAN_DOMAINS",
    "PRINCIPAL_KEY",
    "PRODUCT_DOMAIN",
    "PROVIDER_DOMAIN",
    "Caller",
    "Ownership",
    "current_principal",
    "document_bearer_auth",
    "last_use_due",
    "read_access",
    "require_read",
    "resolve_principal",
    "write_access",
    "writes",
]
