"""Import a dbt manifest node (``target/manifest.json``): a model or source with its columns and tests.

`--table` names the node: its unique id (``model.shop.orders``, ``source.shop.raw.orders``), a
model's name or a source's ``source_name.table``; without it the manifest must hold one model.
Columns: name, description, `data_type` (physicalType; its logical type from the type table),
required from a `not_null` constraint or test, unique from `unique`, the primary key from a
`primary_key` constraint (model or column), `accepted_values` tests as `invalidValues` rules
(a test of severity warn is a rule of severity warning). The manifest is read by
`meshplane.lineage.dbt.load_manifest` (one reader of manifests).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from meshplane.interop import Column, Imported, ImportOptions, InteropError, Table, contract_document
from meshplane.interop.types import logical_type
from meshplane.lineage.dbt import load_manifest

KIND = "dbt"
DESCRIPTION = "a model or source of a dbt manifest (target/manifest.json; --table NODE)"


def _node(document: dict[str, Any], wanted: str | None, source: Path) -> tuple[str, dict[str, Any]]:
    candidates: dict[str, dict[str, Any]] = {}
    for section in ("nodes", "sources"):
        for unique_id, node in (document.get(section) or {}).items():
            if isinstance(node, dict) and node.get("resource_type") in ("model", "source", "seed", "snapshot"):
                candidates[str(unique_id)] = node
    if wanted is None:
        models = [u for u, n in candidates.items() if n.get("resource_type") == "model"]
        if len(models) == 1:
            return models[0], candidates[models[0]]
        raise InteropError(f"{source}: name the node with --table (models: {', '.join(sorted(models)) or 'none'})")
    for unique_id, node in candidates.items():
        names = {unique_id, str(node.get("name"))}
        if node.get("resource_type") == "source":
            names.add(f"{node.get('source_name')}.{node.get('name')}")
        if wanted in names:
            return unique_id, node
    raise InteropError(f"{source}: no model or source {wanted!r} in the manifest")


def _tests(document: dict[str, Any], unique_id: str) -> dict[str, list[tuple[str, dict[str, Any], bool]]]:
    """Per column, its tests: (name, kwargs, warn)."""
    out: dict[str, list[tuple[str, dict[str, Any], bool]]] = {}
    for node in (document.get("nodes") or {}).values():
        if not isinstance(node, dict) or node.get("resource_type") != "test":
            continue
        attached = node.get("attached_node") or next(iter((node.get("depends_on") or {}).get("nodes") or []), None)
        meta = node.get("test_metadata") or {}
        if attached != unique_id or not meta.get("name"):
            continue
        kwargs = dict(meta.get("kwargs") or {})
        column = node.get("column_name") or kwargs.get("column_name")
        warn = str((node.get("config") or {}).get("severity", "")).lower() == "warn"
        name = f"{meta['namespace']}.{meta['name']}" if meta.get("namespace") else str(meta["name"])
        out.setdefault(str(column or ""), []).append((name, kwargs, warn))
    return out


def read(source: Path, options: ImportOptions) -> Imported:
    """The contract of one dbt model or source."""
    document = load_manifest(source)
    unique_id, node = _node(document, options.table, source)
    tests = _tests(document, unique_id)
    keys: list[str] = []
    for constraint in node.get("constraints") or []:
        if isinstance(constraint, dict) and constraint.get("type") == "primary_key":
            keys = [str(c) for c in constraint.get("columns") or []]
    dropped: list[str] = []
    notes: list[str] = []
    columns = []
    for name, given in (node.get("columns") or {}).items():
        spec: dict[str, Any] = given if isinstance(given, dict) else {}
        kinds = {str(c.get("type")) for c in spec.get("constraints") or [] if isinstance(c, dict)}
        if "primary_key" in kinds and name not in keys:
            keys.append(str(name))
        physical = str(spec.get("data_type") or "")
        logical = logical_type(physical) if physical else None
        if logical is None:
            notes.append(f"{name}: no data_type known to meshplane ({physical or 'none'}): string")
        required = "not_null" in kinds
        unique = "unique" in kinds
        rules: list[dict[str, Any]] = []
        for test, kwargs, warn in tests.get(str(name), []):
            severity = {"severity": "warning"} if warn else {}
            if test == "not_null" and not warn:
                required = True
            elif test == "unique" and not warn:
                unique = True
            elif test == "accepted_values" and isinstance(kwargs.get("values"), list):
                rules.append({"metric": "invalidValues", "arguments": {"validValues": kwargs["values"]}, "mustBe": 0,
                              **severity})  # fmt: skip
            elif test in ("not_null", "unique"):
                metric = "nullValues" if test == "not_null" else "duplicateValues"
                rules.append({"metric": metric, "mustBe": 0, **severity})
            else:
                dropped.append(f"test {test} of {name}")
        columns.append((str(name), logical or "string", physical, required, unique, spec.get("description"), rules))
    for test, _, _ in tests.get("", []):
        dropped.append(f"test {test} of the {node.get('resource_type')}")
    table = Table(
        str(node.get("alias") or node.get("identifier") or node.get("name")),
        [
            Column(name, logical, physical, required=(required or name in keys) or None,
                   key_position=keys.index(name) + 1 if name in keys else None,
                   unique=unique and keys != [name], description=description or None, quality=tuple(rules))
            for name, logical, physical, required, unique, description, rules in columns
        ],
        str(node.get("description") or "") or None,
    )  # fmt: skip
    if not table.columns:
        raise InteropError(f"{source}: {unique_id} documents no columns (declare them in its properties YAML)")
    return Imported(contract_document([table], source, options), notes, dropped)
