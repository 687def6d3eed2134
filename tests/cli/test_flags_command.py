"""`meshplane flags` and the port flags of `meshplane movements`: listed, as of a past day, and failing a CI gate.

The scenario: finance's ledger reads retail's orders under an agreement approved before the read
(a clean flow), and a maintainer of marketing reports a schema of retail's orders port in a
DatasetEvent (a `sender-mismatch` on the port, on no flow).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from cli_support import example_registry
from typer.testing import CliRunner

from meshplane.access import Principal, Role
from meshplane.cli.app import app
from meshplane.service import agreements
from meshplane.service import lineage as service
from meshplane.service.registries import open_mesh_registry
from meshplane.settings import get_settings

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "holding"
OPERATOR = Principal.local_admin("tests")
MARKETING = Principal("ci-marketing", Role.MAINTAINER, "marketing", "abcdefgh")
runner = CliRunner()


@pytest.fixture
def mesh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The example mesh applied to its SQLite registry."""
    with example_registry(tmp_path, monkeypatch) as (folder, _registry):
        pass
    yield folder
    get_settings.cache_clear()


def _orders(mesh: Path) -> str:
    return f"{(mesh / 'lake').absolute()}/retail/sales/orders"


def _send(mesh: Path, sender: Principal, *events: dict[str, Any]) -> None:
    with open_mesh_registry(mesh) as registry:
        outcome = service.receive_batch(registry, json.dumps(list(events)), sender)
        service.derive_pending(registry)
    assert outcome.count(service.IngestStatus.FAILED) == 0, outcome.to_dict()


def _ledger_read(mesh: Path, at: str) -> dict[str, Any]:
    lake = (mesh / "lake").absolute()
    return {
        "eventType": "COMPLETE", "eventTime": at, "producer": "https://example.org/tests",
        "run": {"runId": str(uuid.uuid4())}, "job": {"namespace": "airflow-finance", "name": "ledger"},
        "inputs": [{"namespace": "file", "name": _orders(mesh)}],
        "outputs": [{"namespace": "file", "name": f"{lake}/finance/ledger/ledger_entries/part-0.parquet"}],
    }  # fmt: skip


def _reported_schema(mesh: Path, at: str) -> dict[str, Any]:
    return {
        "eventTime": at, "producer": "https://example.org/tests",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
        "dataset": {"namespace": "file", "name": _orders(mesh),
                    "facets": {"schema": {"fields": [{"name": "order_id", "type": "BOOLEAN"}]}}},
    }  # fmt: skip


def _scenario(mesh: Path) -> None:
    with open_mesh_registry(mesh) as registry:
        view = agreements.request_agreement(
            registry, OPERATOR, consumer="finance.ledger", provider="retail.sales", port="orders", purpose="books",
            now=datetime.fromisoformat("2026-11-19T09:00:00+00:00"),
        )  # fmt: skip
        agreements.decide_agreement(
            registry, OPERATOR, view.id, approve=True, now=datetime.fromisoformat("2026-11-19T09:00:00+00:00")
        )
    _send(mesh, OPERATOR, _ledger_read(mesh, "2026-11-20T10:00:00Z"))
    _send(mesh, MARKETING, _reported_schema(mesh, "2026-11-20T11:00:00Z"))


def _invoke(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def test_movements_fails_on_a_port_flag_of_a_listed_flow(mesh: Path) -> None:
    _scenario(mesh)
    result = _invoke("movements", "--mesh", str(mesh), "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    (flow,) = document["flows"]
    assert (flow["toProduct"], flow["flags"], flow["runsCovered"], flow["runsNotCovered"]) == (
        "finance.ledger", [], 1, 0,
    )  # fmt: skip
    (port,) = document["portFlags"]
    assert (port["product"], port["port"], port["flag"]) == ("retail.sales", "orders", "sender-mismatch")
    assert "ci-marketing (maintainer of marketing, token abcdefgh)" in port["detail"]
    gate = _invoke("movements", "--mesh", str(mesh), "--fail-on-flags")
    assert gate.exit_code == 1, gate.output
    assert "port flags" in gate.stdout and "sender-mismatch" in gate.stdout
    # before the report, the same gate passed
    assert _invoke("movements", "--mesh", str(mesh), "--fail-on-flags", "--until", "2026-11-20").exit_code == 0


def test_flags_lists_flow_and_port_flags_and_gates(mesh: Path) -> None:
    _scenario(mesh)
    peek = {**_ledger_read(mesh, "2026-11-21T10:00:00Z"), "job": {"namespace": "airflow-marketing", "name": "peek"}}
    _send(mesh, OPERATOR, {**peek, "outputs": []})
    result = _invoke("flags", "--mesh", str(mesh), "--format", "json")
    assert result.exit_code == 0, result.output
    items = json.loads(result.stdout)["items"]
    on_flows = sorted(i["flag"] for i in items if i["flow"] is not None)
    on_ports = [(i["flag"], i["port"]["product"], i["port"]["port"]) for i in items if i["flow"] is None]
    assert on_flows == ["no-agreement", "undeclared-input"]  # marketing's read of the 21st
    assert on_ports == [("sender-mismatch", "retail.sales", "orders")]
    assert _invoke("flags", "--mesh", str(mesh), "--fail-on-flags").exit_code == 1
    table = _invoke("flags", "--mesh", str(mesh))
    assert "governance flags" in table.stdout and "2 on flows, 1 on ports" in table.stdout


def test_flags_as_of_a_past_day(mesh: Path) -> None:
    _scenario(mesh)
    before = _invoke("flags", "--mesh", str(mesh), "--as-of", "2026-11-19", "--fail-on-flags", "--format", "json")
    assert before.exit_code == 0, before.output
    assert json.loads(before.stdout) == {"since": None, "asOf": "2026-11-19", "items": []}
    after = _invoke("flags", "--mesh", str(mesh), "--as-of", "2026-11-20", "--format", "json")
    assert [i["flag"] for i in json.loads(after.stdout)["items"]] == ["sender-mismatch"]
    bad = _invoke("flags", "--mesh", str(mesh), "--as-of", "yesterday")
    assert bad.exit_code == 2 and "--as-of" in bad.output


@pytest.mark.parametrize("width", [80, 100])
def test_flags_table_fits_the_width_without_cutting_ids(mesh: Path, width: int) -> None:
    _scenario(mesh)
    peek = {**_ledger_read(mesh, "2026-11-21T10:00:00Z"), "job": {"namespace": "airflow-marketing", "name": "peek"}}
    _send(mesh, OPERATOR, {**peek, "outputs": []})
    result = runner.invoke(app, ["flags", "--mesh", str(mesh)], env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.output
    text = result.stdout
    words = {word for line in text.splitlines() for word in line.split()}
    ids = ("retail.sales", "retail.sales/orders", "[marketing]", "[retail]")
    for whole in (*ids, "no-agreement", "undeclared-input", "sender-mismatch"):  # each on one line, never cut
        assert whole in words, whole
    assert "agreement" in words and "ci-marketing" in words  # the detail is shown, its words whole
    assert "2 on flows, 1 on ports" in text and "…" not in text and "[red]" not in text
    assert max(len(line.rstrip()) for line in text.splitlines() if not line.startswith("(")) <= width
    wide = runner.invoke(app, ["flags", "--mesh", str(mesh), "--wide"], env={"COLUMNS": str(width)})
    assert "sent by" in wide.stdout and "ci-marketing" in wide.stdout and "--wide shows" not in wide.stdout
