"""`meshplane monitor status`: the schedules the worker keeps, their last and next runs (table and JSON)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from meshplane.cli.app import app
from meshplane.registry.worker import Worker
from meshplane.service.gitops import apply_mesh
from meshplane.service.registries import open_mesh_registry
from meshplane.service.schedules import ScheduleJob
from meshplane.settings import get_settings

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "holding"
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)

runner = CliRunner()


@pytest.fixture
def mesh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The example mesh (no lake: its runs end in error) with an hourly schedule, applied to its SQLite registry."""
    for name in ("MESHPLANE_DATABASE_URL", "MESHPLANE_TOKEN", "MESHPLANE_SERVER_URL"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    folder = Path(shutil.copytree(EXAMPLE, tmp_path / "holding", ignore=shutil.ignore_patterns("lake", ".meshplane")))
    with (folder / "mesh.yaml").open("a", encoding="utf-8") as out:
        out.write("monitoring:\n  schedule: 2h\n")
    with open_mesh_registry(folder, create=True) as registry:
        apply_mesh(folder, registry=registry, actor="tests")
    yield folder
    get_settings.cache_clear()


def invoke(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def _run_one_due_test(mesh: Path) -> None:
    """The schedules synchronised, then two hours later the one due test run (no lake: it ends in error)."""
    with open_mesh_registry(mesh) as registry:
        clock = [NOW]
        worker = Worker(registry, [ScheduleJob(clock=lambda: clock[0], sync_s=0)])
        worker.run_jobs_once()
        clock[0] = NOW + timedelta(hours=2, seconds=1)
        worker.run_jobs_once()


def test_monitor_status_shows_schedules_last_and_next_runs(mesh: Path) -> None:
    empty = invoke("monitor", "status", "--mesh", str(mesh))
    assert empty.exit_code == 0 and "no scheduled contract tests yet" in empty.output
    _run_one_due_test(mesh)
    result = invoke("monitor", "status", "--mesh", str(mesh), "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    rows = {row["contract"]: row for row in document["schedules"]}
    assert len(rows) == 11 and document["freshness"] is None  # no freshness cycle ran
    ran = [row for row in rows.values() if row["lastRun"] is not None]
    assert [row["contract"] for row in ran] == ["retail.sales.orders"]  # the most overdue (SLA frequency 1 h)
    assert ran[0]["lastRun"]["result"] == "error" and ran[0]["origin"] == "contract:sla"
    assert ran[0]["nextRunAt"] == (NOW + timedelta(hours=3, seconds=1)).isoformat()
    table = invoke("monitor", "status", "--mesh", str(mesh), "--domain", "logistics")
    assert table.exit_code == 0 and "logistics.shipments.shipments" in table.output
    assert "retail.sales.orders" not in table.output
    assert "2h (mesh)" in table.output and "never ran" in table.output


def test_worker_once_keeps_the_schedules(mesh: Path) -> None:
    result = invoke("worker", "--once", "--quiet", "--mesh", str(mesh))
    assert result.exit_code == 0, result.output
    document = json.loads(invoke("monitor", "status", "--mesh", str(mesh), "--format", "json").output)
    rows = document["schedules"]
    assert len(rows) == 11 and all(row["nextRunAt"] for row in rows) and not any(row["lastRun"] for row in rows)
    assert document["freshness"]["ports"] > 0  # the worker's freshness job ran its first cycle
    table = invoke("monitor", "status", "--mesh", str(mesh))
    assert "freshness: last cycle" in table.output and "unknown" in table.output


def test_monitor_status_refuses_an_unknown_format(mesh: Path) -> None:
    result = invoke("monitor", "status", "--mesh", str(mesh), "--format", "xml")
    assert result.exit_code == 2 and "--format must be table or json" in result.output


@pytest.mark.parametrize("width", [80, 100])
def test_monitor_status_table_fits_the_width_without_cutting_ids(mesh: Path, width: int) -> None:
    _run_one_due_test(mesh)
    result = runner.invoke(app, ["monitor", "status", "--mesh", str(mesh)], env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.output
    text = result.stdout
    words = {word for line in text.splitlines() for word in line.split()}
    ids = (
        "marketing.campaign_performance.campaign_kpis",
        "customer.customer360.customer_summary",
        "retail.sales.orders",
    )
    for whole in (*ids, "error", "never", "(contract:sla)"):  # each on one line, never cut
        assert whole in words, whole
    assert width < 100 or "2026-03-02" in words  # the last run's date, whole, where there is room
    assert "…" not in text and "[dim]" not in text and "[red]" not in text
    assert max(len(line.rstrip()) for line in text.splitlines() if not line.startswith("(")) <= width
    assert "--wide shows every column" in text  # took (and more) left out at this width, and said so
    wide = runner.invoke(app, ["monitor", "status", "--mesh", str(mesh), "--wide"], env={"COLUMNS": str(width)})
    assert "took" in wide.stdout and "1 h (contract:sla)" in wide.stdout and "--wide shows" not in wide.stdout
