"""Physical type names -> logical type families: one function, derived from the engines' type maps."""

from __future__ import annotations

import subprocess
import sys

import pytest

from meshplane.engines.types import ALIASES, base_name, engine_family, type_family

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


@pytest.mark.parametrize(("name", "family"), sorted(ALIASES.items()))
def test_aliases_only_add_names_no_engine_reads(name: str, family: str) -> None:
    assert engine_family(name) in (None, family)
    assert base_name(name) == name


def test_importing_the_module_loads_no_engine() -> None:
    code = (
        "import sys; import meshplane.engines.types as t; "
        "loaded = [m for m in ('sqlglot', 'duckdb', 'pyspark', 'psycopg', 'meshplane.engines.base') if m in sys.modules]; "
        "print(loaded)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
