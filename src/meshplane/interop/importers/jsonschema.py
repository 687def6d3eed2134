"""Import a JSON Schema: each object schema under ``$defs`` (or the root object) is a table.

Types: JSON types to logical types (strings with `format` date, date-time, time to date, timestamp,
time); required from `required`; the primary key from the ``x-primaryKey`` annotation meshplane
exports. Validation keywords (pattern, minimum, enum…) are dropped and listed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from meshplane.interop import Column, Imported, ImportOptions, InteropError, Table, contract_document

KIND = "jsonschema"
DESCRIPTION = "a JSON Schema: each object under $defs (or the root object) as a table"
_FORMATS = {"date": "date", "date-time": "timestamp", "time": "time"}
_KNOWN = frozenset({"type", "format", "description"})


def _logical(spec: dict[str, Any]) -> tuple[str, bool]:
    types = spec.get("type", "string")
    names = [types] if isinstance(types, str) else [t for t in types if isinstance(t, str)]
    nullable = "null" in names
    kind = next((t for t in names if t != "null"), "string")
    if kind == "string" and spec.get("format") in _FORMATS:
        return _FORMATS[str(spec["format"])], nullable
    return (kind if kind in ("string", "integer", "number", "boolean", "object", "array") else "string"), nullable


def _table(name: str, schema: dict[str, Any], dropped: list[str]) -> Table:
    required = set(schema.get("required") or [])
    keys = [str(k) for k in schema.get("x-primaryKey") or []]
    columns = []
    for column, given in (schema.get("properties") or {}).items():
        spec = given if isinstance(given, dict) else {}
        logical, _ = _logical(spec)
        for key in sorted(set(spec) - _KNOWN):
            dropped.append(f"{key} of {name}.{column}")
        position = keys.index(column) + 1 if column in keys else None
        columns.append(
            Column(str(column), logical, "", required=column in required or None, key_position=position,
                   description=spec.get("description"))
        )  # fmt: skip
    return Table(name, columns, schema.get("description"))


def read(source: Path, options: ImportOptions) -> Imported:
    """The contract of a JSON Schema document."""
    try:
        document = json.loads(source.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InteropError(f"{source}: not a JSON document ({exc})") from None
    if not isinstance(document, dict):
        raise InteropError(f"{source}: a JSON Schema is an object")
    dropped: list[str] = []
    defs = {k: v for k, v in (document.get("$defs") or {}).items() if isinstance(v, dict) and v.get("properties")}
    if not defs and isinstance(document.get("properties"), dict):
        defs = {options.port or str(document.get("title") or source.stem.split(".")[0]): document}
    if not defs:
        raise InteropError(f"{source}: no object schema with properties (at the root or under $defs)")
    tables = [_table(name, schema, dropped) for name, schema in defs.items()]
    return Imported(contract_document(tables, source, options), [], dropped)
