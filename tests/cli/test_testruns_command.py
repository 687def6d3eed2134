"""`meshplane test-runs`: the test-run history as a table that fits 80 and 100 columns without cutting an id."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import example_registry
from typer.testing import CliRunner

from meshplane.cli.app import app
from meshplane.registry import store_test_run
from meshplane.settings import get_settings

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "holding"
CHECK = {"id": "campaign_kpis.campaign_id.required", "kind": "required", "status": "failed", "severity": "error",
         "observed": 4, "threshold": "= 0", "message": "4 rows with a null campaign_id"}  # fmt: skip
RUNS = [
    {"contract": {"id": "marketing.campaign_performance.campaign_kpis", "version": "1.0.0"}, "server": "lake",
     "engine": "duckdb", "result": "failed", "startedAt": "2026-11-20T10:00:00Z",
     "finishedAt": "2026-11-20T10:00:02Z", "checks": [CHECK]},
    {"contract": {"id": "customer.customer360.customer_summary", "version": "2.1.0"}, "server": "lake",
     "engine": "duckdb", "result": "passed", "startedAt": "2026-11-21T08:30:00Z",
     "finishedAt": "2026-11-21T08:30:01Z", "checks": []},
]  # fmt: skip
runner = CliRunner()


@pytest.fixture
def mesh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The example mesh applied to its SQLite registry, with two recorded runs."""
    with example_registry(tmp_path, monkeypatch) as (folder, registry):
        for run in RUNS:
            store_test_run(registry, run, actor="ci-pipeline-of-the-marketing-domain")
    yield folder
    get_settings.cache_clear()


@pytest.mark.parametrize("width", [80, 100])
def test_test_runs_table_fits_the_width_without_cutting_ids(mesh: Path, width: int) -> None:
    result = runner.invoke(app, ["test-runs", "--mesh", str(mesh)], env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.output
    text = result.stdout
    words = {word for line in text.splitlines() for word in line.split()}
    ids = ("marketing.campaign_performance.campaign_kpis@1.0.0", "customer.customer360.customer_summary@2.1.0")
    for whole in (*ids, "failed", "passed"):  # each on one line, never cut
        assert whole in words, whole
    assert width < 100 or {"2026-11-20", "2026-11-21"} <= words  # when they started, where there is room
    assert "2 of 2 run(s)" in text and "…" not in text and "[red]" not in text
    assert max(len(line.rstrip()) for line in text.splitlines() if not line.startswith("(")) <= width
    wide = runner.invoke(app, ["test-runs", "--mesh", str(mesh), "--wide"], env={"COLUMNS": str(width)})
    assert "ci-pipeline-of-the-marketing-domain" in wide.stdout and "--wide shows" not in wide.stdout
    checks = runner.invoke(app, ["test-runs", "--mesh", str(mesh), "--checks"], env={"COLUMNS": str(width)})
    assert "campaign_kpis.campaign_id.required" in checks.stdout


def test_test_runs_json_is_unchanged_by_the_width(mesh: Path) -> None:
    narrow = runner.invoke(app, ["test-runs", "--mesh", str(mesh), "--format", "json"], env={"COLUMNS": "80"})
    assert narrow.exit_code == 0, narrow.output
    document = json.loads(narrow.stdout)
    assert document["total"] == 2 and [i["result"] for i in document["items"]] == ["passed", "failed"]
    assert document["items"][1]["recordedBy"] == "ci-pipeline-of-the-marketing-domain"
    wide = runner.invoke(app, ["test-runs", "--mesh", str(mesh), "--format", "json", "--wide"])
    assert json.loads(wide.stdout) == document
