"""Export dbt model YAML: a model per schema object with an enforced model contract (data types,
not_null and primary_key constraints) and dbt tests from the contract's rules (`meshplane.interop.dbt`)."""

from __future__ import annotations

from typing import Any

import yaml

from meshplane.interop import Exported, ExportOptions, InteropError
from meshplane.interop.contracts import OBJECT_FIELDS, dropped_fields
from meshplane.interop.dbt import dbt_tables

FORMAT = "dbt-model"
DESCRIPTION = "dbt models YAML (version 2): an enforced model contract per schema object, tests from the rules"
CARRIED = frozenset({"name", "logicalType", "physicalType", "required", "primaryKey", "primaryKeyPosition", "unique",
                     "description", "quality"})  # fmt: skip


def write(contract: dict[str, Any], options: ExportOptions) -> Exported:
    """The contract as a dbt `models:` file."""
    dropped = dropped_fields(contract, CARRIED, OBJECT_FIELDS | {"description", "quality"})
    entries = dbt_tables(contract, dropped, constraints=True)
    if not entries:
        raise InteropError("the contract has no schema object to write as a dbt model")
    for entry in entries:
        entry["meta"] = {"contract": contract.get("id"), "version": contract.get("version")}
    document = {"version": 2, "models": entries}
    return Exported(yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=120), dropped)
