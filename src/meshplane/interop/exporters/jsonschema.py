"""Export JSON Schema (draft 2020-12): one object schema per schema object, under ``$defs``.

A property's logical type is its JSON type (date, timestamp and time as strings with `format`),
a property not required also admits ``null``; `required` lists the required and key properties;
the primary key, which JSON Schema has no word for, is kept as the annotation ``x-primaryKey``.
"""

from __future__ import annotations

import json
from typing import Any

from meshplane.interop import Exported, ExportOptions, InteropError
from meshplane.interop.contracts import dropped_fields, primary_key, tables

FORMAT = "jsonschema"
DESCRIPTION = "JSON Schema draft 2020-12, one object schema per table under $defs"
DIALECT = "https://json-schema.org/draft/2020-12/schema"

JSON_OF_LOGICAL: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "integer": {"type": "integer"},
    "number": {"type": "number"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "timestamp": {"type": "string", "format": "date-time"},
    "time": {"type": "string", "format": "time"},
    "object": {"type": "object"},
    "array": {"type": "array"},
}
CARRIED = frozenset({"name", "logicalType", "required", "primaryKey", "primaryKeyPosition", "description"})


def _property(prop: dict[str, Any], required: bool) -> dict[str, Any]:
    out = dict(JSON_OF_LOGICAL.get(str(prop.get("logicalType")), {"type": "string"}))
    if not required:
        out["type"] = [out["type"], "null"]
    if prop.get("description"):
        out["description"] = str(prop["description"])
    return out


def write(contract: dict[str, Any], options: ExportOptions) -> Exported:
    """The contract's tables as one JSON Schema document."""
    defs: dict[str, Any] = {}
    for name, props in tables(contract):
        keys = primary_key(props)
        required = [str(p["name"]) for p in props if p.get("required") or p["name"] in keys]
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {str(p["name"]): _property(p, p["name"] in required) for p in props},
            "required": required,
        }
        if keys:
            schema["x-primaryKey"] = keys
        defs[name] = schema
    if not defs:
        raise InteropError("the contract has no schema object to write as a JSON Schema")
    document: dict[str, Any] = {"$schema": DIALECT, "$id": str(contract.get("id") or ""), "$defs": defs}
    if len(defs) == 1:
        document["$ref"] = f"#/$defs/{next(iter(defs))}"
    if not document["$id"]:
        del document["$id"]
    return Exported(json.dumps(document, indent=2, ensure_ascii=False) + "\n", dropped_fields(contract, CARRIED))
