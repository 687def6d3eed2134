"""Export an Avro schema: one record per schema object (a JSON array of records when there are several).

Logical types map to Avro types and logical types (integer `long`, number `double` or, for a
`DECIMAL(p,s)` physical type, `bytes` with logicalType `decimal`, date `int`/`date`, timestamp
`long`/`timestamp-micros`, time `long`/`time-micros`, array of strings, map of strings); a
property not required is a union with `null` (default null); the primary key is kept as the
record attribute ``x-primaryKey`` (Avro has no keys; extra attributes are metadata).
"""

from __future__ import annotations

import json
import re
from typing import Any

from meshplane.interop import Exported, ExportOptions, InteropError
from meshplane.interop.contracts import OBJECT_FIELDS, dropped_fields, primary_key, tables

FORMAT = "avro"
DESCRIPTION = "an Avro schema (.avsc): one record per table"
AVRO_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
AVRO_OF_LOGICAL: dict[str, Any] = {
    "string": "string",
    "integer": "long",
    "number": "double",
    "boolean": "boolean",
    "date": {"type": "int", "logicalType": "date"},
    "timestamp": {"type": "long", "logicalType": "timestamp-micros"},
    "time": {"type": "long", "logicalType": "time-micros"},
    "array": {"type": "array", "items": "string"},
    "object": {"type": "map", "values": "string"},
}
CARRIED = frozenset(
    {"name", "logicalType", "physicalType", "required", "primaryKey", "primaryKeyPosition", "description"}
)
_DECIMAL = re.compile(r"(?:DECIMAL|NUMERIC|NUMBER)\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)", re.IGNORECASE)


def _name(name: str, what: str) -> str:
    if not AVRO_NAME.fullmatch(name):
        raise InteropError(f"{what} {name!r} is not an Avro name ([A-Za-z_][A-Za-z0-9_]*)")
    return name


def _type(prop: dict[str, Any]) -> Any:
    logical = str(prop.get("logicalType"))
    decimal = _DECIMAL.fullmatch(str(prop.get("physicalType") or "").strip())
    if logical == "number" and decimal:
        return {"type": "bytes", "logicalType": "decimal", "precision": int(decimal[1]), "scale": int(decimal[2])}
    return AVRO_OF_LOGICAL.get(logical, "string")


def write(contract: dict[str, Any], options: ExportOptions) -> Exported:
    """The contract's tables as an Avro schema."""
    namespace = ".".join(_name(part, "id part") for part in str(contract.get("id") or "meshplane").split("."))
    records: list[dict[str, Any]] = []
    for table, props in tables(contract):
        keys = primary_key(props)
        fields = []
        for prop in props:
            field: dict[str, Any] = {"name": _name(str(prop["name"]), "property")}
            kind = _type(prop)
            if prop.get("required") or prop["name"] in keys:
                field["type"] = kind
            else:
                field["type"] = ["null", kind]
                field["default"] = None
            if prop.get("description"):
                field["doc"] = str(prop["description"])
            fields.append(field)
        record: dict[str, Any] = {"type": "record", "name": _name(table, "table"), "namespace": namespace}
        objects = [o for o in contract.get("schema") or [] if isinstance(o, dict) and o.get("name") == table]
        if objects and objects[0].get("description"):
            record["doc"] = str(objects[0]["description"])
        record["fields"] = fields
        if keys:
            record["x-primaryKey"] = keys
        records.append(record)
    if not records:
        raise InteropError("the contract has no schema object to write as an Avro record")
    document: Any = records[0] if len(records) == 1 else records
    dropped = dropped_fields(contract, CARRIED, OBJECT_FIELDS | {"description"})
    dropped.append("physicalType other than DECIMAL(p,s) (Avro types stand for them)")
    return Exported(json.dumps(document, indent=2, ensure_ascii=False) + "\n", dropped)
