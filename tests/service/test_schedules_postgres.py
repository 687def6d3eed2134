"""Scheduled tests shared by several workers on PostgreSQL: each due job runs once; a killed worker's job is retried.

* two workers (separate registries, as two processes have) run every due contract test exactly once;
* a worker killed with SIGKILL in the middle of a scheduled run leaves its claim to run out; another
  worker then runs the test, and it is stored once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from monitor_support import CATALOG_ID, NOW, SHIPMENTS, Clock, scheduled_mesh

from meshplane.registry import Registry
from meshplane.registry import models as m
from meshplane.registry import monitoring as store
from meshplane.registry.worker import Worker
from meshplane.service import schedules
from meshplane.service.gitops import apply_mesh
from meshplane.settings import get_settings

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return scheduled_mesh(tmp_path_factory.mktemp("scheduled-pg") / "holding")


@pytest.fixture
def url(mesh: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.delenv("MESHPLANE_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    with Registry(postgres_url) as registry:
        apply_mesh(mesh, registry=registry, actor="tests")
    yield postgres_url


def _scheduled(url: str) -> list[str]:
    with Registry(url) as registry, registry.read() as session:
        rows = session.execute(sa.select(m.TestRun.contract_id, m.TestRun.extra)).all()
    return sorted(cid for cid, extra in rows if extra.get("source") == "schedule")


def test_two_workers_run_each_due_job_once(url: str) -> None:
    clock = Clock(NOW)
    with Registry(url) as registry:
        schedules.sync(registry, now=NOW)
        expected = sorted(s["contract"] for s in schedules.schedule_status(registry) if s["contract"] != CATALOG_ID)
    clock.now = NOW + timedelta(hours=1, seconds=5)
    registries = [Registry(url), Registry(url)]
    workers = [Worker(r, [schedules.ScheduleJob(clock=clock, sync_s=0)]) for r in registries]
    threads = [threading.Thread(target=w.run, kwargs={"once": True}) for w in workers]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    finally:
        for registry in registries:
            registry.close()
    assert _scheduled(url) == expected  # every due contract, each once
    assert all(w.stats["schedules"].done for w in workers)  # both took a share


WORKER = textwrap.dedent(
    """
    import sys, time
    from meshplane.registry import Registry
    from meshplane.registry.worker import Worker
    from meshplane.service import schedules
    from meshplane.service.testing import run_contract

    def slow(*args, **kwargs):
        print("running", flush=True)
        time.sleep(120)  # killed before it ends
        return run_contract(*args, **kwargs)

    with Registry(sys.argv[1]) as registry:
        Worker(registry, [schedules.ScheduleJob(runner=slow, lease_s=3)], worker_id="doomed").run()
    """
)


def _due_now(url: str, contract_id: str) -> None:
    with Registry(url) as registry:
        schedules.sync(registry)
        now = datetime.now(UTC)
        registry.write(
            lambda s: s.execute(
                sa.update(store.MonitorSchedule).values(
                    next_run_at=sa.case(
                        (store.MonitorSchedule.contract_id == contract_id, now), else_=now + timedelta(days=1)
                    )
                )
            )
        )


def test_a_worker_killed_mid_run_leaves_the_job_to_another(url: str, tmp_path: Path) -> None:
    _due_now(url, SHIPMENTS)
    script = tmp_path / "doomed_worker.py"
    script.write_text(WORKER, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "MESHPLANE_DATABASE_URL"}
    doomed = subprocess.Popen([sys.executable, str(script), url], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert doomed.stdout is not None
        line = doomed.stdout.readline()  # the run started (the claim is taken)
        assert line.strip() == "running", line
        with Registry(url) as registry, registry.read() as session:
            row = store.schedule_row(session, SHIPMENTS)
            assert row is not None and row.claimed_by == "doomed"
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait(10)
    finally:
        if doomed.poll() is None:
            doomed.kill()
    assert _scheduled(url) == []
    with Registry(url) as registry:
        survivor = Worker(registry, [schedules.ScheduleJob(lease_s=60)], worker_id="survivor")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            survivor.run_jobs_once()
            if survivor.stats["schedules"].done:
                break
            time.sleep(0.5)
        with registry.read() as session:
            row = store.schedule_row(session, SHIPMENTS)
            assert row is not None and row.claimed_by is None and row.attempts == 0 and row.last_result is not None
            assert row.next_run_at is not None and row.next_run_at > datetime.now(UTC)
    assert _scheduled(url) == [SHIPMENTS]  # retried once the lease ran out, stored once
