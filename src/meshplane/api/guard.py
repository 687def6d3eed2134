"""An ASGI middleware guarding every request before a route sees it: who calls first, then the body.

In this order, each step before any work of the next:

1. NUL characters are refused (400) in the path and the query: PostgreSQL cannot store them, and
   they are never meaningful in this API.
2. **The caller**, on every ``/api/`` path (``/health``, ``/openapi.json`` and ``/docs`` stay
   public): a bad, unknown or revoked bearer token is 401, and so is a request without a token
   that is not a read (a write, or any request while anonymous read is off) — **before its body is
   read**, so an anonymous client cannot make the server receive, inflate or parse anything. The
   principal is kept in the scope (`PRINCIPAL_KEY`): the routes do not verify the token again.
   **Rate limits** are counted here too (`api.ratelimits`): per token, and per client address for
   requests without a token and for refused tokens (429 with ``Retry-After``; an address past its
   limit of refused tokens cannot have tokens verified either). ``/health`` is never limited.
   While anonymous read is on, an anonymous caller's answers pass through `api.redaction` (no
   personal data), and every ``/api/`` answer says ``Vary: Authorization``.
3. **The role**, on writes to ``/api/`` paths, still before the body is read: a caller whose role can
   never make that request is refused (403) — a reader on any write, a lineage-writer on anything but
   the OpenLineage receiver, a maintainer on an admin-only operation (`WriteRules`, derived from the
   ownership each operation declares in the OpenAPI document; a write the document does not declare
   needs a maintainer or an admin). Whose domain it touches stays the service layer's decision.
4. Reads (GET, HEAD, OPTIONS) pass on without their body being read: no route reads one.
5. The body of a write is read up to the `max_request_bytes` setting (413 beyond; a larger
   ``Content-Length`` is refused before reading). ``Content-Encoding: gzip`` (or ``deflate``)
   bodies are inflated as a stream, with the same limit on the inflated size and a ratio limit
   (`MAX_INFLATION_RATIO`: a small bomb is stopped after a few megabytes, not at the size limit).
   Compressed bodies above `LOOP_COMPRESSED_BYTES` (plain ones above `LOOP_BYTES`) are inflated and
   scanned in a worker thread, so the event loop keeps answering other requests (``/health``
   among them) meanwhile. The OpenLineage clients send gzip.
6. NUL characters are refused (400) in JSON bodies.

A route's JSON body is then parsed by `api.bodies` (strict; large ones in a worker thread).
Answers are problem+json like every other error (`api.problems`).
"""

from __future__ import annotations

import asyncio
import re
import zlib
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from meshplane.api.operations import OperationIndex
from meshplane.api.problems import error_response, problem
from meshplane.api.ratelimits import UNLIMITED_PATHS, RateLimits, TooManyRequests, client_address
from meshplane.api.redaction import personal_query, redacting_send, varying_send
from meshplane.api.security import OWNER_EXTENSION, PRINCIPAL_KEY, require_read, resolve_principal
from meshplane.diagnostics import MeshplaneError
from meshplane.errors import AccessDenied

if TYPE_CHECKING:
    from meshplane.access import Principal
    from meshplane.api.context import ApiContext

_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")

READS = frozenset({"GET", "HEAD", "OPTIONS"})
"""Methods whose body no route reads: it is never read, inflated or parsed."""
MAX_INFLATION_RATIO = 100
"""Most a compressed body may grow (inflated / compressed bytes), once it is past `RATIO_FLOOR`."""
RATIO_FLOOR = 256 * 1024
"""Inflated bytes always allowed whatever the ratio (a small, very repetitive body is fine)."""
LOOP_BYTES = 1024 * 1024
"""Plain bodies larger than this are scanned in a worker thread, not on the event loop."""
LOOP_COMPRESSED_BYTES = 8 * 1024
"""Compressed bodies larger than this are inflated in a worker thread (a smaller one inflates to 1 MiB at most)."""
_STEP = 64 * 1024


class Refused(Exception):
    """A request the guard does not let through; `response()` is its problem+json answer."""

    def __init__(self, status: int, detail: str, kind: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.kind, self.headers = status, detail, kind, headers

    def response(self, scope: Scope) -> Response:
        """The problem+json answer."""
        return problem(self.status, self.detail, kind=self.kind, instance=scope.get("path"), headers=self.headers)


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value)
    return None


