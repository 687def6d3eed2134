"""`meshplane diff OLD NEW`: exit codes (0 semver ok, 1 missing bump, 2 bad input), the JSON shape
of ARCHITECTURE.md §3, the Rich table, perspectives, and the prepared changes of the example mesh."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from meshplane.cli.app import app

REPO = Path(__file__).resolve().parents[2]
HOLDING = REPO / "examples" / "holding"
CHANGES = REPO / "examples" / "changes"
ORDERS = HOLDING / "domains" / "retail" / "products" / "sales" / "contracts" / "orders.odcs.yaml"
OFFICIAL_FULL = REPO.parent / "shared" / "standards" / "odcs" / "examples" / "all" / "full-example.odcs.yaml"
TOP_KEYS = ["from", "to", "level", "requiredBump", "semverOk", "changes"]

runner = CliRunner()


def run(*args: str | Path) -> Any:
    return runner.invoke(app, ["diff", *map(str, args)])


def edited_orders(tmp_path: Path, name: str, edit: Any) -> Path:
    """A copy of the example orders contract with ``edit`` applied to its document."""
    doc = yaml.safe_load(ORDERS.read_text(encoding="utf-8"))
    edit(doc)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def _drop_column(version: str) -> Any:
    def edit(doc: dict[str, Any]) -> None:
        doc["version"] = version
        orders = doc["schema"][0]
        orders["properties"] = [p for p in orders["properties"] if p["name"] != "channel"]

    return edit


def test_same_contract_twice_is_no_change_and_exit_0() -> None:
    result = run(ORDERS, ORDERS)
    assert result.exit_code == 0, result.output
    assert "no changes" in result.stdout
    assert "level none" in result.stdout


def test_json_shape_and_exit_1_when_the_major_bump_is_missing(tmp_path: Path) -> None:
    new = edited_orders(tmp_path, "orders-1.3.0.odcs.yaml", _drop_column("1.3.0"))
    result = run(ORDERS, new, "--format", "json")
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert list(data) == TOP_KEYS
    assert (data["from"], data["to"], data["level"], data["requiredBump"], data["semverOk"]) == (
        "1.2.0",
        "1.3.0",
        "breaking",
        "major",
        False,
    )
    [change] = data["changes"]
    assert change == {
        "rule": "property-removed",
        "severity": "breaking",
        "path": "$.schema[orders].properties[channel]",
        "message": "property orders.channel was removed",
        "object": "orders",
        "property": "channel",
    }


def test_exit_0_with_the_major_bump(tmp_path: Path) -> None:
    new = edited_orders(tmp_path, "orders-2.0.0.odcs.yaml", _drop_column("2.0.0"))
    result = run(ORDERS, new, "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["semverOk"] is True


def test_table_output(tmp_path: Path) -> None:
    new = edited_orders(tmp_path, "orders-1.3.0.odcs.yaml", _drop_column("1.3.0"))
    result = runner.invoke(app, ["diff", str(ORDERS), str(new)], env={"COLUMNS": "200"})
    assert result.exit_code == 1
    out = result.stdout
    assert "retail.sales.orders 1.2.0 → 1.3.0 (consumer perspective)" in out
    for text in ("rule", "severity", "path", "message", "property-removed", "$.schema[orders].properties[channel]"):
        assert text in out
    assert "level breaking (1 breaking) · required bump major · ✗ semver not ok" in out
    assert "1.2.0 → 1.3.0 is a minor bump: not enough" in out


def test_perspective_changes_the_verdict(tmp_path: Path) -> None:
    def tighten(doc: dict[str, Any]) -> None:
        doc["version"] = "1.3.0"
        doc["slaProperties"][0]["value"] = 2  # latency 4 h → 2 h: better for consumers, harder for the producer

    new = edited_orders(tmp_path, "orders-1.3.0.odcs.yaml", tighten)
    consumer = run(ORDERS, new, "--format", "json")
    producer = run(ORDERS, new, "--format", "json", "--perspective", "producer")
    assert consumer.exit_code == 0 and json.loads(consumer.stdout)["level"] == "non-breaking"
    assert producer.exit_code == 1 and json.loads(producer.stdout)["level"] == "breaking"
    assert json.loads(producer.stdout)["changes"][0]["rule"] == "sla-tightened"


def test_unknown_perspective_is_a_usage_error() -> None:
    result = run(ORDERS, ORDERS, "--perspective", "auditor")
    assert result.exit_code == 2


def test_missing_file_exit_2(tmp_path: Path) -> None:
    result = run(ORDERS, tmp_path / "nope.odcs.yaml")
    assert result.exit_code == 2
    assert "no such file" in result.stderr
    assert result.stdout == ""


def test_invalid_contract_exit_2_with_diagnostics(tmp_path: Path) -> None:
    bad = tmp_path / "bad.odcs.yaml"
    bad.write_text("apiVersion: v3.1.0\nkind: DataContract\nid: x\nversion: 1.0.0\nstatus: active\nschema: 3\n")
    result = run(bad, ORDERS, "--format", "json")
    assert result.exit_code == 2
    assert "is not a valid ODCS contract" in result.stderr
    assert "bad.odcs.yaml:6" in result.stderr  # the diagnostic points at the line
    assert result.stdout == ""


def test_official_example_against_itself() -> None:
    result = run(OFFICIAL_FULL, OFFICIAL_FULL, "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "from": "1.1.0",
        "to": "1.1.0",
        "level": "none",
        "requiredBump": "none",
        "semverOk": True,
        "changes": [],
    }


def test_output_is_stable_across_runs(tmp_path: Path) -> None:
    new = edited_orders(tmp_path, "orders-1.3.0.odcs.yaml", _drop_column("1.3.0"))
    outputs = {run(ORDERS, new, "--format", "json").stdout for _ in range(3)}
    assert len(outputs) == 1


# --- the prepared changes of the example mesh (examples/changes) -------------------------------

PREPARED = sorted(CHANGES.glob("*.odcs.yaml"))


def original_of(changed: Path) -> Path:
    """The contract in examples/holding with the same id as a prepared change."""
    wanted = yaml.safe_load(changed.read_text(encoding="utf-8"))["id"]
    for path in sorted(HOLDING.rglob("*.odcs.yaml")):
        if yaml.safe_load(path.read_text(encoding="utf-8")).get("id") == wanted:
            return path
    raise AssertionError(f"no contract with id {wanted} in {HOLDING}")


@pytest.mark.skipif(not PREPARED, reason="examples/changes has no prepared contract changes")
def test_prepared_breaking_change_needs_a_major_bump() -> None:
    changed = CHANGES / "customer.profiles.customers-1.1.0.odcs.yaml"
    result = run(original_of(changed), changed, "--format", "json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert (data["level"], data["requiredBump"], data["semverOk"]) == ("breaking", "major", False)
    breaking = [c for c in data["changes"] if c["severity"] == "breaking"]
    assert [(c["rule"], c["object"], c["property"]) for c in breaking] == [("property-removed", "customers", "segment")]


@pytest.mark.skipif(not PREPARED, reason="examples/changes has no prepared contract changes")
@pytest.mark.parametrize("changed", PREPARED, ids=[p.name for p in PREPARED])
def test_every_prepared_change_has_an_original_and_a_verdict(changed: Path) -> None:
    result = run(original_of(changed), changed, "--format", "json")
    assert result.exit_code in (0, 1), result.output
    data = json.loads(result.stdout)
    assert data["changes"], "a prepared change changes something"
    assert result.exit_code == (0 if data["semverOk"] else 1)


@pytest.mark.skipif(not (CHANGES / "retail.sales.orders-1.3.0.odcs.yaml").exists(), reason="not prepared")
def test_prepared_non_breaking_change_passes() -> None:
    changed = CHANGES / "retail.sales.orders-1.3.0.odcs.yaml"
    result = run(original_of(changed), changed, "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert (data["level"], data["requiredBump"], data["semverOk"]) == ("non-breaking", "minor", True)
