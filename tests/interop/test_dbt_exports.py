"""Export `dbt-sources` and `dbt-model`: columns, data types and dbt tests from the contract's rules,
read back on every contract of the example mesh."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from interop_support import EXAMPLE_CONTRACTS, shape
from typer.testing import CliRunner

from meshplane.cli.app import app
from meshplane.interop import ExportOptions, export_contract
from meshplane.interop.types import logical_type

runner = CliRunner()


def _names(tests: list[Any]) -> list[str]:
    return [t if isinstance(t, str) else next(iter(t)) for t in tests]


def _model_shape(model: dict[str, Any]) -> tuple[str, list[tuple[Any, ...]]]:
    """What a dbt model says of the contract: names, logical types of data_type, not_null, key order."""
    keys = next((c["columns"] for c in model.get("constraints") or [] if c["type"] == "primary_key"), [])
    return (
        model["name"],
        [
            (c["name"], logical_type(c["data_type"]), "not_null" in _names(c.get("data_tests") or []),
             keys.index(c["name"]) + 1 if c["name"] in keys else None)
            for c in model["columns"]
        ],
    )  # fmt: skip


@pytest.mark.parametrize("contract", EXAMPLE_CONTRACTS, ids=lambda p: p.stem)
def test_dbt_model_carries_names_types_required_and_keys(contract: Path) -> None:
    original = yaml.safe_load(contract.read_text(encoding="utf-8"))
    exported = export_contract("dbt-model", original, ExportOptions())
    document = yaml.safe_load(exported.text)
    assert document["version"] == 2
    assert [_model_shape(m) for m in document["models"]] == shape(original)
    for model, obj in zip(document["models"], original["schema"], strict=True):
        assert model["config"] == {"contract": {"enforced": True}}
        for column, prop in zip(model["columns"], obj["properties"], strict=True):
            assert column["data_type"] == prop["physicalType"]
            required = bool(prop.get("required") or prop.get("primaryKey"))
            assert (column.get("constraints") == [{"type": "not_null"}]) is required
            if prop.get("unique"):
                assert "unique" in _names(column["data_tests"])


@pytest.mark.parametrize("contract", EXAMPLE_CONTRACTS, ids=lambda p: p.stem)
def test_dbt_sources_tables_match_the_contract(contract: Path) -> None:
    original = yaml.safe_load(contract.read_text(encoding="utf-8"))
    document = yaml.safe_load(export_contract("dbt-sources", original, ExportOptions()).text)
    (source,) = document["sources"]
    assert source["meta"] == {"contract": original["id"], "version": original["version"]}
    assert [t["name"] for t in source["tables"]] == [o["name"] for o in original["schema"]]
    for table, obj in zip(source["tables"], original["schema"], strict=True):
        assert [c["name"] for c in table["columns"]] == [p["name"] for p in obj["properties"]]
        assert "constraints" not in table and all("constraints" not in c for c in table["columns"])


def test_rules_become_dbt_tests() -> None:
    contract = {
        "id": "crm.people.people", "version": "1.0.0",
        "schema": [{"name": "people", "quality": [
            {"metric": "duplicateValues", "arguments": {"properties": ["first", "last"]}, "mustBe": 0},
            {"metric": "rowCount", "mustBeGreaterThan": 0},
        ], "properties": [
            {"name": "id", "logicalType": "integer", "primaryKey": True, "primaryKeyPosition": 1},
            {"name": "tenant", "logicalType": "string", "primaryKey": True, "primaryKeyPosition": 2},
            {"name": "first", "logicalType": "string", "quality": [{"metric": "nullValues", "mustBe": 0}]},
            {"name": "last", "logicalType": "string",
             "quality": [{"metric": "nullValues", "mustBe": 0, "severity": "warning"}]},
            {"name": "country", "logicalType": "string", "quality": [
                {"metric": "invalidValues", "arguments": {"validValues": ["DE", "FR"]}, "mustBe": 0},
                {"metric": "duplicateValues", "mustBe": 0}]},
            {"name": "email", "logicalType": "string", "unique": True, "required": True,
             "quality": [{"metric": "nullValues", "mustBeLessThan": 5, "unit": "percent"}]},
        ]}],
    }  # fmt: skip
    exported = export_contract("dbt-model", contract, ExportOptions())
    (model,) = yaml.safe_load(exported.text)["models"]
    tests = {c["name"]: c.get("data_tests") for c in model["columns"]}
    assert tests == {
        "id": ["not_null"],
        "tenant": ["not_null"],
        "first": ["not_null"],
        "last": [{"not_null": {"config": {"severity": "warn"}}}],
        "country": [{"accepted_values": {"values": ["DE", "FR"]}}, "unique"],
        "email": ["not_null", "unique"],
    }
    assert model["constraints"] == [{"type": "primary_key", "columns": ["id", "tenant"]}]
    assert model["data_tests"] == [
        {"dbt_utils.unique_combination_of_columns": {"combination_of_columns": ["id", "tenant"]}},
        {"dbt_utils.unique_combination_of_columns": {"combination_of_columns": ["first", "last"]}},
    ]
    assert "quality rule nullValues of people.email (no dbt core test)" in exported.dropped
    assert "quality rule rowCount of people (no dbt core test)" in exported.dropped


def test_dbt_export_command(tmp_path: Path) -> None:
    out = tmp_path / "models" / "schema.yml"
    out.parent.mkdir()
    result = runner.invoke(app, ["export", "dbt-sources", str(EXAMPLE_CONTRACTS[0]), "-o", str(out)])
    assert result.exit_code == 0 and "not carried:" in result.stderr
    assert yaml.safe_load(out.read_text())["version"] == 2
