"""Reindex: stored events derived again when the port index, a mapping or a dbt link changes, and on demand.

The worker's `ReindexJob` runs here as the worker runs it (`run_once` with the registry); the
derivation that follows is `derive_pending`, as ``meshplane worker --once`` does it. Events are
received through the service, not an app: an app runs a worker of its own (SQLite), which would
reindex and derive beside the test.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from test_dbt_link import cli, dbt_run_events, manifest, write_manifest
from test_receiver_support import OPERATOR, World, build_world, ds, run_event

from meshplane.lineage.dbt import read_manifest
from meshplane.registry import lineage as store
from meshplane.service.dbtlink import link_product
from meshplane.service.derivation import derive_pending
from meshplane.service.gitops import apply_mesh, plan_mesh
from meshplane.service.lineage import lineage_status, receive_event
from meshplane.service.reindex import ReindexJob, reindex


def _inputs(world: World) -> dict[str, tuple[str | None, str | None]]:
    with world.registry() as registry, registry.read() as session:
        rows = session.execute(sa.select(store.RunDataset.name, store.RunDataset.product, store.RunDataset.match))
        return {name: (product, match) for name, product, match in rows}


def own_world(folder: Path) -> World:
    """A world with a mesh folder of its own (these tests edit it and apply again)."""
    return build_world(folder, f"sqlite:///{folder / 'registry.db'}")


def send(world: World, events: list[dict[str, Any]]) -> None:
    with world.registry() as registry:
        for event in events:
            receive_event(registry, orjson.dumps(event), OPERATOR)


def _run_job(world: World, job: ReindexJob) -> Any:
    with world.registry() as registry:
        result = job.run_once(SimpleNamespace(registry=registry))
        derive_pending(registry)
    return result


def test_a_dbt_link_makes_the_worker_derive_stored_events_again(world: World, tmp_path: Path) -> None:
    job = ReindexJob()
    assert _run_job(world, job).detail == "basis unchanged"  # the first basis is recorded
    send(world, dbt_run_events(world))
    with world.registry() as registry:
        derive_pending(registry)
    assert _inputs(world)["finance.sales.orders"] == (None, None)
    assert _run_job(world, job).detail == "idle"  # nothing changed: not even a fingerprint
    with world.registry() as registry:
        link_product(
            registry, OPERATOR, "finance.revenue", read_manifest(write_manifest(tmp_path, manifest(world.lake)))
        )
    result = _run_job(world, job)
    assert result.done == 3 and "reindex" in result.detail
    assert _inputs(world)["finance.sales.orders"] == ("retail.sales", "linked")
    with world.registry() as registry:
        status = lineage_status(registry)["reindex"]
    assert status["last"]["events"] == 3 and status["waiting"] == 0 and status["done"] == 3
    assert status["last"]["requestedBy"].startswith("background worker")


def test_an_apply_that_changes_nothing_lineage_depends_on_reindexes_nothing(tmp_path: Path) -> None:
    world = own_world(tmp_path)
    job = ReindexJob()
    _run_job(world, job)
    send(world, [run_event(inputs=[ds("file", world.path("retail.sales/orders"))])])
    domain = world.mesh / "domains" / "retail" / "domain.yaml"
    domain.write_text(
        domain.read_text(encoding="utf-8").replace("Runs the group", "Runs the whole group"), encoding="utf-8"
    )
    with world.registry() as registry:
        apply_mesh(world.mesh, registry=registry, actor="tests")
    assert _run_job(world, job).detail == "basis unchanged"


def test_a_new_job_namespace_mapping_reattributes_stored_runs(tmp_path: Path) -> None:
    world = own_world(tmp_path)
    job = ReindexJob()
    _run_job(world, job)
    send(world, [run_event("dbt/finance.models.daily", inputs=[ds("file", world.path("retail.sales/orders"))])])
    with world.registry() as registry:
        derive_pending(registry)
        with registry.read() as session:
            before = [tuple(r) for r in session.execute(sa.select(store.LineageRun.domain, store.LineageRun.rule))]
    config = world.mesh / "mesh.yaml"
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "    airflow-retail: retail", "    airflow-retail: retail\n    dbt: finance"
        ),
        encoding="utf-8",
    )
    with world.registry() as registry:  # a change of mesh.yaml's settings alone is a change of the plan
        planned = plan_mesh(world.mesh, registry=registry)
    assert planned.change_dicts() == [
        {"kind": "mesh", "action": "update", "id": "mesh.yaml", "fields": ["lineage.jobNamespaces"]}
    ]
    with world.registry() as registry:
        result = apply_mesh(world.mesh, registry=registry, actor="tests")
    assert not result.plan.empty
    with world.registry() as registry, registry.read() as session:
        from meshplane.registry.reindex import Reindex
        from meshplane.service.reindex import basis_fingerprint

        print(
            "DBG",
            basis_fingerprint(session),
            [(r.fingerprint, r.reason, r.events) for r in session.query(Reindex)],
            store.lineage_counts(session),
        )
    assert _run_job(world, job).done == 1
    with world.registry() as registry:
        assert plan_mesh(world.mesh, registry=registry).empty
    with world.registry() as registry, registry.read() as session:
        after = [tuple(r) for r in session.execute(sa.select(store.LineageRun.domain, store.LineageRun.rule))]
    assert after == [("finance", "job-namespace")] and after != before


def test_lineage_reindex_on_demand_and_lineage_status(world: World) -> None:
    send(world, [run_event(inputs=[ds("file", world.path("retail.sales/orders"))]) for _ in range(3)])
    first = cli(world, "lineage", "reindex")
    assert first.exit_code == 0, first.output
    assert "3 event(s) queued to be derived again" in first.output and "3 derived, 0 failed" in first.output
    with world.registry() as registry, registry.read() as session:
        assert store.lineage_counts(session)["runs"] == 3  # derived once each, not twice
    shown = cli(world, "lineage", "status")
    assert shown.exit_code == 0 and "last reindex:" in shown.output and "3 of 3 derived" in shown.output, shown.output


@pytest.mark.postgres
def test_reindex_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    world = build_world(tmp_path, postgres_url)
    send(world, [run_event(inputs=[ds("file", world.path("retail.sales/orders"))]) for _ in range(3)])
    with world.registry() as registry:
        derive_pending(registry)
        assert reindex(registry, reason="test", by="tests") == 3
        assert reindex(registry, reason="unchanged", by="tests", only_if_changed=True) is None  # basis recorded
        outcome = derive_pending(registry)
        with registry.read() as session:
            counts = store.lineage_counts(session)
    assert (outcome.derived, counts["runs"], counts["datasets"]) == (3, 3, 3)
