"""The demo's simulated week, sent with the real OpenLineage client to a server on 127.0.0.1, end to end:
agreements first, movements with one flow flagged, latest figures per run, impact narrowed by column usage.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from test_receiver_support import REPO, LiveServer, World, build_world, counts

from meshplane.api import create_app
from meshplane.demo.simulate import JOBS, SimulationSummary, simulate_week
from meshplane.registry import lineage as store
from meshplane.service import movements
from meshplane.service.derivation import derive_pending
from meshplane.service.impact import ColumnUsage, impact_of
from meshplane.settings import Settings

pytest.importorskip("openlineage.client")

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
CHANGES = REPO / "examples" / "changes"


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, SimulationSummary, str]]:
    folder = tmp_path_factory.mktemp("simulation")
    world = build_world(folder, f"sqlite:///{folder / 'registry.db'}")
    with world.registry() as registry, LiveServer(create_app(registry, settings=Settings())) as server:
        summary = simulate_week(world.mesh, server.url, world.tokens["admin"], now=NOW, registry=registry)
        derive_pending(registry)  # every test reads derived lineage, whichever runs first (or alone)
        yield world, summary, server.url


def test_a_week_of_every_job_is_sent(simulated: tuple[World, SimulationSummary, str]) -> None:
    world, summary, _ = simulated
    per_day = sum(3 if job.rows >= 10_000 else 2 for job in JOBS)
    assert (summary.days, summary.runs, summary.events) == (7, 7 * len(JOBS), 7 * per_day)
    assert counts(world)["events"] == summary.events
    assert summary.first_event is not None and summary.first_event.date().isoformat() == "2026-11-17"
    assert summary.last_event is not None and summary.last_event < NOW
    assert len(summary.agreements) == 7
    assert summary.unagreed_flow is not None and "retail.sales/orders" in summary.unagreed_flow


def test_only_the_flow_without_an_agreement_is_flagged(simulated: tuple[World, SimulationSummary, str]) -> None:
    world, _, _ = simulated
    with world.registry() as registry:
        flows = movements.movements(registry).flows
    flagged = [f for f in flows if f.flags]
    assert [(f.from_product, f.to_product, f.port, f.flags) for f in flagged] == [
        ("retail.sales", "marketing.campaign_performance", "orders", ["no-agreement", "undeclared-input"])
    ]
    assert flagged[0].agreement == "none" and not flagged[0].declared
    for flow in flows:
        assert len(flow.runs) == 7
        if flow.flags:
            continue
        assert flow.declared
        assert flow.agreement == ("active" if flow.from_domain != flow.to_domain else "not-required")
    assert {(f.from_domain, f.to_domain) for f in flows} >= {("retail", "finance"), ("customer", "marketing")}


def test_running_figures_are_never_added_to_the_final_ones(simulated: tuple[World, SimulationSummary, str]) -> None:
    world, _, _ = simulated
    with world.registry() as registry, registry.read() as session:
        bodies = [json.loads(b) for b in session.execute(sa.select(store.StoredEvent.body)).scalars()]
        written = session.execute(
            sa.select(store.RunDataset.run_key, store.RunDataset.row_count).where(
                store.RunDataset.role == "output", store.RunDataset.product == "retail.sales"
            )
        ).all()
    final = {
        b["run"]["runId"]: b["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"]
        for b in bodies
        if b["eventType"] == "COMPLETE" and b["job"]["name"] == "sales.load_orders"
    }
    running = [b for b in bodies if b["eventType"] == "RUNNING" and b["job"]["name"] == "sales.load_orders"]
    assert len(running) == 7 and len(written) == 7
    assert dict(written) == final


def test_sending_the_week_again_stores_nothing_new(simulated: tuple[World, SimulationSummary, str]) -> None:
    world, summary, url = simulated
    before = counts(world)
    again = simulate_week(world.mesh, url, world.tokens["admin"], now=NOW)
    assert again.events == summary.events
    assert counts(world) == before


def test_impact_lists_only_the_consumers_that_read_the_changed_column(
    simulated: tuple[World, SimulationSummary, str],
) -> None:
    """customers 1.1.0 drops `segment`: customer360 and campaign performance read it, retail sales does not."""
    world, _, _ = simulated
    with world.registry() as registry:
        report = impact_of(
            registry, "customer.profiles.customers", against=CHANGES / "customer.profiles.customers-1.1.0.odcs.yaml"
        )
    direct = {hit.consumer.product: hit for hit in report.consumers if hit.consumer.depth == 1}
    assert direct["customer.customer360"].usage is ColumnUsage.AFFECTED
    assert direct["marketing.campaign_performance"].usage is ColumnUsage.AFFECTED
    assert direct["retail.sales"].usage is ColumnUsage.NOT_USING
    assert "does not read customers.segment" in direct["retail.sales"].reason
    downstream = [hit for hit in report.consumers if hit.consumer.path[1] == "retail.sales" and hit.consumer.depth > 1]
    assert downstream and all(hit.usage is ColumnUsage.NOT_USING for hit in downstream)


def test_a_mesh_without_the_example_ports_is_refused(tmp_path: Path) -> None:
    from meshplane.diagnostics import MeshplaneError

    mesh = tmp_path / "empty"
    mesh.mkdir()
    (mesh / "mesh.yaml").write_text("apiVersion: meshplane/v1\nkind: Mesh\nname: empty\n", encoding="utf-8")
    with pytest.raises(MeshplaneError, match="not the example mesh"):
        simulate_week(mesh, "http://127.0.0.1:9", "token", now=NOW)
