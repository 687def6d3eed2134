"""`meshplane test`: formats, exit codes, output files, and clear messages for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from meshplane.cli.app import app
from meshplane.cli.output import report_error
from meshplane.diagnostics import MeshplaneError

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "docs" / "schemas" / "test-result.schema.json").read_text(encoding="utf-8"))
runner = CliRunner()


def _contract(folder: Path, *, cid: str = "orders", bad: bool = False, warn_only: bool = False) -> Path:
    now = datetime.now(UTC)
    ids = [1, 2, 2] if bad else [1, 2, 3]
    pq.write_table(
        pa.table({"id": ids, "email": ["a@x.org", "b@x.org", None if warn_only else "c@x.org"],
                  "ts": pa.array([now - timedelta(minutes=5)] * 3, pa.timestamp("us", tz="UTC"))}),
        folder / f"{cid}.parquet",
    )  # fmt: skip
    doc = {
        "apiVersion": "v3.1.0", "kind": "DataContract", "id": cid, "version": "2.1.0", "status": "active",
        "servers": [{"server": "lake", "type": "local", "path": "{model}.parquet", "format": "parquet"}],
        "schema": [{"name": cid, "properties": [
            {"name": "id", "logicalType": "integer", "unique": True},
            {"name": "email", "logicalType": "string", "classification": "pii",
             "quality": [{"metric": "nullValues", "mustBe": 0, "severity": "warning" if warn_only else "error"}]},
            {"name": "ts", "logicalType": "timestamp"},
        ]}],
        "slaProperties": [{"property": "freshness", "value": 1, "unit": "d", "element": f"{cid}.ts"}],
    }  # fmt: skip
    path = folder / f"{cid}.odcs.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def invoke(*args: str):
    result = runner.invoke(app, ["test", "-q", *args], env={"COLUMNS": "200"})
    if isinstance(result.exception, MeshplaneError):  # as `main()` does it
        return report_error(result.exception), result
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result


def test_json_output_validates_and_exit_codes(tmp_path) -> None:
    code, result = invoke(str(_contract(tmp_path, bad=True)), "--format", "json")
    assert code == 1
    document = json.loads(result.stdout)
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    assert document["contract"] == {"id": "orders", "version": "2.1.0"}
    assert document["result"] == "failed"
    unique = next(c for c in document["checks"] if c["id"] == "orders.id.unique")
    assert unique["status"] == "failed" and unique["observed"] == 1
    assert all(row["email"] == "***" for row in unique["samples"])


@pytest.mark.parametrize(
    ("bad", "warn_only", "exit_code", "result"), [(False, True, 0, "warning"), (True, False, 1, "failed")]
)
def test_exit_codes(tmp_path, bad, warn_only, exit_code, result) -> None:
    code, out = invoke(str(_contract(tmp_path, bad=bad, warn_only=warn_only)), "--format", "json")
    assert (code, json.loads(out.stdout)["result"]) == (exit_code, result)


def test_table_output(tmp_path) -> None:
    code, result = invoke(str(_contract(tmp_path, bad=True)))
    assert code == 1
    assert "failed orders 2.1.0" in result.stdout
    assert "orders.id.unique" in result.stdout and "1 duplicate value(s)" in result.stdout
    assert "checks:" in result.stdout


def test_junit_output_to_a_file(tmp_path) -> None:
    target = tmp_path / "report.xml"
    code, result = invoke(str(_contract(tmp_path, bad=True)), "--format", "junit", "--output", str(target))
    assert code == 1 and result.stdout == ""
    root = ET.parse(target).getroot()
    assert root.tag == "testsuites" and root.get("failures") == "1"  # the duplicate id
    failure = root.find(".//testcase[@name='orders.id.unique']/failure")
    assert failure is not None and "duplicate" in (failure.get("message") or "")


def test_several_contracts_make_a_runs_document(tmp_path) -> None:
    mesh = tmp_path / "mesh"
    for domain, cid in (("a", "first"), ("b", "second")):
        folder = mesh / "domains" / domain / "products" / cid / "contracts"
        folder.mkdir(parents=True)
        (mesh / "domains" / domain / "domain.yaml").write_text(yaml.safe_dump({
            "apiVersion": "meshplane/v1", "kind": "Domain", "id": domain,
            "team": {"name": "t", "members": [{"username": "u", "role": "owner"}]}}))  # fmt: skip
        _contract(folder, cid=cid, bad=cid == "second")
        (mesh / "lake").mkdir(exist_ok=True)
        (folder / f"{cid}.parquet").rename(mesh / "lake" / f"{cid}.parquet")
    (mesh / "mesh.yaml").write_text(yaml.safe_dump({"apiVersion": "meshplane/v1", "kind": "Mesh", "name": "m"}))
    code, result = invoke("--all", "--mesh", str(mesh), "--format", "json")
    document = json.loads(result.stdout)
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    assert code == 1 and document["result"] == "failed"
    assert [r["contract"]["id"] for r in document["runs"]] == ["first", "second"]
    assert [r["result"] for r in document["runs"]] == ["passed", "failed"]


def test_a_server_the_contract_does_not_have_is_a_usage_error_and_nothing_runs(tmp_path) -> None:
    code, result = invoke(str(_contract(tmp_path)), "--server", "prod", "--format", "json")
    assert code == 2 and "{" not in result.stdout  # a typo: no run, so none recorded and no incident
    assert "has no server 'prod'" in result.output


def test_a_run_that_cannot_happen_exits_2(tmp_path) -> None:
    contract = _contract(tmp_path)
    text = contract.read_text(encoding="utf-8")
    contract.write_text(text.replace("{model}.parquet", "nowhere/{model}.parquet"), encoding="utf-8")
    code, result = invoke(str(contract), "--format", "json")
    assert code == 2
    document = json.loads(result.stdout)
    assert document["result"] == "error" and "nowhere" in document["error"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.odcs.yaml"], "no such contract file"),
        (["--format", "xml", "x"], "Invalid value"),
        (["a", "--all"], "not both"),
    ],
)
def test_usage_errors(tmp_path, monkeypatch, args, message) -> None:
    monkeypatch.chdir(tmp_path)
    code, result = invoke(*args)
    assert code == 2
    assert message in (result.output + str(result.exception or ""))


def test_bad_input_is_a_message_not_a_traceback(tmp_path) -> None:
    bad = tmp_path / "bad.odcs.yaml"
    bad.write_text("apiVersion: v3.1.0\nkind: DataContract\nid: [\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "meshplane", "test", str(bad)], capture_output=True, text=True, check=False,
                          cwd=tmp_path, timeout=120)  # fmt: skip
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "error:" in proc.stderr and "not a valid contract" in proc.stderr
