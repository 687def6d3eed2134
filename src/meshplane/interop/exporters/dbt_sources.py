"""Export dbt sources YAML: the contract as one dbt source, a table per schema object, columns with
their data type and dbt tests from the contract's rules (`meshplane.interop.dbt`)."""

from __future__ import annotations

from typing import Any

import yaml

from meshplane.interop import Exported, ExportOptions, InteropError
from meshplane.interop.contracts import OBJECT_FIELDS, dropped_fields
from meshplane.interop.dbt import dbt_name, dbt_tables

FORMAT = "dbt-sources"
DESCRIPTION = "dbt sources YAML (version 2): a source with a table per schema object, tests from the rules"
CARRIED = frozenset({"name", "logicalType", "physicalType", "required", "primaryKey", "primaryKeyPosition", "unique",
                     "description", "quality"})  # fmt: skip


def write(contract: dict[str, Any], options: ExportOptions) -> Exported:
    """The contract as a dbt `sources:` file."""
    dropped = dropped_fields(contract, CARRIED, OBJECT_FIELDS | {"description", "quality"})
    entries = dbt_tables(contract, dropped, constraints=False)
    if not entries:
        raise InteropError("the contract has no schema object to write as a dbt source table")
    source: dict[str, Any] = {"name": dbt_name(str(contract.get("id") or "contract"))}
    description = contract.get("description")
    if isinstance(description, dict) and description.get("purpose"):
        source["description"] = str(description["purpose"]).strip()
    server = next((s for s in contract.get("servers") or [] if isinstance(s, dict)), None)
    if server and server.get("database"):
        source["database"] = str(server["database"])
    if server and server.get("schema"):
        source["schema"] = str(server["schema"])
    source["meta"] = {"contract": contract.get("id"), "version": contract.get("version")}
    source["tables"] = entries
    document = {"version": 2, "sources": [source]}
    return Exported(yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=120), dropped)
