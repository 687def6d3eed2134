"""Scheduled contract tests in the worker: schedules follow the registry, due ones run once, stored as test runs.

SQLite and PostgreSQL: the example mesh (with its generated lake) applied, mesh.yaml saying
``monitoring.schedule: 1h`` and one contract its own cron schedule.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from monitor_support import CATALOG_ID, NOW, SHIPMENTS, Clock, scheduled_mesh

from meshplane.demo.lakegen import VIOLATING_CONTRACT
from meshplane.registry import Registry
from meshplane.registry import models as m
from meshplane.registry import monitoring as store
from meshplane.registry.worker import Worker
from meshplane.service import incidents, schedules
from meshplane.service.gitops import apply_mesh
from meshplane.service.incidents import IncidentJob
from meshplane.service.testruns import get_run


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return scheduled_mesh(tmp_path_factory.mktemp("scheduled") / "holding")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def registry(request: pytest.FixtureRequest, tmp_path: Path, mesh: Path) -> Iterator[Registry]:
    url = f"sqlite:///{tmp_path / 'r.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    with Registry(url) as reg:
        apply_mesh(mesh, registry=reg, actor="test")
        yield reg


def _scheduled_runs(registry: Registry) -> list[tuple[str, str]]:
    with registry.read() as session:
        rows = session.execute(sa.select(m.TestRun.contract_id, m.TestRun.result, m.TestRun.extra)).all()
    return sorted((cid, result) for cid, result, extra in rows if extra.get("source") == "schedule")


def test_schedules_follow_the_registry_and_due_tests_run_once(registry: Registry, mesh: Path) -> None:
    clock = Clock(NOW)
    job = schedules.ScheduleJob(clock=clock, sync_s=0)
    worker = Worker(registry, [job, IncidentJob()])
    worker.run_jobs_once()
    status = {s["contract"]: s for s in schedules.schedule_status(registry, now=clock.now)}
    assert len(status) == 11
    catalog = status[CATALOG_ID]
    assert (catalog["schedule"], catalog["origin"]) == ("0 3 * * *", "contract:customProperty")
    assert catalog["nextRunAt"] == datetime(2026, 3, 3, 3, 0, tzinfo=UTC).isoformat()
    orders = status["retail.sales.orders"]  # its SLA frequency: 1 h
    assert (orders["schedule"], orders["origin"], orders["engine"]) == ("1 h", "contract:sla", "duckdb")
    shipments = status[SHIPMENTS]
    assert (shipments["schedule"], shipments["origin"], shipments["engine"]) == ("1h", "mesh", "duckdb")
    assert shipments["nextRunAt"] == (NOW + timedelta(hours=1)).isoformat() and shipments["lastRun"] is None
    assert _scheduled_runs(registry) == []  # nothing is due yet

    clock.now = NOW + timedelta(hours=1, seconds=5)
    worker.run(once=True)
    runs = _scheduled_runs(registry)
    assert [cid for cid, _ in runs] == sorted(set(status) - {CATALOG_ID})  # each due contract once
    assert dict(runs)[VIOLATING_CONTRACT] == "failed"
    assert {result for cid, result in runs if cid != VIOLATING_CONTRACT} <= {"passed", "warning"}
    after = {s["contract"]: s for s in schedules.schedule_status(registry, now=clock.now)}
    orders = after[SHIPMENTS]
    assert orders["nextRunAt"] == (clock.now + timedelta(hours=1)).isoformat()
    assert orders["lastRun"]["result"] in ("passed", "warning") and orders["lastRun"]["seconds"] is not None
    stored = get_run(registry, orders["lastRun"]["testRun"])
    assert stored["extra"]["source"] == "schedule" and stored["recordedBy"] == schedules.WORKER_ACTOR
    assert all("samples" not in check for check in stored["checks"])
    assert after[CATALOG_ID]["lastRun"] is None
    # the planted violations opened incidents in the same pass of the worker, each check once
    opened = incidents.list_incidents(registry, state="open", contract=VIOLATING_CONTRACT).items
    assert {"responses.response_id.unique", "responses.email.format"} <= {i["check"] for i in opened}
    assert all(i["occurrences"] == 1 and i["domain"] == "marketing" for i in opened)
    worker.run(once=True)  # nothing due any more: nothing runs twice
    assert len(_scheduled_runs(registry)) == len(runs)


def test_an_apply_that_changes_a_schedule_moves_its_next_run(registry: Registry, mesh: Path, tmp_path: Path) -> None:
    clock = Clock(NOW)
    worker = Worker(registry, [schedules.ScheduleJob(clock=clock, sync_s=0)])
    worker.run_jobs_once()
    changed = Path(shutil.copytree(mesh, tmp_path / "changed"))
    text = (changed / "mesh.yaml").read_text(encoding="utf-8").replace("schedule: 1h", "schedule: '*/30 * * * *'")
    (changed / "mesh.yaml").write_text(text, encoding="utf-8")
    domain = changed / "domains/logistics/domain.yaml"  # mesh.yaml settings travel with an apply that changes something
    domain.write_text(domain.read_text(encoding="utf-8").replace("shipping]", "shipping, scheduled]"), encoding="utf-8")
    apply_mesh(changed, registry=registry, actor="test")
    clock.now = NOW + timedelta(minutes=1)
    worker.run_jobs_once()
    status = {s["contract"]: s for s in schedules.schedule_status(registry, now=clock.now)}
    assert status[SHIPMENTS]["schedule"] == "*/30 * * * *"
    assert status[SHIPMENTS]["nextRunAt"] == datetime(2026, 3, 2, 10, 0, tzinfo=UTC).isoformat()
    assert status[CATALOG_ID]["schedule"] == "0 3 * * *"  # the contract's own schedule still wins


def test_a_claim_that_ran_out_is_taken_over(registry: Registry) -> None:
    clock = Clock(NOW)
    schedules.sync(registry, now=NOW)
    due = NOW + timedelta(hours=2)
    dead = registry.write(lambda s: store.claim_due(s, "dead-worker", now=due, until=due + timedelta(seconds=30)))
    assert dead == ["customer.customer360.customer_summary"]
    alive = registry.write(lambda s: store.claim_due(s, "alive", now=due, until=due + timedelta(seconds=30), limit=20))
    assert dead[0] not in alive  # held by the dead worker until its lease runs out
    later = due + timedelta(seconds=31)
    taken = registry.write(lambda s: store.claim_due(s, "alive", now=later, until=later + timedelta(seconds=30)))
    assert taken == dead
    with registry.read() as session:
        row = store.schedule_row(session, dead[0])
        assert row is not None and row.claimed_by == "alive" and row.attempts == 2
    done = store.FinishedRun(later, later, "passed", None, None, later + timedelta(hours=1))
    assert not registry.write(lambda s: store.finish(s, dead[0], "dead-worker", done))  # no longer its claim
    assert registry.write(lambda s: store.finish(s, dead[0], "alive", done))
    del clock


@pytest.mark.parametrize("path", ["{outside}/secret.csv", "../outside/secret.csv"])
def test_a_scheduled_test_never_reads_outside_the_lake(mesh: Path, tmp_path: Path, path: str) -> None:
    changed = Path(shutil.copytree(mesh, tmp_path / "changed"))
    outside = changed / "outside"  # beside the lake (<mesh>/lake), not in it
    outside.mkdir()
    (outside / "secret.csv").write_text("KEY,VALUE\nMESHPLANE_DATABASE_URL,postgresql://x:s3cret@db/r\n", "utf-8")
    contract = changed / "domains/logistics/products/shipments/contracts/shipments.odcs.yaml"
    text = contract.read_text(encoding="utf-8").replace(
        "path: logistics/shipments/shipments/*.parquet", f"path: {path.format(outside=outside)}"
    )
    contract.write_text(text.replace("format: parquet", "format: csv", 1), "utf-8")
    clock = Clock(NOW)
    with Registry(f"sqlite:///{tmp_path / 'r.db'}") as registry:
        apply_mesh(changed, registry=registry, actor="test")
        worker = Worker(registry, [schedules.ScheduleJob(clock=clock, sync_s=0, base_dir=changed)])
        worker.run_jobs_once()
        clock.now = NOW + timedelta(hours=1, seconds=5)
        worker.run(once=True)
        status = {s["contract"]: s for s in schedules.schedule_status(registry, now=clock.now)}
        stored = get_run(registry, status[SHIPMENTS]["lastRun"]["testRun"])
        passed = get_run(registry, status["retail.sales.orders"]["lastRun"]["testRun"])
    assert stored["result"] == "error" and "is outside the lake" in stored["extra"]["error"], stored
    assert "s3cret" not in str(stored)
    assert passed["result"] in ("passed", "warning")  # the lake's own data is read as before
