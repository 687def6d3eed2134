"""Physical type names -> ODCS logical type families, for the types other platforms report.

OpenLineage ``schema`` facets name column types as their platform spells them (``VARCHAR(20)``,
``int64``, ``timestamp_ntz``, ``array<string>``, ``character varying``, ``large_string``...).
:func:`type_family` reads such a name the way meshplane's engines read their own types: each engine
parses it in its SQL dialect and places it in the logical type whose family holds it
(`Engine.logical_types`, the map contract checks use), the engines in their order of preference.
:data:`ALIASES` adds only the names no engine dialect reads (Arrow, BigQuery, Avro spellings).

Importing this module loads neither sqlglot nor an engine: the first lookup does, then every
answer is cached by name (engines registered later are not consulted for names already looked up).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType

ALIASES: Mapping[str, str] = MappingProxyType(
    {
        # Arrow / pandas / Parquet
        "uint8": "integer",
        "uint16": "integer",
        "uint32": "integer",
        "uint64": "integer",
        "float16": "number",
        "halffloat": "number",
        "float32": "number",
        "float64": "number",
        "utf8": "string",
        "large_utf8": "string",
        "large_string": "string",
        "string_view": "string",
        "date32": "date",
        "date64": "date",
        "time32": "time",
        "time64": "time",
        "datetime64": "timestamp",
        "large_list": "array",
        "fixed_size_list": "array",
        "list_view": "array",
        # BigQuery (RECORD and the REPEATED mode), Avro records, Snowflake
        "record": "object",
        "repeated": "array",
        "timestamp_tz": "timestamp",
        # SQL Server
        "bit": "boolean",
    }
)
"""Names no engine dialect reads -> their logical type (lower case, parameters cut off)."""


def base_name(physical: str) -> str:
    """A type name without its parameters, lower case: ``VARCHAR(20)`` -> ``varchar``."""
    text = physical.strip().lower()
    for mark in ("(", "<", "["):
        text = text.split(mark, 1)[0]
    return text.strip()


def type_family(physical: str | None) -> str | None:
    """The ODCS logical type of a physical type name (``VARCHAR(20)`` -> ``string``), None when unknown.

    ``integer[]`` (PostgreSQL) and ``array<...>``/``list<...>`` are arrays, ``struct<...>``,
    ``row(...)`` and ``map<...>`` objects; a ``number`` family never holds an integer type.
    """
    if not physical or not physical.strip():
        return None
    if physical.strip().endswith("[]"):
        return "array"
    return _family(base_name(physical))


@lru_cache(maxsize=4096)
def _family(name: str) -> str | None:
    if not name:
        return None
    alias = ALIASES.get(name)
    if alias is not None:
        return alias
    return engine_family(name)


def engine_family(name: str) -> str | None:
    """The logical type the first engine that reads `name` gives it (None when none does); not cached."""
    from meshplane.engines.registry import all_engines  # sqlglot and the engine classes, on first use

    for engine in all_engines():
        logical = engine.logical_type_of(engine.parse_type(name))
        if logical is not None:
            return logical
    return None


__all__ = ["ALIASES", "base_name", "engine_family", "type_family"]
