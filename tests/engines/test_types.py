"""Physical type names -> logical type families: one function, derived from the engines' type maps."""

from __future__ import annotations

import subprocess
import sys

import pytest

from meshplane.engines.registry import engine_named
from meshplane.engines.types import (
    PHYSICAL_ALIASES,
    base_name,
    engine_family,
    physical_names,
    physical_type,
    same_physical_type,
    type_family,
)

# The table lineage derivation used to carry (`service/derivation.py`, TYPE_FAMILIES): every name in
# it keeps its answer.
FORMER_TABLE: dict[str, tuple[str, ...]] = {
    "integer": ("int", "integer", "bigint", "smallint", "tinyint", "long", "short", "int8", "int16", "int32", "int64",
                "uint8", "uint16", "uint32", "uint64", "hugeint", "serial", "bigserial"),
    "number": ("decimal", "numeric", "double", "float", "real", "float4", "float8", "number", "money", "bignumeric"),
    "string": ("varchar", "string", "text", "char", "character", "nvarchar", "nchar", "utf8", "large_string", "uuid",
               "enum", "clob", "character varying"),
    "boolean": ("bool", "boolean", "bit"),
    "date": ("date", "date32", "date64"),
    "timestamp": ("timestamp", "datetime", "timestamptz", "timestamp_ntz", "timestamp_ltz", "timestamp with time zone",
                  "timestamp without time zone"),
    "time": ("time", "timetz", "time64"),
    "object": ("struct", "record", "map", "object", "json", "jsonb", "variant", "row"),
    "array": ("array", "list", "repeated"),
}  # fmt: skip

CASES: list[tuple[str | None, str | None]] = [
    *((name, family) for family, names in FORMER_TABLE.items() for name in names),
    *((name.upper(), family) for family, names in FORMER_TABLE.items() for name in names),
    # as OpenLineage schema facets send them: parameters, nesting, platform spellings
    ("VARCHAR(20)", "string"),
    (" character varying(255) ", "string"),
    ("decimal(10, 2)", "number"),
    ("NUMERIC(38,0)", "number"),
    ("timestamp(6) with time zone", "timestamp"),
    ("TIMESTAMP_NTZ", "timestamp"),
    ("timestamptz", "timestamp"),
    ("timestamp[us, tz=UTC]", "timestamp"),
    ("datetime64[ns]", "timestamp"),
    ("double precision", "number"),
    ("int4", "integer"),
    ("float64", "number"),
    ("INT64", "integer"),
    ("large_utf8", "string"),
    ("array<struct<a:int,b:string>>", "array"),
    ("list<item: int64>", "array"),
    ("integer[]", "array"),
    ("struct<a:int>", "object"),
    ("STRUCT(a INTEGER)", "object"),
    ("row(a integer, b varchar)", "object"),
    ("map<string,int>", "object"),
    ("time64[us]", "time"),
    ("smallserial", "integer"),
    # no ODCS logical type: unknown
    ("bytes", None),
    ("binary", None),
    ("geography", None),
    ("interval", None),
    ("no such type", None),
    ("", None),
    ("   ", None),
    (None, None),
]


@pytest.mark.parametrize(("physical", "family"), CASES)
def test_type_family(physical: str | None, family: str | None) -> None:
    assert type_family(physical) == family


@pytest.mark.parametrize("name", sorted(PHYSICAL_ALIASES))
def test_aliases_only_add_names_no_engine_reads(name: str) -> None:
    assert engine_family(name) in (None, type_family(name))
    assert base_name(name) == name


# declared physicalType, the engine, the column type as that engine reports it -> same type?
SAME_PHYSICAL: list[tuple[str, str, str, bool | None]] = [
    ("timestamp_tz", "duckdb", "TIMESTAMP WITH TIME ZONE", True),
    ("timestamptz", "duckdb", "TIMESTAMP WITH TIME ZONE", True),
    ("TIMESTAMP_TZ(6)", "spark", "timestamp", True),
    ("timestamp_ntz", "spark", "timestamp", False),
    ("bytes", "duckdb", "BLOB", True),
    ("binary", "duckdb", "BLOB", True),
    ("varbinary", "duckdb", "BLOB", True),
    ("bytes", "spark", "binary", True),
    ("binary", "postgres", "bytea", True),
    ("string", "duckdb", "VARCHAR", True),
    ("text", "spark", "string", True),
    ("int64", "duckdb", "BIGINT", True),
    ("int64", "spark", "bigint", True),
    ("float64", "duckdb", "DOUBLE", True),
    ("float64", "postgres", "double precision", True),
    ("float32", "duckdb", "FLOAT", True),
    ("int8", "postgres", "bigint", True),  # the dialect first: int8 is 8 bytes on PostgreSQL
    ("int8", "spark", "tinyint", True),
    ("decimal(10,2)", "duckdb", "DECIMAL(10,2)", True),
    ("decimal(12,2)", "duckdb", "DECIMAL(10,2)", False),
    ("bytes", "duckdb", "VARCHAR", False),
    ("no such type", "duckdb", "VARCHAR", None),
    ("frobnicator", "postgres", "text", None),
]


@pytest.mark.parametrize(("declared", "engine", "stored", "same"), SAME_PHYSICAL)
def test_same_physical_type(declared: str, engine: str, stored: str, same: bool | None) -> None:
    reader = engine_named(engine)
    assert same_physical_type(reader, declared, reader.parse_type(stored)) is same


@pytest.mark.parametrize("engine", ["duckdb", "spark", "postgres"])
def test_every_alias_is_a_type_on_every_engine(engine: str) -> None:
    table = physical_names(engine_named(engine), ["timestamptz", "int64", "string"])
    assert all(table.values()), {name: read for name, read in table.items() if not read}
    assert physical_type(engine_named(engine), "   ") is None


def test_importing_the_module_loads_no_engine() -> None:
    code = (
        "import sys; import meshplane.engines.types as t; "
        "loaded = [m for m in ('sqlglot', 'duckdb', 'pyspark', 'psycopg', 'meshplane.engines.base') if m in sys.modules]; "
        "print(loaded)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
