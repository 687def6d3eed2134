"""`meshplane import dbt MANIFEST --table NODE`: a model's columns and tests; round trips through dbt-model YAML."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from interop_support import EXAMPLE_CONTRACTS, lints_clean, shape
from typer.testing import CliRunner

from meshplane.cli.app import app
from meshplane.interop import ExportOptions, ImportOptions, export_contract, import_source

runner = CliRunner()
SCHEMA_VERSION = "https://schemas.getdbt.com/dbt/manifest/v12.json"


def manifest_of(models_yaml: str, project: str = "shop") -> dict[str, Any]:
    """The manifest `dbt parse` writes for a properties YAML of models: model nodes and their generic tests."""
    nodes: dict[str, Any] = {}
    for model in yaml.safe_load(models_yaml)["models"]:
        uid = f"model.{project}.{model['name']}"
        nodes[uid] = {
            "resource_type": "model", "name": model["name"], "alias": model["name"], "unique_id": uid,
            "description": model.get("description", ""), "constraints": model.get("constraints", []),
            "columns": {c["name"]: {"name": c["name"], "description": c.get("description", ""),
                                    "data_type": c.get("data_type"), "constraints": c.get("constraints", [])}
                        for c in model["columns"]},
        }  # fmt: skip
        for column in model["columns"]:
            for test in column.get("data_tests") or []:
                name, kwargs = (test, {}) if isinstance(test, str) else next(iter(test.items()))
                config = kwargs.pop("config", {})
                nodes[f"test.{project}.{name}_{model['name']}_{column['name']}"] = {
                    "resource_type": "test", "attached_node": uid, "column_name": column["name"],
                    "test_metadata": {"name": name, "kwargs": {"column_name": column["name"], **kwargs}},
                    "config": {"severity": config.get("severity", "ERROR")},
                }  # fmt: skip
    metadata = {"dbt_schema_version": SCHEMA_VERSION, "adapter_type": "duckdb", "project_name": project}
    return {"metadata": metadata, "nodes": nodes, "sources": {}}


@pytest.mark.parametrize("contract", EXAMPLE_CONTRACTS, ids=lambda p: p.stem)
def test_dbt_round_trip_on_the_example_contracts(contract: Path, tmp_path: Path) -> None:
    """contract → export dbt-model → manifest → import dbt keeps names, types, required, keys and valid values."""
    original = yaml.safe_load(contract.read_text(encoding="utf-8"))
    manifest = tmp_path / "target" / "manifest.json"
    manifest.parent.mkdir()
    manifest.write_text(json.dumps(manifest_of(export_contract("dbt-model", original, ExportOptions()).text)))
    for obj in original["schema"]:
        back = import_source("dbt", manifest, ImportOptions(table=obj["name"])).document
        assert shape(back) == [t for t in shape(original) if t[0] == obj["name"]]
        assert [p["physicalType"] for p in back["schema"][0]["properties"]] == [
            p["physicalType"] for p in obj["properties"]
        ]
        valid = {
            p["name"]: q["arguments"]["validValues"]
            for p in obj["properties"] for q in p.get("quality") or []
            if q.get("metric") == "invalidValues" and q.get("mustBe") == 0 and "validValues" in q.get("arguments", {})
        }  # fmt: skip
        kept = {
            p["name"]: q["arguments"]["validValues"]
            for p in back["schema"][0]["properties"] for q in p.get("quality") or []
        }  # fmt: skip
        assert kept == valid
        assert lints_clean(back, tmp_path)


def test_dbt_import_command_and_bad_input(tmp_path: Path) -> None:
    models = yaml.safe_dump({"models": [
        {"name": "a", "columns": [{"name": "id", "data_type": "integer", "data_tests": [
            "not_null", {"accepted_values": {"values": [1, 2], "config": {"severity": "warn"}}}]}]},
        {"name": "b", "columns": []},
    ]})  # fmt: skip
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps(manifest_of(models)))
    out = tmp_path / "a.odcs.yaml"
    ok = runner.invoke(app, ["import", "dbt", str(manifest), "--table", "model.shop.a", "-o", str(out)])
    assert ok.exit_code == 0, ok.output
    (prop,) = yaml.safe_load(out.read_text())["schema"][0]["properties"]
    assert prop["required"] is True
    assert prop["quality"] == [
        {"metric": "invalidValues", "arguments": {"validValues": [1, 2]}, "mustBe": 0, "severity": "warning"}
    ]
    cases = [
        ([], "name the node with --table (models: model.shop.a, model.shop.b)"),
        (["--table", "nosuch"], "no model or source 'nosuch' in the manifest"),
        (["--table", "b"], "model.shop.b documents no columns"),
    ]
    for args, message in cases:
        result = runner.invoke(app, ["import", "dbt", str(manifest), *args, "-o", str(tmp_path / "x.yaml")])
        assert result.exit_code == 2 and message in result.stderr, result.output
    manifest.write_text('{"metadata": {"dbt_schema_version": "v3"}}')
    old = runner.invoke(app, ["import", "dbt", str(manifest), "-o", str(tmp_path / "x.yaml")])
    assert old.exit_code == 2 and "unknown dbt manifest schema version" in old.stderr
    assert not (tmp_path / "x.yaml").exists()
