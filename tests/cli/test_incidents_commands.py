"""`meshplane incidents list|show|ack|resolve` on the mesh's registry (the operator acts as an admin)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_support import example_registry
from typer.testing import CliRunner

from meshplane.cli.app import app
from meshplane.registry import store_test_run
from meshplane.service.incidents import process_test_runs
from meshplane.settings import get_settings

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "holding"
FAILED_RUN = {
    "contract": {"id": "retail.sales.orders", "version": "1.2.0"},
    "server": "lake",
    "engine": "duckdb",
    "result": "failed",
    "startedAt": "2026-11-20T10:00:00Z",
    "finishedAt": "2026-11-20T10:00:02Z",
    "checks": [
        {"id": "orders.order_id.required", "kind": "required", "status": "failed", "severity": "error",
         "observed": 4, "threshold": "= 0", "message": "4 rows with a null order_id"}
    ],
}  # fmt: skip

runner = CliRunner()


@pytest.fixture
def mesh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The example mesh applied to its SQLite registry, with one open incident."""
    with example_registry(tmp_path, monkeypatch) as (folder, registry):
        store_test_run(registry, FAILED_RUN, actor="ci")
        process_test_runs(registry)
    yield folder
    get_settings.cache_clear()


def invoke(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def test_list_show_ack_resolve(mesh: Path) -> None:
    at = ("--mesh", str(mesh))
    listed = invoke("incidents", "list", *at, "--format", "json")
    assert listed.exit_code == 0, listed.output
    items = json.loads(listed.output)["items"]
    assert [(i["contract"], i["check"], i["state"], i["observed"]) for i in items] == [
        ("retail.sales.orders", "orders.order_id.required", "open", 4)
    ]
    incident = str(items[0]["id"])
    table = invoke("incidents", "list", *at)
    assert table.exit_code == 0 and "open" in table.output  # (columns may be cut to the output width)
    acked = invoke("incidents", "ack", incident, "--note", "looking", "--actor", "ana", *at)
    assert acked.exit_code == 0 and "acknowledged" in acked.output
    refused = invoke("incidents", "resolve", incident, "--reason", "bored", *at)
    assert refused.exit_code != 0 and "reason must be one of fixed, false-positive, expected, other" in refused.output
    resolved = invoke("incidents", "resolve", incident, "--reason", "fixed", "--note", "backfilled", *at)
    assert resolved.exit_code == 0 and "resolved" in resolved.output
    again = invoke("incidents", "resolve", incident, "--reason", "fixed", *at)
    assert again.exit_code != 0 and "already resolved" in again.output
    shown = invoke("incidents", "show", incident, *at)
    assert shown.exit_code == 0
    assert "acknowledged by ana (admin): looking" in shown.output and "resolved (fixed) by" in shown.output
    assert "no unresolved incidents" in invoke("incidents", "list", *at).output
    assert len(json.loads(invoke("incidents", "list", *at, "--state", "all", "--format", "json").output)["items"]) == 1


def test_show_of_an_unknown_incident_is_a_clear_error(mesh: Path) -> None:
    result = invoke("incidents", "show", "42", "--mesh", str(mesh))
    assert result.exit_code != 0 and "no incident 42" in result.output


@pytest.mark.parametrize("width", [80, 100])
def test_list_table_fits_the_width_without_cutting_ids(mesh: Path, width: int) -> None:
    result = runner.invoke(app, ["incidents", "list", "--mesh", str(mesh)], env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.output
    text = result.stdout
    words = {word for line in text.splitlines() for word in line.split()}
    for whole in ("retail.sales.orders", "orders.order_id.required", "open", "2026-11-20"):  # never cut
        assert whole in words, whole
    assert width < 100 or "null" in words  # the message too, where there is room
    assert "…" not in text and "[red]" not in text
    assert max(len(line.rstrip()) for line in text.splitlines() if not line.startswith("(")) <= width
    wide = runner.invoke(app, ["incidents", "list", "--mesh", str(mesh), "--wide"], env={"COLUMNS": str(width)})
    assert "4 rows with a null order_id" in wide.stdout and "2026-11-20" in wide.stdout
    assert "--wide shows" not in wide.stdout