async def authenticate(scope: Scope, context: ApiContext, limits: RateLimits | None = None) -> Principal | None:
    """The caller of an ``/api/`` request (None elsewhere); `AccessDenied` (401) before any body is read.

    A bad token is refused on every path; no token is refused for writes, and for reads while
    anonymous read is off. Remembered tokens are answered on the loop, others in a worker thread.
    With `limits`, the request is counted (`TooManyRequests` past a limit): against its token, or
    against its address when it has no valid token.
    """
    path = scope.get("path", "")
    address = client_address(scope.get("client"))
    if not path.startswith("/api/"):
        if limits is not None and path not in UNLIMITED_PATHS:
            await limits.count_address(address)
        return None
    header = _header(scope, b"authorization")
    if header is None:
        if limits is not None:
            await limits.count_address(address)
        principal = await resolve_principal(None, context)
    else:
        before_lookup = (lambda: limits.require_verification_budget(address)) if limits is not None else None
        try:
            principal = await resolve_principal(header.decode("latin-1"), context, before_lookup=before_lookup)
        except AccessDenied:
            if limits is not None:
                await limits.count_refused(address)
            raise
        if limits is not None and principal.token_id is not None:
            await limits.count_token(principal.token_id)
    if not principal.authenticated:
        if scope.get("method", "GET") not in READS:
            raise AccessDenied(
                "authentication required: send `Authorization: Bearer <token>` (writes need a token)",
                authenticated=False,
            )
        require_read(principal, context)
    return principal


async def guard_request(
    scope: Scope, receive: Receive, max_bytes: int, *, max_ratio: int = MAX_INFLATION_RATIO
) -> tuple[Scope, bytes]:
    """The scope and the whole (inflated) body an HTTP request hands on; `Refused` when it is not acceptable."""
    headers = {k.lower(): v for k, v in scope.get("headers", [])}
    encoding = headers.get(b"content-encoding", b"").decode("latin-1").strip().lower()
    if encoding not in ("", "identity", "gzip", "x-gzip", "deflate"):
        raise Refused(415, f"content encoding '{encoding[:50]}' is not supported", "unsupported-encoding")
    declared = headers.get(b"content-length", b"").strip()
    if declared.isdigit() and int(declared) > max_bytes:
        raise Refused(413, _too_large(max_bytes, "request body"), "too-large")
    body = await _read(receive, max_bytes)
    compressed = encoding in ("gzip", "x-gzip", "deflate") and bool(body)
    is_json = b"json" in headers.get(b"content-type", b"").lower()
    if len(body) > (LOOP_COMPRESSED_BYTES if compressed else LOOP_BYTES):
        body = await run_in_threadpool(
            _checked_body, body, encoding if compressed else "", is_json, max_bytes, max_ratio
        )
    else:
        body = _checked_body(body, encoding if compressed else "", is_json, max_bytes, max_ratio)
    if compressed:
        scope = dict(scope)
        kept = [(k, v) for k, v in scope["headers"] if k.lower() not in (b"content-encoding", b"content-length")]
        scope["headers"] = [*kept, (b"content-length", str(len(body)).encode())]
    return scope, body


def _checked_body(body: bytes, encoding: str, is_json: bool, max_bytes: int, max_ratio: int) -> bytes:
    if encoding:
        try:
            body = inflate(body, max_bytes, max_ratio, gzip=encoding != "deflate")
        except zlib.error as exc:
            raise Refused(400, f"the body is not valid {encoding}: {exc}", "bad-encoding") from None
    if is_json and (b"\x00" in body or (b"\\u0000" in body and _JSON_NUL.search(body))):  # the regex only if needed
        raise Refused(400, "NUL characters are not accepted in request bodies", "nul-character")
    return body


def _too_large(max_bytes: int, what: str) -> str:
    return f"the {what} exceeds {max_bytes} bytes (the max_request_bytes setting, MESHPLANE_MAX_REQUEST_BYTES)"


