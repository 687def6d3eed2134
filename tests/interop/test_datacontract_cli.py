"""Contracts written by datacontract-cli 1.2.8 lint and test with meshplane.

The files in `datacontract_cli/` were written by datacontract-cli 1.2.8 itself (`datacontract init`
and `datacontract import parquet`, ODCS v3.2.0); its README says how. The only edit, a `servers`
block so that `meshplane test` has somewhere to read the data, is made here on a copy.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from meshplane.cli.app import app
from meshplane.spec.loader import load_contract

DATA = Path(__file__).parent / "datacontract_cli"
CONTRACTS = ["init.odcs.yaml", "orders.odcs.yaml"]
SERVER = {"server": "local", "type": "local", "path": "orders.parquet", "format": "parquet"}
runner = CliRunner()


def _cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout


@pytest.mark.parametrize("name", CONTRACTS)
def test_a_datacontract_cli_contract_declares_v320_and_lints_without_errors(name: str) -> None:
    loaded = load_contract(DATA / name)
    assert loaded.ok and loaded.model is not None, [str(d) for d in loaded.diagnostics]
    assert loaded.model.api_version == "v3.2.0"
    assert [d for d in loaded.diagnostics if d.severity.value == "error"] == []
    code, out = _cli("lint", str(DATA / name), "--format", "json")
    assert code == 0, out
    assert json.loads(out)["errors"] == 0


def test_the_imported_contract_describes_the_parquet_file() -> None:
    contract = load_contract(DATA / "orders.odcs.yaml").model
    assert contract is not None
    (orders,) = contract.objects
    columns = [(p.name, p.logical_type, bool(p.required)) for p in orders.properties or []]
    assert columns == [
        ("order_id", "string", True),
        ("customer_id", "integer", True),
        ("amount", "number", False),
        ("quantity", "integer", False),
        ("paid", "boolean", False),
        ("order_date", "date", False),
        ("ordered_at", "timestamp", False),
    ]


def test_meshplane_test_runs_the_imported_contract_on_its_parquet_file(tmp_path: Path) -> None:
    document = yaml.safe_load((DATA / "orders.odcs.yaml").read_text(encoding="utf-8"))
    assert "servers" not in document  # datacontract-cli's import writes none: the README's one edit
    document["servers"] = [SERVER]
    contract = tmp_path / "orders.odcs.yaml"
    contract.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    shutil.copy(DATA / "orders.parquet", tmp_path / "orders.parquet")
    code, out = _cli("test", str(contract), "--format", "json", "--no-record", "-q")
    report = json.loads(out)
    assert code == 0, out
    assert report["result"] == "passed"
    statuses = {c["id"]: c["status"] for c in report["checks"]}
    assert set(statuses.values()) == {"passed"}
    assert statuses["orders.order_id.required"] == statuses["orders.ordered_at.schema.type"] == "passed"
    assert len(statuses) >= 17
