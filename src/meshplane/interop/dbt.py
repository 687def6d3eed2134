"""dbt properties YAML from a contract: columns with their data type, and dbt tests from the contract's rules.

Shared by the `dbt-sources` and `dbt-model` exporters. Tests (dbt's ``data_tests``):

| contract | dbt test |
|---|---|
| required, or a key column | `not_null` |
| unique, or the one column of the primary key | `unique` |
| a composite primary key; duplicateValues on several properties | `dbt_utils.unique_combination_of_columns` |
| nullValues / missingValues (without arguments) `mustBe: 0` | `not_null` |
| duplicateValues on a property `mustBe: 0` | `unique` |
| invalidValues with `arguments.validValues` `mustBe: 0` | `accepted_values` |

A rule of severity warning or info is a test with ``config: {severity: warn}``. Other rules
(rowCount, SQL rules, thresholds other than 0, logicalTypeOptions) are listed as dropped.
"""

from __future__ import annotations

import re
from typing import Any

from meshplane.interop.contracts import primary_key, tables
from meshplane.interop.types import SQL_OF_LOGICAL

DBT_UTILS_UNIQUE = "dbt_utils.unique_combination_of_columns"


def _test(name: str, rule: dict[str, Any] | None, arguments: dict[str, Any] | None = None) -> Any:
    warn = rule is not None and rule.get("severity") in ("warning", "info")
    if not arguments and not warn:
        return name
    body: dict[str, Any] = dict(arguments or {})
    if warn:
        body["config"] = {"severity": "warn"}
    return {name: body}


def _zero(rule: dict[str, Any]) -> bool:
    counted = rule.get("unit", "rows") == "rows"  # "less than 1 percent" is not zero
    return (
        rule.get("mustBe") == 0 or rule.get("mustBeLessOrEqualTo") == 0 or (counted and rule.get("mustBeLessThan") == 1)
    )


def _rule_test(rule: dict[str, Any], where: str, dropped: list[str]) -> Any | None:
    metric = rule.get("metric") or rule.get("rule")
    given = rule.get("arguments")
    args: dict[str, Any] = given if isinstance(given, dict) else {}
    if metric in ("nullValues", "missingValues") and _zero(rule) and not args.get("missingValues"):
        return _test("not_null", rule)
    if metric == "duplicateValues" and _zero(rule):
        return _test("unique", rule)
    if metric == "invalidValues" and _zero(rule) and isinstance(args.get("validValues"), list):
        return _test("accepted_values", rule, {"values": list(args["validValues"])})
    dropped.append(f"quality rule {metric or rule.get('type') or '?'} of {where} (no dbt core test)")
    return None


def _add(tests: list[Any], test: Any) -> None:
    name = test if isinstance(test, str) else next(iter(test))
    plain = [t if isinstance(t, str) else next(iter(t)) for t in tests]
    if name in plain and name != "accepted_values":
        if isinstance(test, str):  # an error-level test replaces a warn-level one of the same kind
            tests[plain.index(name)] = test
        return
    tests.append(test)


def data_type(prop: dict[str, Any]) -> str:
    """The column's data type: its physical type, else its logical type's SQL type."""
    physical = prop.get("physicalType")
    return str(physical) if physical else SQL_OF_LOGICAL.get(str(prop.get("logicalType")), "VARCHAR")


def dbt_tables(contract: dict[str, Any], dropped: list[str], *, constraints: bool) -> list[dict[str, Any]]:
    """One dbt table/model entry per schema object: description, columns, tests (and constraints)."""
    objects = {str(o.get("name")): o for o in contract.get("schema") or [] if isinstance(o, dict)}
    out = []
    for name, props in tables(contract):
        keys = primary_key(props)
        columns = []
        for prop in props:
            column: dict[str, Any] = {"name": prop["name"]}
            if prop.get("description"):
                column["description"] = str(prop["description"]).strip()
            column["data_type"] = data_type(prop)
            tests: list[Any] = []
            required = bool(prop.get("required")) or prop["name"] in keys
            if required:
                _add(tests, "not_null")
            if prop.get("unique") or keys == [prop["name"]]:
                _add(tests, "unique")
            for rule in prop.get("quality") or []:
                if isinstance(rule, dict) and (test := _rule_test(rule, f"{name}.{prop['name']}", dropped)):
                    _add(tests, test)
            if constraints and required:
                column["constraints"] = [{"type": "not_null"}]
            if tests:
                column["data_tests"] = tests
            columns.append(column)
        entry: dict[str, Any] = {"name": name}
        if objects[name].get("description"):
            entry["description"] = str(objects[name]["description"]).strip()
        if constraints:
            entry["config"] = {"contract": {"enforced": True}}
            if keys:
                entry["constraints"] = [{"type": "primary_key", "columns": keys}]
        table_tests: list[Any] = []
        if len(keys) > 1:
            table_tests.append({DBT_UTILS_UNIQUE: {"combination_of_columns": keys}})
        for rule in objects[name].get("quality") or []:
            if not isinstance(rule, dict):
                continue
            combo = (rule.get("arguments") or {}).get("properties") if isinstance(rule.get("arguments"), dict) else None
            if rule.get("metric") == "duplicateValues" and _zero(rule) and isinstance(combo, list) and combo:
                test = {DBT_UTILS_UNIQUE: {"combination_of_columns": list(combo)}}
                if rule.get("severity") in ("warning", "info"):
                    test[DBT_UTILS_UNIQUE]["config"] = {"severity": "warn"}
                if test not in table_tests:
                    table_tests.append(test)
            else:
                dropped.append(
                    f"quality rule {rule.get('metric') or rule.get('type') or '?'} of {name} (no dbt core test)"
                )
        if table_tests:
            entry["data_tests"] = table_tests
        entry["columns"] = columns
        out.append(entry)
    return out


def dbt_name(text: str) -> str:
    """A name dbt accepts for a source: letters, digits and underscores."""
    return re.sub(r"[^A-Za-z0-9_]", "_", text)