def inflate(body: bytes, max_bytes: int, max_ratio: int = MAX_INFLATION_RATIO, *, gzip: bool = True) -> bytes:
    """`body` inflated as a stream, stopped (413) beyond `max_bytes` or `max_ratio` times its compressed size."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS if gzip else zlib.MAX_WBITS)
    chunks: list[bytes] = []
    size = 0
    pending = body
    while True:
        piece = inflater.decompress(pending, _STEP)
        pending = inflater.unconsumed_tail
        size += len(piece)
        chunks.append(piece)
        if size > max_bytes:
            raise Refused(413, _too_large(max_bytes, "decompressed request body"), "too-large")
        consumed = len(body) - len(pending)
        if size > RATIO_FLOOR and size > max_ratio * consumed:
            raise Refused(
                413,
                f"the request body inflates more than {max_ratio} times its compressed size "
                f"(the inflation ratio limit; {len(body)} compressed bytes)",
                "too-large",
            )
        if inflater.eof or (not pending and len(piece) < _STEP):
            break
    rest = inflater.flush()
    if size + len(rest) > max_bytes:
        raise Refused(413, _too_large(max_bytes, "decompressed request body"), "too-large")
    return b"".join([*chunks, rest])


ADMIN_RULE = "admin"
"""The ownership rule of operations only admins may call (`security.ADMIN_ONLY`)."""
SENDER_RULE = "any-writer"
"""The ownership rule of the OpenLineage receiver: any token that may send lineage (`lineage.RECEIVER`)."""


class WriteRules:
    """Which roles may ever call each write operation of ``/api/``, from the ownership its OpenAPI operation declares.

    Built once, at the first write, from the application's OpenAPI document (the one place every
    route, FastAPI or plain, declares its ``x-meshplane-owner``), so a route added later is covered
    by what it declares. The checks are `Principal`'s own: ``admin`` operations need
    `Principal.require_admin`, the receiver (``any-writer``) `Principal.require_lineage_sender`,
    every other write (any other rule, no rule, or a path the document does not have)
    `Principal.require_writer` — a reader is never let through to a write's body.
    """

    def __init__(self) -> None:
        self._index = OperationIndex({})
        self._built = False
        self._lock = asyncio.Lock()

    def load(self, document: dict[str, Any]) -> None:
        """Index the write operations of an OpenAPI document's ``/api/`` paths."""
        paths = document.get("paths", {})
        writes = {
            path: {method: op for method, op in item.items() if method.upper() not in READS}
            for path, item in paths.items()
            if path.startswith("/api/")
        }
        self._index = OperationIndex({"paths": writes})
        self._built = True

    async def ensure(self, app: Any) -> None:
        """Build the index from `app`'s OpenAPI document once (in a worker thread: it takes a while)."""
        if self._built:
            return
        async with self._lock:
            if not self._built:
                openapi = getattr(app, "openapi", None)
                self.load(await run_in_threadpool(openapi) if callable(openapi) else {})

    def operation(self, method: str, path: str) -> dict[str, Any] | None:
        """The OpenAPI operation a write request is for, or None when the document has none."""
        return self._index.operation(method, path)

    def require(self, method: str, path: str, principal: Principal) -> None:
        """Refuse (`AccessDenied`) a caller whose role can never make this write, before its body is read."""
        operation = self.operation(method, path) or {}
        rule = (operation.get(OWNER_EXTENSION) or {}).get("rule")
        if rule == SENDER_RULE:
            principal.require_lineage_sender()
        elif rule == ADMIN_RULE:
            summary = str(operation.get("summary") or f"{method} {path}")
            principal.require_admin(summary[:1].lower() + summary[1:])
        else:
            principal.require_writer()


def replay(body: bytes, original: Receive) -> Receive:
    """A receive channel giving `body` as one message, then the original channel (which reports the disconnect)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await original()

    return receive


async def _read(receive: Receive, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > max_bytes:
            raise Refused(413, _too_large(max_bytes, "request body"), "too-large")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


class RequestGuard:
    """Authentication before work, size and inflation limits, NUL refusal for HTTP requests (module doc)."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, context: ApiContext | None = None, max_ratio: int = MAX_INFLATION_RATIO
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.context = context
        self.max_ratio = max_ratio
        self.rules = WriteRules()
        """Who may ever call each write operation (built from the OpenAPI document at the first write)."""
        self.limits: RateLimits | None = None
        """The rate limits of the application (per token, per address), counted in this process."""
        if context is not None:
            settings = context.settings
            self.limits = RateLimits.from_settings(settings.rate_limit_token, settings.rate_limit_address)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"")
        try:
            if "\x00" in scope.get("path", "") or b"%00" in query or b"\x00" in query:
                raise Refused(400, "NUL characters are not accepted in URLs", "nul-character")
            if self.context is not None:
                principal = await authenticate(scope, self.context, self.limits)
                if principal is not None:
                    scope = {**scope, PRINCIPAL_KEY: principal}
                    if self.context.settings.anonymous_read:
                        send = self._personal_data(scope, principal, send)
                    if scope.get("method", "GET") not in READS:
                        await self.rules.ensure(scope.get("app"))
                        self.rules.require(scope["method"], scope.get("path", ""), principal)
            if scope.get("method", "GET") not in READS:
                scope, body = await guard_request(scope, receive, self.max_bytes, max_ratio=self.max_ratio)
                receive = replay(body, receive)
        except Refused as refused:
            await refused.response(scope)(scope, receive, send)
            return
        except TooManyRequests as spent:
            limited = Refused(429, spent.detail, "too-many-requests", {"Retry-After": str(spent.retry_after)})
            await limited.response(scope)(scope, receive, send)
            return
        except (MeshplaneError, sa.exc.SQLAlchemyError) as exc:  # a bad token (401), a registry that is down (503)
            await (await error_response(Request(scope), exc))(scope, receive, send)
            return
        await self.app(scope, receive, send)

    @staticmethod
    def _personal_data(scope: Scope, principal: Principal, send: Send) -> Send:
        """While anonymous read is on: an anonymous caller's answer redacted (`api.redaction`), every answer varying."""
        if principal.authenticated:
            return varying_send(send)
        criterion = personal_query(scope.get("path", ""), scope.get("query_string", b""))
        if criterion is not None:
            raise AccessDenied(
                f"searching by {criterion} needs a token: team members are shown to authenticated callers only",
                authenticated=False,
            )
        return redacting_send(send)


__all__ = [
    "LOOP_BYTES",
    "LOOP_COMPRESSED_BYTES",
    "MAX_INFLATION_RATIO",
    "RATIO_FLOOR",
    "READS",
    "Refused",
    "RequestGuard",
    "WriteRules",
    "authenticate",
    "guard_request",
    "inflate",
    "replay",
]
