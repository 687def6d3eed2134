"""Physical type names: how each engine reads a declared ``physicalType``, and its logical family.

Contracts and OpenLineage ``schema`` facets name column types as their platform spells them
(``VARCHAR(20)``, ``int64``, ``timestamp_tz``, ``bytes``, ``array<string>``, ``character varying``,
``large_string``...). One table serves both:

- :func:`physical_type` reads a name for one engine: the engine parses it in its SQL dialect;
  a name no dialect reads is looked up in :data:`PHYSICAL_ALIASES` (Arrow, BigQuery, Avro,
  Snowflake, Iceberg spellings -> the sqlglot type they mean). A name neither knows is None: a
  contract check reports it as a warning naming it, never compares it as text.
- :func:`same_physical_type` compares a declared name with a column's type: same sqlglot type
  (or storage synonyms, :data:`STORAGE_SYNONYMS`), parameters compared when both give them.
- :func:`type_family` places a name in the ODCS logical type whose family holds it
  (`Engine.logical_types`, the map contract checks use), the engines in their order of preference.
- :func:`physical_names` is the table per engine (name -> the type it reads), for docs and tests.

Importing this module loads neither sqlglot nor an engine: the first lookup does, then every
answer is cached by name (engines registered later are not consulted for names already looked up).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlglot import exp

    from meshplane.engines.base import Engine

PHYSICAL_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        # Arrow / pandas / Parquet
        "uint8": "UTINYINT",
        "uint16": "USMALLINT",
        "uint32": "UINT",
        "uint64": "UBIGINT",
        "float16": "FLOAT",
        "halffloat": "FLOAT",
        "float32": "FLOAT",
        "float64": "DOUBLE",
        "utf8": "TEXT",
        "large_utf8": "TEXT",
        "large_string": "TEXT",
        "string_view": "TEXT",
        "large_binary": "VARBINARY",
        "binary_view": "VARBINARY",
        "date32": "DATE",
        "date64": "DATE",
        "time32": "TIME",
        "time64": "TIME",
        "datetime64": "TIMESTAMP",
        "large_list": "ARRAY",
        "fixed_size_list": "ARRAY",
        "list_view": "ARRAY",
        # BigQuery (RECORD and the REPEATED mode, BYTES), Avro (bytes, record)
        "bytes": "VARBINARY",
        "record": "STRUCT",
        "repeated": "ARRAY",
        # Snowflake, Databricks
        "timestamp_tz": "TIMESTAMPTZ",
        # SQL Server
        "bit": "BOOLEAN",
    }
)
"""Type names no engine dialect reads (lower case, parameters cut off) -> the sqlglot type they name."""

STORAGE_SYNONYMS: tuple[frozenset[str], ...] = (
    frozenset({"BINARY", "VARBINARY", "BLOB", "LONGBLOB", "MEDIUMBLOB", "TINYBLOB", "IMAGE"}),
)
"""sqlglot types that name the same storage (bytes), which no logical type family groups."""


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
    alias = PHYSICAL_ALIASES.get(name)
    if alias is not None:
        from sqlglot import exp
        from sqlglot.expressions import DType

        from meshplane.engines.registry import all_engines

        aliased = exp.DataType(this=DType[alias])
        return next((f for f in (e.logical_type_of(aliased) for e in all_engines()) if f is not None), None)
    return engine_family(name)


def engine_family(name: str) -> str | None:
    """The logical type the first engine that reads `name` gives it (None when none does); not cached."""
    from meshplane.engines.registry import all_engines  # sqlglot and the engine classes, on first use

    for engine in all_engines():
        logical = engine.logical_type_of(engine.parse_type(name))
        if logical is not None:
            return logical
    return None


def physical_type(engine: Engine, physical: str) -> exp.DataType | None:
    """The type a declared physical type name means on `engine` (None when no table knows it).

    The engine's dialect first (``int8`` is BIGINT on PostgreSQL and DuckDB, TINYINT on Spark),
    then :data:`PHYSICAL_ALIASES`; an alias keeps no parameters.
    """
    from sqlglot import exp
    from sqlglot.expressions import DType

    if not physical.strip():
        return None
    parsed = engine.parse_type(physical)
    if parsed.this not in (DType.UNKNOWN, DType.USERDEFINED):
        return parsed
    alias = PHYSICAL_ALIASES.get(base_name(physical))
    return exp.DataType(this=DType[alias]) if alias is not None else None


def same_physical_type(engine: Engine, declared: str, dtype: exp.DataType) -> bool | None:
    """Whether a declared `physicalType` names a column's type on `engine`; None for an unknown name.

    The same sqlglot type, or two of one :data:`STORAGE_SYNONYMS` set; parameters (length,
    precision, scale) are compared when both sides give them.
    """
    wanted = physical_type(engine, declared)
    if wanted is None:
        return None
    if wanted.this != dtype.this and not any(
        wanted.this.name in same and dtype.this.name in same for same in STORAGE_SYNONYMS
    ):
        return False
    if wanted.expressions and dtype.expressions:
        return [e.sql() for e in wanted.expressions] == [e.sql() for e in dtype.expressions]
    return True


def physical_names(engine: Engine, names: Iterable[str] = ()) -> dict[str, str | None]:
    """The physical type table of one engine: each name (the aliases and `names`) -> the type it reads
    as, in the engine's spelling (None for a name it does not know)."""
    table: dict[str, str | None] = {}
    for name in (*PHYSICAL_ALIASES, *names):
        dtype = physical_type(engine, name)
        table[name] = dtype.sql(dialect=engine.dialect) if dtype is not None else None
    return table


__all__ = [
    "PHYSICAL_ALIASES",
    "STORAGE_SYNONYMS",
    "base_name",
    "engine_family",
    "physical_names",
    "physical_type",
    "same_physical_type",
    "type_family",
]
