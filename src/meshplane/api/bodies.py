"""JSON bodies of the API's FastAPI routes: one strict reader, large bodies read in a worker thread.

FastAPI reads a route's JSON body with ``Request.json()`` before it solves the route's dependencies.
Every router of `meshplane.api.routes` is built with ``route_class=JsonRoute`` (FastAPI's documented
extension point: a route class whose handler is given a request class of its own), so that read is
`read_json_async`:

- the text must be UTF-8 (a byte order mark is tolerated): otherwise 400 naming the byte;
- a key appears once per object: a duplicate is a 400 naming the key, its line and column (with the
  last one winning, ``{"role": "reader", "role": "admin"}`` would ask for an admin token);
- nesting is bounded by the JSON reader's recursion limit (400, `api.problems`);
- a body larger than `LOOP_PARSE_LIMIT` (64 KiB, the lineage receiver's threshold) is parsed in a
  worker thread, so the event loop keeps answering other requests (``/health`` among them).

The request guard (`api.guard`) has by then refused callers whose role can never make the request,
before reading any body. The OpenLineage receiver's plain routes read events with
`meshplane.lineage.check_event` (orjson, no duplicate check: docs/api.md says why), not with this.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from meshplane.service.lineage import LOOP_PARSE_LIMIT

_STRUCTURE = re.compile(r'[{}\[\]",]')
_UNREAD = object()
_DECODER = json.JSONDecoder()


class DuplicateKeyError(json.JSONDecodeError):
    """A JSON object with the same key twice; FastAPI answers it as invalid JSON (400, the key and its position)."""


class _Duplicate(Exception):
    """Raised by the pairs hook: some object holds a key twice (`_duplicate_at` finds which and where)."""


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        raise _Duplicate
    return value


def _duplicate_at(text: str) -> tuple[str, int]:
    """The first key of `text` (valid JSON) that its object already has, and its offset; ("", 0) if none."""
    keys: list[set[str] | None] = []  # per open container: the keys of an object, None for an array
    previous = ""
    at = 0
    while match := _STRUCTURE.search(text, at):
        char, at = match.group(), match.end()
        if char == '"':
            key, end = _DECODER.raw_decode(text, at - 1)
            seen = keys[-1] if keys else None
            if seen is not None and previous in "{,":
                if key in seen:
                    return key, at - 1
                seen.add(key)
            previous, at = '"', end
            continue
        if char in "{[":
            keys.append(set() if char == "{" else None)
        elif char in "}]":
            keys.pop()
        previous = char
    return "", 0


def read_json(body: bytes) -> Any:
    """The JSON value of a request body: UTF-8, each key once per object (`DuplicateKeyError` otherwise)."""
    text = body.decode("utf-8-sig")  # UnicodeDecodeError: 400 naming the byte (api.problems)
    try:
        return json.loads(text, object_pairs_hook=_unique)
    except _Duplicate:
        key, offset = _duplicate_at(text)
        raise DuplicateKeyError(
            f"duplicate key '{json.dumps(key)[1:-1][:100]}' (a key may appear once per object)", text, offset
        ) from None


async def read_json_async(body: bytes) -> Any:
    """`read_json`, in a worker thread when the body is larger than `LOOP_PARSE_LIMIT`."""
    if len(body) > LOOP_PARSE_LIMIT:
        return await run_in_threadpool(read_json, body)
    return read_json(body)


class JsonRequest(Request):
    """A route's request whose JSON body is read by `read_json_async` (the body bytes are the original request's)."""

    def __init__(self, request: Request) -> None:
        super().__init__(request.scope, request.receive)
        self.origin = request
        """The request the route was given: it keeps the body, for the error handlers too."""
        self._value: Any = _UNREAD

    async def body(self) -> bytes:
        """The body, read once, through the original request."""
        return await self.origin.body()

    async def json(self) -> Any:
        """The body's JSON value (`read_json`), parsed once."""
        if self._value is _UNREAD:
            self._value = await read_json_async(await self.body())
        return self._value


class JsonRoute(APIRoute):
    """The route class of every API router: its handler reads JSON bodies with `read_json_async` (module doc)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """FastAPI's handler, given a `JsonRequest`."""
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            return await handler(JsonRequest(request))

        return handle


__all__ = ["LOOP_PARSE_LIMIT", "DuplicateKeyError", "JsonRequest", "JsonRoute", "read_json", "read_json_async"]
