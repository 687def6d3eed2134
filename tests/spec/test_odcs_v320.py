"""ODCS v3.2.0: read, lint, test on DuckDB and diff from v3.1.0, with the fields v3.2 adds.

`files/odcs-v3.2/orders-v3.2.0.odcs.yaml` is meshplane's own v3.2.0 contract using every field v3.2
adds that meshplane interprets or keeps; `orders-v3.1.0.odcs.yaml` is its previous version in v3.1.0.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from tempfile import TemporaryDirectory

import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from typer.testing import CliRunner

from meshplane.cli.app import app
from meshplane.diagnostics import Severity
from meshplane.diff import diff_contract_files
from meshplane.service.testing import run_contract
from meshplane.spec.loader import dump_document, load_contract, load_text
from meshplane.spec.odcs import Context, Contract

FILES = Path(__file__).parent / "files" / "odcs-v3.2"
V310 = FILES / "orders-v3.1.0.odcs.yaml"
V320 = FILES / "orders-v3.2.0.odcs.yaml"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _v320() -> Contract:
    loaded = load_contract(V320)
    assert loaded.ok and loaded.diagnostics == [], [str(d) for d in loaded.diagnostics]
    assert isinstance(loaded.model, Contract)
    return loaded.model


def test_a_v320_contract_with_the_new_fields_lints_clean_and_is_modelled() -> None:
    contract = _v320()
    assert contract.api_version == "v3.2.0"
    assert isinstance(contract.context, Context)
    assert contract.context.verified_statements and contract.context.verified_statements[0].id == "revenue-by-day"
    assert contract.context.constraints and "customer_id" in contract.context.constraints[0].constraint
    assert contract.custom_properties and contract.custom_properties[0].vendor == "collibra"
    orders = contract.object_named("orders")
    assert orders is not None and orders.context and orders.synonyms
    assert orders.synonyms[0].synonym == "purchases" and orders.synonyms[0].locale == "en-GB"
    state = orders.property_named("state")
    assert state is not None and state.semantic_type == "dimension"
    assert state.enum_values() == ["open", "paid", "cancelled"]
    assert state.enum and state.enum[1].label == "Paid"
    legacy = orders.property_named("legacy_code")
    assert legacy is not None and legacy.deprecated is True
    attributes = orders.property_named("attributes")
    assert attributes is not None and attributes.logical_type == "map" and attributes.map is not None
    assert (attributes.map.key.logical_type, attributes.map.value.logical_type) == ("string", "string")
    embedding = orders.property_named("embedding")
    assert embedding is not None and embedding.logical_type == "vector"
    assert embedding.logical_type_options == {"dimensions": 3, "elementType": "float32", "distanceMetric": "cosine"}
    customer = orders.property_named("customer_id")
    assert customer is not None and customer.relationships and customer.relationships[0].id == "order-customer"
    sla = contract.sla("freshness")
    assert sla is not None and sla.custom_properties and sla.authoritative_definitions
    warehouse = contract.server_named("warehouse")
    assert warehouse is not None and warehouse.setting("port") == "${DB_PORT}"
    exports = contract.server_named("exports")
    assert exports is not None and exports.setting("encoding") == "UTF-8"


def test_a_v320_contract_round_trips() -> None:
    contract = _v320()
    again = load_text(dump_document(contract), "again.odcs.yaml")
    assert again.ok and again.diagnostics == [] and again.model == contract
    assert Contract.from_document(contract.to_document()) == contract


def test_v320_fields_in_a_v310_contract_are_a_warning_naming_v320() -> None:
    data = yaml.safe_load(V320.read_text(encoding="utf-8"))
    data["apiVersion"] = "v3.1.0"
    loaded = load_text(yaml.safe_dump(data, sort_keys=False), "x.odcs.yaml")
    assert loaded.ok
    (warning,) = loaded.diagnostics
    assert (warning.code, warning.severity, warning.path) == ("api-version-too-old", Severity.WARNING, "$.apiVersion")
    assert "declares ODCS v3.1.0 but uses fields that need ODCS v3.2.0" in warning.message


def test_a_v302_contract_with_v31_fields_still_names_v310() -> None:
    data = yaml.safe_load(V310.read_text(encoding="utf-8"))
    data["apiVersion"] = "v3.0.2"
    data["team"] = {"name": "Sales", "members": [{"username": "ana"}]}
    (warning,) = load_text(yaml.safe_dump(data, sort_keys=False), "x.odcs.yaml").diagnostics
    assert "need ODCS v3.1.0" in warning.message and "declare apiVersion: v3.1.0" in warning.message


def test_status_is_optional_in_v320_only() -> None:
    data = yaml.safe_load(V320.read_text(encoding="utf-8"))
    del data["status"]
    loaded = load_text(yaml.safe_dump(data, sort_keys=False), "x.odcs.yaml")
    assert loaded.ok and loaded.diagnostics == [], [str(d) for d in loaded.diagnostics]
    assert loaded.model is not None and loaded.model.status is None
    code, out = _lint(data)
    assert code == 0 and "no-status" in out and "states no status" in out
    v310 = yaml.safe_load(V310.read_text(encoding="utf-8"))
    del v310["status"]
    (error,) = load_text(yaml.safe_dump(v310, sort_keys=False), "y.odcs.yaml").diagnostics
    assert (error.code, error.severity) == ("schema-required", Severity.ERROR)
    assert "'status'" in error.message


def test_an_unknown_field_in_v320_names_v320_and_a_v320_rule_is_enforced() -> None:
    data = yaml.safe_load(V320.read_text(encoding="utf-8"))
    data["servers"][0]["delimiter"] = ";"
    del data["schema"][0]["properties"][7]["logicalTypeOptions"]["dimensions"]
    diagnostics = load_text(yaml.safe_dump(data, sort_keys=False), "x.odcs.yaml").diagnostics
    messages = {d.path: d.message for d in diagnostics}
    assert messages["$.servers[0].delimiter"].endswith("not part of ODCS v3.2.0; remove it or use customProperties")
    assert "dimensions" in messages["$.schema[0].properties[7].logicalTypeOptions"]


def _lint(data: dict[str, object]) -> tuple[int, str]:
    with TemporaryDirectory() as folder:
        path = Path(folder) / "x.odcs.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        result = CliRunner().invoke(app, ["lint", str(path)], env={"COLUMNS": "300"})
        return result.exit_code, result.stdout


def _data(folder: Path, states: list[str]) -> None:
    vector = pa.list_(pa.float32(), 3)
    orders = pa.table(
        {
            "order_id": ["o-1", "o-2", "o-3"],
            "customer_id": pa.array([1, 2, 1], pa.int64()),
            "state": states,
            "ordered_at": pa.array(
                [datetime(2026, 3, 2, h, tzinfo=UTC) for h in (8, 9, 10)], pa.timestamp("us", "UTC")
            ),
            "amount": [10.5, 20.0, None],
            "legacy_code": ["A", None, "C"],
            "attributes": pa.array([[("gift", "yes")], [], [("channel", "web")]], pa.map_(pa.string(), pa.string())),
            "embedding": pa.array([[0.1, 0.2, 0.3], [0.0, 1.0, 0.0], [0.5, 0.5, 0.5]], vector),
        }
    )
    pq.write_table(orders, folder / "orders.parquet")
    pq.write_table(pa.table({"customer_id": pa.array([1, 2], pa.int64())}), folder / "customers.parquet")


def _run(tmp_path: Path, states: list[str]) -> dict[str, tuple[str, str]]:
    shutil.copy(V320, tmp_path / V320.name)
    _data(tmp_path, states)
    contract = load_contract(tmp_path / V320.name).model
    assert isinstance(contract, Contract)
    run = run_contract(contract, base_dir=tmp_path, server="local", clock=lambda: NOW)
    return {c.spec.id: (c.status.value, c.message or "") for c in run.checks}


def test_a_v320_contract_is_tested_on_duckdb_with_its_new_fields(tmp_path: Path) -> None:
    results = _run(tmp_path, ["open", "paid", "cancelled"])
    assert results["orders.state.enum"] == ("passed", "every value is listed")
    assert results["orders.attributes.schema.type"][0] == "passed"
    assert results["orders.embedding.schema.type"][0] == "passed"
    failed = {k: v for k, v in results.items() if v[0] in ("failed", "error")}
    assert failed == {}


def test_a_value_outside_the_enum_fails_its_check(tmp_path: Path) -> None:
    results = _run(tmp_path, ["open", "shipped", "lost"])
    assert results["orders.state.enum"] == ("failed", "2 value(s) not listed")


def test_diff_from_the_v310_version_to_the_v320_version() -> None:
    diff = diff_contract_files(V310, V320)
    rules = sorted({c.rule for c in diff.changes})
    assert "unclassified-change" not in rules
    assert diff.level.value == "non-breaking" and diff.semver_ok
    by_path = {c.path: c.rule for c in diff.changes}
    assert by_path["$.apiVersion"] == "contract-api-version-changed"
    assert by_path["$.context"] == "documentation-changed"
    assert by_path["$.schema[orders].synonyms"] == "documentation-changed"
    assert by_path["$.schema[orders].properties[state].enum"] == "allowed-values-removed"
    assert by_path["$.schema[orders].properties[legacy_code].deprecated"] == "element-deprecated"
    assert by_path["$.schema[orders].properties[state].semanticType"] == "documentation-changed"
    assert by_path["$.slaProperties[freshness].customProperties"] == "custom-properties-changed"


def test_diff_of_v320_fields_between_two_v320_versions(tmp_path: Path) -> None:
    data = yaml.safe_load(V320.read_text(encoding="utf-8"))
    props = data["schema"][0]["properties"]
    props[2]["enum"].append({"value": "refunded"})
    props[5]["deprecated"] = False
    props[6]["map"]["value"] = {"logicalType": "integer"}
    data["version"] = "1.2.0"
    newer = tmp_path / "newer.odcs.yaml"
    newer.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    diff = diff_contract_files(V320, newer)
    by_path = {c.path: c.rule for c in diff.changes}
    assert by_path["$.schema[orders].properties[state].enum"] == "allowed-values-added"
    assert by_path["$.schema[orders].properties[legacy_code].deprecated"] == "element-undeprecated"
    assert by_path["$.schema[orders].properties[attributes].map"] == "map-type-changed"
    assert diff.level.value == "breaking" and not diff.semver_ok
