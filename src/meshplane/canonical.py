"""Canonical JSON: the one text meshplane hashes a document in.

Used for the fingerprint of an OpenLineage event (`meshplane.lineage.events`), the sha256 of a
registered domain, product descriptor and contract version (`meshplane.registry.versions`) and the
fingerprint of a test run (`meshplane.registry.testruns`). Equal documents give equal text,
whatever their key order or formatting.

The form (version 2, since registry migration ``0008``) is what orjson writes with sorted keys:

- objects with their keys sorted by code point, no insignificant whitespace, UTF-8 (nothing is
  escaped beyond what JSON requires: ``"``, ``\\`` and control characters);
- integers exactly, beyond 64 bits too (as their digits: orjson cannot write them itself, so
  they go in as `orjson.Fragment`);
- floats in orjson's shortest round-trip spelling, the same as Python's ``repr`` except for a
  decimal exponent of -5 to -9: ``1e-05`` is written ``0.00001`` and ``1e-07`` ``1e-7``;
- NaN and infinities are refused (they are not JSON), as are lone surrogates (not Unicode text),
  keys that are not strings and nesting deeper than `MAX_DEPTH`: `CanonicalJSONError` names the
  place (a JSON path) and the reason;
- other values are refused too, unless ``default`` turns them into JSON data. The registry passes
  ``str``, as its ``json.dumps(..., default=str)`` did: dates, datetimes and times are written as
  ``str()`` writes them (``2024-01-01 10:00:00+00:00``, not RFC 3339), sets and decimals as
  strings.

Version 1 was ``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``.
For the documents meshplane stores hashes of, the two texts differ only where a float has a
decimal exponent of -5 to -9 (and NaN, which version 1 wrote as ``NaN``): documents loaded from
YAML reach the hash as pydantic's JSON-mode dump (dates already ISO strings, NaN already null),
and test runs as `meshplane.checks.values.json_value` (NaN as the string ``"NaN"``). Rather than
keep a second codec for those few documents, migration ``0008`` recomputes every stored hash that
can be recomputed from what is stored: event fingerprints (from the stored body), and the sha256
of domains, product descriptors, products and contract versions (from their stored documents).
A test run's document is not stored whole, so its fingerprint cannot be recomputed: a run stored
before ``0008`` whose document held such a float is stored a second time if it is sent again
(as runs stored before ``0006``, which have no fingerprint at all).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from typing import Any

import orjson

from meshplane.diagnostics import render_json_path

MAX_DEPTH = 254
"""The deepest nesting orjson writes: 254 objects or arrays, one inside the other."""

_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
"""Sorted keys; datetimes and dataclasses go to ``default`` (refused without one), as with json.dumps."""
_INT64 = (-(2**63), 2**64 - 1)
"""The integers orjson writes itself."""

Default = Callable[[Any], Any]
"""Turns a value that is not JSON data into JSON data (or raises TypeError)."""


class CanonicalJSONError(ValueError):
    """A value that has no canonical JSON text: ``path`` (keys and indexes) says where, ``reason`` why."""

    def __init__(self, path: tuple[str | int, ...], reason: str) -> None:
        super().__init__(f"{render_json_path(path)}: {reason}")
        self.path = path
        self.reason = reason


def canonical_bytes(value: Any, *, default: Default | None = None) -> bytes:
    """The canonical JSON of ``value`` as UTF-8 (module docstring); `CanonicalJSONError` when it has none."""
    try:
        text = orjson.dumps(value, default=default, option=_OPTIONS)
    except orjson.JSONEncodeError:
        text = orjson.dumps(_json_data(value, default), option=_OPTIONS)
    if b"null" in text:  # orjson writes NaN and infinities as null
        _refuse_non_finite(value, default)
    return text


def canonical_bytes_of_decoded(value: Any) -> bytes:
    """`canonical_bytes` of a value orjson has just decoded from JSON text (fast: nothing in it to look for).

    Such a value holds only JSON data orjson writes (no NaN, no integer beyond 64 bits, no lone
    surrogate); only nesting deeper than `MAX_DEPTH` fails (`CanonicalJSONError`).
    """
    try:
        return orjson.dumps(value, option=_OPTIONS)
    except orjson.JSONEncodeError:
        return orjson.dumps(_json_data(value, None), option=_OPTIONS)


def canonical_json(value: Any, *, default: Default | None = None) -> str:
    """The canonical JSON text of ``value`` (`canonical_bytes`, decoded)."""
    return canonical_bytes(value, default=default).decode("utf-8")


def canonical_sha256(value: Any, *, default: Default | None = None) -> str:
    """sha256 (hex) of the canonical JSON of ``value``."""
    return hashlib.sha256(canonical_bytes(value, default=default)).hexdigest()


# --- what orjson refuses: named, or written another way ---------------------------------------------


def _json_data(value: Any, default: Default | None, path: tuple[str | int, ...] = ()) -> Any:
    """``value`` as orjson writes it: integers beyond 64 bits as fragments, ``default`` applied.

    Raises `CanonicalJSONError` at the first value that cannot be written.
    """
    if value is None or isinstance(value, bool | float):
        return value
    if isinstance(value, str):
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                reason = f"not valid Unicode text: a lone surrogate (\\u{ord(value[exc.start]):04x}, \\ud800-\\udfff)"
                raise CanonicalJSONError(path, reason) from None
        return value
    if isinstance(value, int):
        return value if _INT64[0] <= value <= _INT64[1] else orjson.Fragment(str(int(value)))
    if isinstance(value, dict | list | tuple) and len(path) >= MAX_DEPTH:
        raise CanonicalJSONError(path, f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalJSONError(path, f"an object key must be a string, got {type(key).__name__} {key!r}")
            out[_json_data(key, None, path)] = _json_data(item, default, (*path, key))
        return out
    if isinstance(value, list | tuple):
        return [_json_data(item, default, (*path, i)) for i, item in enumerate(value)]
    if default is not None:
        return _json_data(default(value), None, path)
    raise CanonicalJSONError(path, f"not JSON data: {type(value).__name__}")


def _refuse_non_finite(value: Any, default: Default | None) -> None:
    """`CanonicalJSONError` at the first NaN or infinity in ``value`` (after ``default``)."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, float) and not math.isfinite(node):
            raise CanonicalJSONError(path, f"{node} is not a JSON number")
        if isinstance(node, dict):
            stack.extend((item, (*path, key)) for key, item in reversed(node.items()))
        elif isinstance(node, list | tuple):
            stack.extend((item, (*path, i)) for i, item in reversed(list(enumerate(node))))
        elif default is not None and not isinstance(node, str | int | float | type(None)):
            stack.append((default(node), path))
