"""Personal data is for authenticated callers: what an anonymous caller sees of it, in one place.

While anonymous read is on (the `anonymous_read` setting), the request guard passes every JSON
answer to an anonymous caller through `redact` (`redacting_send`), whatever the route: domains,
products, contracts and their stored documents, search results, agreements, test runs, lineage.
Routes know nothing of it. The rules are data:

* a **team member** (in a ``team`` object's ``members``, or a ``team`` list as ODCS 3.0 wrote it,
  in the catalog's answers and in the stored ODPS / ODCS / domain documents alike) keeps only its
  ``role`` (`MEMBER_KEPT`); its ``username`` becomes `HIDDEN` (so the document keeps its shape);
  its name, description, dates and everything else are left out;
* **who did something** (`PERSON_KEYS` and every key ending in ``By``: ``requestedBy``,
  ``recordedBy``, an event's ``actor``, ODCS ``firstLevelApprovers``, …) becomes `HIDDEN`: these
  name a token's owner or a person;
* **e-mail addresses** anywhere else in a string (a support channel, a description, a URL) are
  replaced by `HIDDEN`.

And an anonymous caller may not search by a personal criterion (`PERSONAL_QUERIES`: the team
members of ``GET /api/v1/search?owner=``), which would tell who is in which team: 401.

Authenticated callers (any token) see everything. Answers vary by caller, so every ``/api/``
answer says ``Vary: Authorization`` while anonymous read is on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.types import Message, Send

HIDDEN = "(hidden)"
"""What an anonymous caller reads in place of personal data."""
MEMBER_KEPT = frozenset({"role"})
"""What of a team member an anonymous caller sees (besides its hidden username)."""
PERSON_KEYS = frozenset(
    {"actor", "firstLevelApprovers", "secondLevelApprovers", "replacedByUsername", "username", "owners"}
)
"""Keys whose values name people (besides every key ending in ``By``)."""
PERSONAL_QUERIES: Mapping[str, frozenset[str]] = {"/api/v1/search": frozenset({"owner"})}
"""Query parameters an anonymous caller may not use, by path: they search by person."""
EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")


def _hidden(value: Any) -> Any:
    """`value` with every string in it hidden, its shape kept (a list stays a list)."""
    if isinstance(value, str):
        return HIDDEN
    if isinstance(value, list):
        return [_hidden(item) for item in value]
    if isinstance(value, dict):
        return {key: _hidden(item) for key, item in value.items()}
    return value


def _member(member: Any) -> Any:
    if not isinstance(member, dict):
        return _hidden(member)
    kept = {key: redact(member[key]) for key in MEMBER_KEPT if key in member}
    return {"username": HIDDEN, **kept}


def _team(team: Any) -> Any:
    if isinstance(team, list):  # ODCS 3.0: the team is the list of its members
        return [_member(member) for member in team]
    if isinstance(team, dict):
        out = {key: redact(value) for key, value in team.items() if key != "members"}
        if isinstance(team.get("members"), list):
            out["members"] = [_member(member) for member in team["members"]]
        return out
    return redact(team)


def _personal(key: str) -> bool:
    return key in PERSON_KEYS or (key.endswith("By") and len(key) > 2)


def redact(value: Any) -> Any:
    """A JSON value as an anonymous caller sees it (module doc); the value itself is not changed."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key == "team":
                out[key] = _team(item)
            elif _personal(key):
                out[key] = _hidden(item)
            else:
                out[key] = redact(item)
        return out
    if isinstance(value, list):
        return [redact(item) for item in value]
    if isinstance(value, str) and "@" in value:
        return EMAIL.sub(HIDDEN, value)
    return value


def personal_query(path: str, query_string: bytes) -> str | None:
    """The personal criterion a request searches by (refused to anonymous callers), or None."""
    names = PERSONAL_QUERIES.get(path)
    if not names or not query_string:
        return None
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if name in names and value:
            return name
    return None


def _is_json(headers: list[tuple[bytes, bytes]]) -> bool:
    for key, value in headers:
        if key.lower() == b"content-type":
            media = value.split(b";")[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return False


def varying_send(send: Send) -> Send:
    """`send` adding ``Vary: Authorization`` to the answer (it depends on who asks)."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"vary"]
            vary = [v for k, v in message.get("headers", []) if k.lower() == b"vary"]
            value = b", ".join([*vary, b"Authorization"])
            message = {**message, "headers": [*headers, (b"vary", value)]}
        await send(message)

    return wrapped


def redacting_send(send: Send) -> Send:
    """`send` passing a JSON answer through `redact` (held until its last body message) and ``Vary``."""
    start: Message | None = None
    chunks: list[bytes] = []
    send = varying_send(send)

    async def wrapped(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            if _is_json(list(message.get("headers", []))):
                start = message
                return
            await send(message)
            return
        if start is None or message["type"] != "http.response.body":
            await send(message)
            return
        chunks.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        body = b"".join(chunks)
        if body:
            body = orjson.dumps(redact(orjson.loads(body)))
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    return wrapped


__all__ = [
    "EMAIL",
    "HIDDEN",
    "MEMBER_KEPT",
    "PERSONAL_QUERIES",
    "PERSON_KEYS",
    "personal_query",
    "redact",
    "redacting_send",
    "varying_send",
]
