"""An ASGI middleware guarding every request before a route sees it.

* Request bodies are read up to the `max_request_bytes` setting (413 beyond).
* ``Content-Encoding: gzip`` (or ``deflate``) bodies are decompressed, with the same limit on the
  decompressed size (a small bomb cannot fill the memory). The OpenLineage clients send gzip.
* NUL characters are refused (400) in the path, the query and JSON bodies: PostgreSQL cannot store
  them, and they are never meaningful in this API.

Answers are problem+json like every other error (`api.problems`).
"""

from __future__ import annotations

import re
import zlib

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from meshplane.api.problems import problem

_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


class Refused(Exception):
    """A request the guard does not let through; `response()` is its problem+json answer."""

    def __init__(self, status: int, detail: str, kind: str) -> None:
        super().__init__(detail)
        self.status, self.detail, self.kind = status, detail, kind

    def response(self, scope: Scope) -> Response:
        """The problem+json answer."""
        return problem(self.status, self.detail, kind=self.kind, instance=scope.get("path"))


async def guard_request(scope: Scope, receive: Receive, max_bytes: int) -> tuple[Scope, bytes]:
    """The scope and the whole (inflated) body an HTTP request hands on; `Refused` when it is not acceptable."""
    query = scope.get("query_string", b"")
    if "\x00" in scope.get("path", "") or b"%00" in query or b"\x00" in query:
        raise Refused(400, "NUL characters are not accepted in URLs", "nul-character")
    headers = {k.lower(): v for k, v in scope.get("headers", [])}
    encoding = headers.get(b"content-encoding", b"").decode("latin-1").strip().lower()
    if encoding not in ("", "identity", "gzip", "x-gzip", "deflate"):
        raise Refused(415, f"content encoding '{encoding[:50]}' is not supported", "unsupported-encoding")
    body = await _read(receive, max_bytes)
    if encoding in ("gzip", "x-gzip", "deflate") and body:
        try:
            body = _decompress(body, max_bytes, gzip=encoding != "deflate")
        except zlib.error as exc:
            raise Refused(400, f"the body is not valid {encoding}: {exc}", "bad-encoding") from None
        scope = dict(scope)
        kept = [(k, v) for k, v in scope["headers"] if k.lower() not in (b"content-encoding", b"content-length")]
        scope["headers"] = [*kept, (b"content-length", str(len(body)).encode())]
    if (
        b"json" in headers.get(b"content-type", b"").lower()
        and (b"\x00" in body or (b"\\u0000" in body and _JSON_NUL.search(body)))  # the regex only when needed
    ):
        raise Refused(400, "NUL characters are not accepted in request bodies", "nul-character")
    return scope, body


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
            raise Refused(413, f"the request body exceeds {max_bytes} bytes", "too-large")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _decompress(body: bytes, max_bytes: int, *, gzip: bool) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS if gzip else zlib.MAX_WBITS)
    out = inflater.decompress(body, max_bytes + 1)
    if len(out) > max_bytes or inflater.unconsumed_tail:
        raise Refused(413, f"the decompressed request body exceeds {max_bytes} bytes", "too-large")
    return out + inflater.flush()


class RequestGuard:
    """Size limit, request decompression and NUL refusal for HTTP requests (`guard_request`)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            scope, body = await guard_request(scope, receive, self.max_bytes)
        except Refused as refused:
            await refused.response(scope)(scope, receive, send)
            return
        await self.app(scope, replay(body, receive), send)


__all__ = ["Refused", "RequestGuard", "guard_request", "replay"]
