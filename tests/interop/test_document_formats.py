"""Export `jsonschema` (and its import: round trips on the example mesh's contracts) and `markdown`."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from interop_support import EXAMPLE_CONTRACTS, lints_clean, shape
from typer.testing import CliRunner

from meshplane.cli.app import app
from meshplane.interop import ExportOptions, ImportOptions, InteropError, export_contract, import_source

runner = CliRunner()


def _original(contract: Path) -> dict[str, Any]:
    return dict(yaml.safe_load(contract.read_text(encoding="utf-8")))


@pytest.mark.parametrize("contract", EXAMPLE_CONTRACTS, ids=lambda p: p.stem)
def test_jsonschema_round_trip_on_the_example_contracts(contract: Path, tmp_path: Path) -> None:
    """contract → export jsonschema (a valid 2020-12 schema) → import jsonschema keeps the shape."""
    original = _original(contract)
    exported = export_contract("jsonschema", original, ExportOptions())
    document = json.loads(exported.text)
    jsonschema.Draft202012Validator.check_schema(document)
    assert any(d.startswith("physicalType (") for d in exported.dropped)
    (tmp_path / "c.schema.json").write_text(exported.text, encoding="utf-8")
    back = import_source("jsonschema", tmp_path / "c.schema.json", ImportOptions()).document
    assert shape(back) == shape(original)
    assert lints_clean(back, tmp_path)


def test_jsonschema_validates_rows_by_the_contract() -> None:
    original = _original(next(p for p in EXAMPLE_CONTRACTS if p.stem == "ledger_entries.odcs"))
    document = json.loads(export_contract("jsonschema", original, ExportOptions()).text)
    validator = jsonschema.Draft202012Validator(document, format_checker=jsonschema.FormatChecker())
    row = {
        "entry_id": "e1", "journal_id": "j1", "entry_date": "2026-01-02", "account_code": "4000",
        "account_name": "Sales", "debit_amount": 0, "credit_amount": 12.5, "currency": "EUR",
        "source_reference": "o1", "counterparty_iban": None, "posted_at": "2026-01-02T03:04:05Z",
        "updated_at": "2026-01-02T03:04:05Z",
    }  # fmt: skip
    assert list(validator.iter_errors(row)) == []
    assert [e.validator for e in validator.iter_errors({**row, "entry_id": None})] == ["type"]
    assert [e.validator for e in validator.iter_errors({k: v for k, v in row.items() if k != "currency"})] == [
        "required"
    ]
    assert [e.validator for e in validator.iter_errors({**row, "entry_date": "02/01/2026"})] == ["format"]


def test_jsonschema_import_of_a_plain_schema(tmp_path: Path) -> None:
    (tmp_path / "person.json").write_text(
        json.dumps({"title": "person", "type": "object", "required": ["id"], "properties": {
            "id": {"type": "integer"}, "born": {"type": ["string", "null"], "format": "date"},
            "email": {"type": "string", "pattern": "@"}}}),
        encoding="utf-8",
    )  # fmt: skip
    imported = import_source("jsonschema", tmp_path / "person.json", ImportOptions(product="crm.people"))
    assert shape(imported.document) == [
        ("person", [("id", "integer", True, None), ("born", "date", False, None), ("email", "string", False, None)])
    ]
    assert imported.dropped == ["pattern of person.email"]
    assert imported.document["id"] == "crm.people.person"


@pytest.mark.parametrize("contract", EXAMPLE_CONTRACTS, ids=lambda p: p.stem)
def test_markdown_page_of_the_example_contracts(contract: Path) -> None:
    original = _original(contract)
    page = export_contract("markdown", original, ExportOptions()).text
    lines = page.splitlines()
    assert lines[0] == f"# {original['name']}"
    assert f"`{original['id']}` version {original['version']}" in lines[2]
    for obj in original["schema"]:
        assert f"## {obj['name']}" in lines
        for prop in obj["properties"]:
            row = next(line for line in lines if line.startswith(f"| {prop['name']} | {prop['logicalType']}"))
            assert row.count(" | ") == 6
            required = "yes" if prop.get("required") or prop.get("primaryKey") else ""
            assert row.split(" | ")[2] == required
    if original.get("slaProperties"):
        assert "## SLA" in lines


def test_export_commands_write_json_and_markdown(tmp_path: Path) -> None:
    contract = str(EXAMPLE_CONTRACTS[0])
    result = runner.invoke(app, ["export", "jsonschema", contract, "-o", str(tmp_path / "c.json")])
    assert result.exit_code == 0 and "not carried:" in result.stderr
    assert json.loads((tmp_path / "c.json").read_text())["$schema"].endswith("2020-12/schema")
    page = runner.invoke(app, ["export", "markdown", contract])
    assert page.exit_code == 0 and page.stdout.startswith("# ")


def test_jsonschema_bad_input(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text("{not json", encoding="utf-8")
    result = runner.invoke(app, ["import", "jsonschema", str(tmp_path / "x.json"), "-o", str(tmp_path / "o.yaml")])
    assert result.exit_code == 2 and "not a JSON document" in result.stderr and not (tmp_path / "o.yaml").exists()
    (tmp_path / "y.json").write_text("[1]", encoding="utf-8")
    assert "a JSON Schema is an object" in runner.invoke(app, ["import", "jsonschema", str(tmp_path / "y.json")]).stderr


# ---- avro -----------------------------------------------------------------------------------------


def _avro_names_are_valid(record: dict[str, Any]) -> None:
    """The naming rules of the Avro specification, and defaults matching a union's first branch."""
    name = r"[A-Za-z_][A-Za-z0-9_]*"
    assert re.fullmatch(name, record["name"]) and re.fullmatch(rf"{name}(\.{name})*", record["namespace"])
    for field in record["fields"]:
        assert re.fullmatch(name, field["name"])
        if isinstance(field["type"], list):
            assert field["type"][0] == "null" and field["default"] is None


@pytest.mark.parametrize("contract", EXAMPLE_CONTRACTS, ids=lambda p: p.stem)
def test_avro_round_trip_on_the_example_contracts(contract: Path, tmp_path: Path) -> None:
    """contract → export avro → import avro keeps names, logical types, required and the key."""
    original = _original(contract)
    exported = export_contract("avro", original, ExportOptions())
    document = json.loads(exported.text)
    for record in document if isinstance(document, list) else [document]:
        _avro_names_are_valid(record)
    (tmp_path / "c.avsc").write_text(exported.text, encoding="utf-8")
    back = import_source("avro", tmp_path / "c.avsc", ImportOptions()).document
    assert shape(back) == shape(original)
    decimals = [p for o in original["schema"] for p in o["properties"] if "DECIMAL" in str(p.get("physicalType"))]
    kept = {p["name"]: p.get("physicalType") for o in back["schema"] for p in o["properties"]}
    assert all(kept[p["name"]] == p["physicalType"] for p in decimals)
    assert lints_clean(back, tmp_path)


def test_avro_refuses_names_avro_cannot_hold() -> None:
    contract = {"id": "a.b", "schema": [{"name": "t", "properties": [{"name": "bad-name", "logicalType": "string"}]}]}
    with pytest.raises(InteropError, match=r"property 'bad-name' is not an Avro name"):
        export_contract("avro", contract, ExportOptions())
