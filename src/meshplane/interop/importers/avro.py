"""Import an Avro schema (.avsc): each record is a table, its fields the properties.

Avro types to logical types (`int`/`long` integer, `float`/`double` number, `decimal` number with
its precision and scale as physicalType, `date`, `timestamp-*`, `time-*`, `array`, `map` and
records as object); a union with `null` is not required; the primary key from the ``x-primaryKey``
attribute meshplane's export writes. Enums and fixed are strings (listed as dropped).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from meshplane.interop import Column, Imported, ImportOptions, InteropError, Table, contract_document

KIND = "avro"
DESCRIPTION = "an Avro schema (.avsc): each record as a table"
_PRIMITIVE = {"int": "integer", "long": "integer", "float": "number", "double": "number", "boolean": "boolean",
              "string": "string", "bytes": "string"}  # fmt: skip
_LOGICAL = {"date": "date", "timestamp-millis": "timestamp", "timestamp-micros": "timestamp",
            "local-timestamp-millis": "timestamp", "local-timestamp-micros": "timestamp", "time-millis": "time",
            "time-micros": "time", "uuid": "string"}  # fmt: skip


def _logical(kind: Any, where: str, dropped: list[str]) -> tuple[str, str]:
    """(logical type, physical type) of an Avro type."""
    if isinstance(kind, str):
        if kind in _PRIMITIVE:
            return _PRIMITIVE[kind], ""
        dropped.append(f"type {kind} of {where} (a named type: written as string)")
        return "string", ""
    if isinstance(kind, dict):
        logical = kind.get("logicalType")
        if logical == "decimal":
            return "number", f"DECIMAL({kind.get('precision')},{kind.get('scale', 0)})"
        if logical in _LOGICAL:
            return _LOGICAL[str(logical)], ""
        base = kind.get("type")
        if base == "array":
            return "array", ""
        if base in ("map", "record"):
            return "object", ""
        if base in ("enum", "fixed"):
            dropped.append(f"{base} of {where} (written as string)")
            return "string", ""
        return _logical(base, where, dropped)
    return "string", ""


def _table(record: dict[str, Any], dropped: list[str]) -> Table:
    name = str(record.get("name"))
    keys = [str(k) for k in record.get("x-primaryKey") or []]
    columns = []
    for field in record.get("fields") or []:
        if not isinstance(field, dict) or not field.get("name"):
            continue
        kind = field.get("type")
        branches = kind if isinstance(kind, list) else [kind]
        nullable = "null" in branches
        real = [b for b in branches if b != "null"]
        if len(real) > 1:
            dropped.append(f"union {real} of {name}.{field['name']} (the first branch is used)")
        logical, physical = _logical(real[0] if real else "string", f"{name}.{field['name']}", dropped)
        column = str(field["name"])
        position = keys.index(column) + 1 if column in keys else None
        columns.append(Column(column, logical, physical, required=(not nullable) or None, key_position=position,
                              description=field.get("doc")))  # fmt: skip
    return Table(name, columns, record.get("doc"))


def read(source: Path, options: ImportOptions) -> Imported:
    """The contract of an Avro schema file."""
    try:
        document = json.loads(source.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InteropError(f"{source}: not an Avro schema (JSON): {exc}") from None
    records = [r for r in (document if isinstance(document, list) else [document]) if isinstance(r, dict)]
    records = [r for r in records if r.get("type") == "record"]
    if not records:
        raise InteropError(f"{source}: no Avro record schema")
    dropped: list[str] = []
    tables = [_table(r, dropped) for r in records]
    return Imported(contract_document(tables, source, options), [], dropped)
