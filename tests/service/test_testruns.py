"""Test-run use cases on SQLite and PostgreSQL: recording runs as a maintainer, history, pass rates, refusals."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from meshplane.access import Principal, Role
from meshplane.diagnostics import MeshplaneError
from meshplane.errors import AccessDenied, NotFound
from meshplane.registry import Registry, list_test_runs
from meshplane.service.testruns import list_runs, pass_rates, record_runs

RETAIL = Principal("ci-retail", Role.MAINTAINER, "retail", "aaaaaaaa")
ADMIN = Principal("ci-admin", Role.ADMIN, None, "dddddddd")
FINANCE = Principal("ci-finance", Role.MAINTAINER, "finance", "cccccccc")


def _run(contract: str, version: str, result: str, started: str) -> dict[str, object]:
    return {"contract": {"id": contract, "version": version}, "result": result, "startedAt": started, "checks": []}


def test_runs_history_and_rates(mesh_registry: tuple[Path, Registry]) -> None:
    _, registry = mesh_registry
    ids = record_runs(
        registry,
        RETAIL,
        [
            _run("retail.sales.orders", "1.2.0", "passed", "2026-05-01T00:00:00Z"),
            _run("retail.sales.orders", "1.2.0", "failed", "2026-05-02T00:00:00Z"),
            _run("retail.catalog.products", "1.0.0", "warning", "2026-05-03T00:00:00Z"),
        ],
    )
    assert len({run_id for run_id, _ in ids}) == 3 and all(new for _, new in ids)
    assert [r.result for r in list_test_runs(registry, "retail.sales.orders")] == ["failed", "passed"]
    assert list_runs(registry, domain="retail").total == 3
    assert list_runs(registry, since=datetime(2026, 5, 2, tzinfo=UTC)).total == 2
    rates = {r["contract"]: r for r in pass_rates(registry).items}
    assert rates["retail.sales.orders"]["passRate"] == 0.5 and rates["retail.catalog.products"]["passRate"] == 1.0
    since = {r["contract"]: r for r in pass_rates(registry, since=datetime(2026, 5, 2, tzinfo=UTC)).items}
    assert since["retail.sales.orders"]["runs"] == 1 and since["retail.sales.orders"]["passRate"] == 0.0
    with pytest.raises(AccessDenied):
        record_runs(registry, FINANCE, [_run("retail.sales.orders", "1.2.0", "passed", "2026-05-01T00:00:00Z")])
    for caller in (RETAIL, ADMIN):
        with pytest.raises(NotFound, match=r"'nobody\.knows' are not registered"):
            record_runs(registry, caller, [_run("nobody.knows", "1.0.0", "passed", "2026-05-01T00:00:00Z")])
    with pytest.raises(MeshplaneError, match="contract"):
        record_runs(registry, RETAIL, [{"result": "passed"}])
