"""The cockpit's read models: built by `refresh` (server start, the worker's job), rebuilt only after a
change of the registry, on SQLite and PostgreSQL; what the pages read afterwards comes from them."""

from __future__ import annotations

import gc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from meshplane.access import Principal
from meshplane.registry import Registry
from meshplane.registry import models as m
from meshplane.registry.worker import Worker
from meshplane.service import catalog, governance, migrations, readmodels
from meshplane.service.testruns import record_runs

OPERATOR = Principal.local_admin("readmodel-tests")


def _audit(registry: Registry) -> int:
    with registry.read() as session:
        return int(session.execute(sa.select(sa.func.max(m.AuditEntry.id))).scalar_one())


def _run(started: datetime) -> dict[str, object]:
    return {
        "contract": {"id": "retail.sales.orders", "version": "1.2.0"},
        "server": "lake",
        "engine": "duckdb",
        "result": "passed",
        "startedAt": started.isoformat(),
        "finishedAt": (started + timedelta(seconds=1)).isoformat(),
        "checks": [],
    }


def test_refresh_builds_what_the_pages_read(mesh_registry: tuple[Path, Registry]) -> None:
    _, registry = mesh_registry
    audit = _audit(registry)
    assert not registry.cache.peek("catalog-index", audit)
    readmodels.refresh(registry)
    assert registry.cache.peek("catalog-index", audit)
    assert registry.cache.peek("migrations-ports", audit)
    built = catalog.catalog_index(registry)
    readmodels.refresh(registry)  # nothing changed: the same objects are kept
    assert catalog.catalog_index(registry) is built
    assert migrations.list_migrations(registry) == []  # read from the cached ports: same answer as before


def test_the_job_rebuilds_only_after_a_change(mesh_registry: tuple[Path, Registry]) -> None:
    _, registry = mesh_registry
    job = readmodels.ReadModelJob()
    worker = Worker(registry, [job])
    assert job.run_once(worker).done == 1
    index = catalog.catalog_index(registry)
    since = datetime.now(UTC) - timedelta(days=readmodels.ADHERENCE_DAYS)
    before = governance.adherence(registry, since)
    assert job.run_once(worker).done == 0  # one query, nothing rebuilt
    assert catalog.catalog_index(registry) is index
    record_runs(registry, OPERATOR, [_run(datetime.now(UTC) - timedelta(hours=1))])
    assert job.run_once(worker).done == 1  # a new run: adherence rebuilt by the job, not by the page
    after = governance.adherence(registry, since)
    assert after is not before
    assert after["retail"].runs == (before["retail"].runs if "retail" in before else 0) + 1
    assert catalog.catalog_index(registry) is index  # runs do not touch the catalog: its index is kept
    registry.cache.clear()  # a token revocation clears the cache: the job notices
    assert job.run_once(worker).done == 1


def test_settle_freezes_what_lives(mesh_registry: tuple[Path, Registry]) -> None:
    _, registry = mesh_registry
    readmodels.refresh(registry)
    try:
        readmodels.settle()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
