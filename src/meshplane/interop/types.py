"""Type tables: database types (DuckDB's, sqlglot's) to ODCS logical types and back.

The tables are data: one row per type family; a type not listed is a `string` (stated as such).
"""

from __future__ import annotations

import re

LOGICAL_OF_FAMILY: dict[str, str] = {
    "TINYINT": "integer", "SMALLINT": "integer", "INTEGER": "integer", "INT": "integer", "BIGINT": "integer",
    "HUGEINT": "integer", "INT128": "integer", "UINT128": "integer",
    "UTINYINT": "integer", "USMALLINT": "integer", "UINTEGER": "integer",
    "UBIGINT": "integer", "UHUGEINT": "integer", "INT64": "integer", "INT32": "integer", "LONG": "integer",
    "SHORT": "integer", "BYTE": "integer", "SERIAL": "integer", "BIGSERIAL": "integer", "NUMBER": "number",
    "FLOAT": "number", "DOUBLE": "number", "REAL": "number", "DECIMAL": "number", "NUMERIC": "number",
    "FLOAT64": "number", "BIGNUMERIC": "number", "DOUBLE PRECISION": "number",
    "VARCHAR": "string", "CHAR": "string", "TEXT": "string", "STRING": "string", "UUID": "string",
    "NVARCHAR": "string", "NCHAR": "string", "CHARACTER VARYING": "string", "CHARACTER": "string",
    "BLOB": "string", "BYTEA": "string", "BYTES": "string", "BINARY": "string", "VARBINARY": "string",
    "JSON": "string", "JSONB": "string",
    "BOOLEAN": "boolean", "BOOL": "boolean",
    "DATE": "date",
    "TIMESTAMP": "timestamp", "TIMESTAMPTZ": "timestamp", "TIMESTAMP WITH TIME ZONE": "timestamp",
    "TIMESTAMP_NTZ": "timestamp", "TIMESTAMP_LTZ": "timestamp", "TIMESTAMP_TZ": "timestamp",
    "DATETIME": "timestamp", "TIMESTAMP_S": "timestamp", "TIMESTAMP_MS": "timestamp", "TIMESTAMP_NS": "timestamp",
    "TIME": "time", "TIMETZ": "time",
    "STRUCT": "object", "MAP": "object", "OBJECT": "object", "VARIANT": "object", "RECORD": "object",
    "LIST": "array", "ARRAY": "array",
}  # fmt: skip


def logical_type(physical: str) -> str | None:
    """The ODCS logical type of a database type (``DECIMAL(10,2)`` → number), None when unknown."""
    text = physical.strip().upper()
    if text.endswith("[]") or text.startswith(("ARRAY<", "LIST<")):
        return "array"
    if text.startswith(("STRUCT", "MAP", "OBJECT")):
        return "object"
    if re.fullmatch(r"(NUMBER|NUMERIC|DECIMAL)\s*\(\s*\d+\s*,\s*0\s*\)", text):
        return "integer"  # a decimal without fraction digits holds whole numbers (Snowflake's NUMBER(38,0))
    family = re.sub(r"\(.*\)", "", text).strip()
    family = re.sub(r"\s+", " ", family)
    if family in LOGICAL_OF_FAMILY:
        return LOGICAL_OF_FAMILY[family]
    if family.startswith("TIMESTAMP"):
        return "timestamp"
    return LOGICAL_OF_FAMILY.get(family.split(" ")[0])


SQL_OF_LOGICAL: dict[str, str] = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "time": "TIME",
    "object": "JSON",
    "array": "JSON",
}
"""The SQL type of a logical type when a property has no physical type (sqlglot renders it per dialect)."""
