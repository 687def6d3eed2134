"""Reading an ODCS contract document for exporters: its tables and properties as plain values."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

KEPT_PROPERTY_FIELDS = frozenset(
    {"name", "logicalType", "physicalType", "required", "primaryKey", "primaryKeyPosition", "unique", "description"}
)
"""What every exporter carries of a property; the rest is listed as dropped unless the exporter says more."""


def tables(contract: dict[str, Any]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Each schema object's name and properties."""
    for obj in contract.get("schema") or []:
        if isinstance(obj, dict) and obj.get("name"):
            props = [p for p in obj.get("properties") or [] if isinstance(p, dict) and p.get("name")]
            yield str(obj["name"]), props


def primary_key(props: list[dict[str, Any]]) -> list[str]:
    """The primary key's columns in key order."""
    keyed = [p for p in props if p.get("primaryKey")]
    keyed.sort(key=lambda p: int(p.get("primaryKeyPosition") or 0))
    return [str(p["name"]) for p in keyed]


OBJECT_FIELDS = frozenset({"name", "properties", "physicalType", "physicalName"})
"""What every exporter carries of a schema object."""


def dropped_fields(
    contract: dict[str, Any], carried: frozenset[str] = KEPT_PROPERTY_FIELDS, objects: frozenset[str] = OBJECT_FIELDS
) -> list[str]:
    """What of the contract an export does not carry, one line per field: ``quality (3: orders.amount, …)``."""
    where: dict[str, list[str]] = {}
    for table, props in tables(contract):
        for prop in props:
            for key in sorted(set(prop) - carried):
                where.setdefault(key, []).append(f"{table}.{prop['name']}")
    for obj in contract.get("schema") or []:
        if isinstance(obj, dict):
            for key in sorted(set(obj) - objects):
                where.setdefault(f"schema {key}", []).append(str(obj.get("name")))
    out = []
    for key, names in where.items():
        shown = ", ".join(names[:3]) + (", …" if len(names) > 3 else "")
        out.append(f"{key} ({len(names)}: {shown})")
    out += [
        key for key in ("servers", "slaProperties", "quality", "team", "roles", "price", "support") if contract.get(key)
    ]
    return out
