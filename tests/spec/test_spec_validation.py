"""Validation against the vendored official schemas: versions, kinds, messages, models."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from meshplane.diagnostics import Severity
from meshplane.spec.loader import FileKind, detect_kind, load_file, load_text
from meshplane.spec.odcs import Contract
from meshplane.spec.validation import ODCS_SCHEMAS, load_schema

REPO = Path(__file__).resolve().parents[2]
STANDARDS = REPO.parent / "shared" / "standards"
DATACONTRACT_CLI_COPIES = {
    # datacontract-cli 1.2.8's datacontract/schemas/odcs-3.2.0.schema.json (see spec/schemas/SOURCE.md)
    "odcs-json-schema-v3.2.0.json": "171420cb211c3fba7b0b0ee4939e43112cfac661386159cc4e123667846056c8",
}

CONTRACT = """\
apiVersion: v3.1.0
kind: DataContract
id: sales.orders.orders
version: 1.0.0
status: active
schema:
  - name: orders
    properties:
      - name: order_id
        logicalType: string
        required: true
    quality:
      - metric: rowCount
        mustBeGreaterThan: 0
"""
TEAM_OBJECT = "team:\n  name: Sales\n  members:\n    - username: ana\n      role: owner\n"


def _contract(api_version: str = "v3.1.0", extra: str = "") -> str:
    return CONTRACT.replace("apiVersion: v3.1.0", f"apiVersion: {api_version}") + extra


def _codes(text: str, name: str = "x.odcs.yaml") -> list[tuple[str, int | None, str | None]]:
    return [(d.code, d.line, d.path) for d in load_text(text, name).diagnostics]


@pytest.mark.parametrize("filename", [*sorted(ODCS_SCHEMAS.values()), "odps-json-schema-v1.0.0.json"])
def test_vendored_schemas_are_the_official_ones(filename: str) -> None:
    if filename in DATACONTRACT_CLI_COPIES:  # not in shared/standards: its source is recorded in SOURCE.md
        vendored = REPO / "src" / "meshplane" / "spec" / "schemas" / filename
        digest = hashlib.sha256(vendored.read_bytes()).hexdigest()
        assert digest == DATACONTRACT_CLI_COPIES[filename]
        assert digest in (vendored.parent / "SOURCE.md").read_text(encoding="utf-8")
        return
    standard = "odps" if filename.startswith("odps") else "odcs"
    official = STANDARDS / standard / "schema" / filename
    if not official.is_file():
        pytest.skip(f"{official} is missing")
    assert load_schema(filename) == json.loads(official.read_text(encoding="utf-8"))


@pytest.mark.parametrize("api_version", ["v3.0.0", "v3.0.1", "v3.0.2", "v3.1.0", "v3.2.0"])
def test_every_supported_odcs_version_loads(api_version: str) -> None:
    loaded = load_text(
        _contract(api_version).replace("    quality:\n      - metric: rowCount\n        mustBeGreaterThan: 0\n", ""),
        "x.odcs.yaml",
    )
    assert loaded.ok, [str(d) for d in loaded.diagnostics]
    assert loaded.diagnostics == []
    assert loaded.model is not None and loaded.model.api_version == api_version


def test_older_version_with_newer_fields_is_a_warning_naming_the_needed_version() -> None:
    loaded = load_text(_contract("v3.0.2", TEAM_OBJECT), "x.odcs.yaml")
    assert loaded.ok
    (warning,) = loaded.diagnostics
    assert (warning.code, warning.severity, warning.line, warning.path) == (
        "api-version-too-old",
        Severity.WARNING,
        1,
        "$.apiVersion",
    )
    assert "declares ODCS v3.0.2" in warning.message
    assert "v3.1.0" in warning.message
    assert "$.team" in warning.message


def test_older_version_with_newer_fields_and_a_real_error_reports_the_error() -> None:
    text = _contract("v3.0.0", TEAM_OBJECT).replace("logicalType: string", "logicalType: text")
    loaded = load_text(text, "x.odcs.yaml")
    assert not loaded.ok
    assert [(d.code, d.line, d.path) for d in loaded.diagnostics] == [
        ("schema-enum", 10, "$.schema[0].properties[0].logicalType")
    ]


def test_api_version_of_another_standard_is_unsupported() -> None:
    assert _codes(_contract("v1.0.0")) == [("unsupported-api-version", 1, "$.apiVersion")]
    loaded = load_text(_contract("v1.0.0"), "x.odcs.yaml")
    assert "supported: v3.0.0, v3.0.1, v3.0.2, v3.1.0" in loaded.diagnostics[0].message


def test_api_version_that_is_not_a_string_is_an_error_at_apiversion() -> None:
    codes = _codes(_contract("3.1"))
    assert codes and all(code[1:] == (1, "$.apiVersion") for code in codes)
    assert codes == [("unsupported-api-version", 1, "$.apiVersion")]


@pytest.mark.parametrize("api_version", ["v1.0.0", "v0.9.0"])
def test_odps_versions(api_version: str) -> None:
    text = f"apiVersion: {api_version}\nkind: DataProduct\nid: p\nstatus: draft\n"
    loaded = load_text(text, "p.odps.yaml")
    assert loaded.ok and loaded.diagnostics == []


def test_unknown_field_gets_a_did_you_mean_hint() -> None:
    loaded = load_text(_contract().replace("status: active", "stauts: active"), "x.odcs.yaml")
    by_code = {d.code: d for d in loaded.diagnostics}
    unknown = by_code["schema-unknown-field"]
    assert (unknown.line, unknown.column, unknown.path) == (5, 1, "$.stauts")
    assert unknown.hint == "did you mean 'status'?"
    assert "missing required field 'status'" in by_code["schema-required"].message


def test_errors_are_sorted_by_line_and_all_reported() -> None:
    text = (
        _contract()
        .replace("version: 1.0.0", "version: 1")
        .replace("required: true", "required: 1")
        .replace("rowCount", "rowCounts")
    )
    codes = _codes(text)
    assert [c[1] for c in codes] == sorted(c[1] for c in codes)
    assert ("schema-type", 4, "$.version") in codes
    assert ("schema-type", 11, "$.schema[0].properties[0].required") in codes
    assert ("schema-enum", 13, "$.schema[0].quality[0].metric") in codes


def test_kind_is_detected_from_the_name_then_from_the_kind_field() -> None:
    assert detect_kind(Path("a/b.odcs.yaml")) is FileKind.CONTRACT
    assert detect_kind(Path("b.ODPS.yml")) is FileKind.PRODUCT
    assert detect_kind(Path("domain.yml")) is FileKind.DOMAIN
    assert detect_kind(Path("mesh.yaml")) is FileKind.MESH
    assert detect_kind(Path("x.yaml"), {"kind": "DataContract"}) is FileKind.CONTRACT
    assert detect_kind(Path("x.yaml"), {"kind": "Whatever"}) is None
    assert detect_kind(Path("x.yaml")) is None


def test_plain_yaml_with_a_kind_field_loads_as_that_kind(tmp_path: Path) -> None:
    path = tmp_path / "orders.yaml"
    path.write_text(_contract(), encoding="utf-8")
    loaded = load_file(path, display="orders.yaml")
    assert loaded.kind is FileKind.CONTRACT
    assert loaded.ok
    assert isinstance(loaded.model, Contract)


def test_file_of_unknown_kind_is_an_error_at_kind() -> None:
    loaded = load_text("apiVersion: v1\nkind: Thing\n", "thing.yaml")
    assert not loaded.ok
    assert [(d.code, d.line, d.path) for d in loaded.diagnostics] == [("unknown-file-kind", 2, "$.kind")]


def test_explicit_kind_wins_over_the_name() -> None:
    loaded = load_text(_contract(), "whatever.odps.yaml", FileKind.CONTRACT)
    assert loaded.kind is FileKind.CONTRACT and loaded.ok


def test_duplicate_key_makes_the_file_unusable_even_when_the_schema_passes() -> None:
    loaded = load_text(_contract().replace("status: active", "status: active\nstatus: draft"), "x.odcs.yaml")
    assert loaded.model is None
    assert not loaded.ok
    assert [d.code for d in loaded.diagnostics] == ["yaml-duplicate-key"]


def test_domain_and_mesh_files_validate_against_meshplane_schemas() -> None:
    domain = "apiVersion: meshplane/v1\nkind: Domain\nid: sales\nteam:\n  name: S\n  members:\n    - username: a\n      role: owner\n"
    assert load_text(domain, "domain.yaml").ok
    assert _codes(domain.replace("    - username: a\n      role: owner\n", "    []\n"), "domain.yaml") == [
        ("schema-minItems", 7, "$.team.members")
    ]
    mesh = "apiVersion: meshplane/v1\nkind: Mesh\nname: m\n"
    loaded = load_text(mesh, "mesh.yaml")
    assert loaded.ok
    assert loaded.model is not None
    assert loaded.model.lake.root == "lake" and loaded.model.default_engine is None  # the server type decides
    assert _codes(mesh.replace("name: m", "name: my mesh"), "mesh.yaml") == [("schema-pattern", 3, "$.name")]


def test_integral_float_accepted_by_the_schema_is_accepted_by_the_model() -> None:
    text = _contract().replace("required: true", "required: true\n        primaryKeyPosition: 1.0")
    loaded = load_text(text, "x.odcs.yaml")
    assert loaded.ok, [str(d) for d in loaded.diagnostics]


def test_non_string_key_is_named_at_its_line() -> None:
    loaded = load_text(_contract() + "200: ok\n", "x.odcs.yaml")
    (diag,) = loaded.diagnostics
    assert diag.line == 15  # the last line of the text: _contract() has 14 lines
    assert "200" in diag.message
