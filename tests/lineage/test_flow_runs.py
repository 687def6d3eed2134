"""The runs behind a flow (`service.flowruns`, the mesh map's click-through): per run its job, figures,
agreement coverage and flags; selectors of one edge and of one domain x domain cell."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_receiver_support import OPERATOR, World, build_world, ds, run_event, world_for

from meshplane.service import lineage as service
from meshplane.service.flowruns import NONE, FlowSelector, flow_runs

ORDERS = "retail.sales/orders"
FIRST, SECOND = "0190a1b2-0000-7000-8000-0000000000a1", "0190a1b2-0000-7000-8000-0000000000a2"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> World:
    folder = tmp_path_factory.mktemp("flow-runs")
    return build_world(folder, f"sqlite:///{folder / 'template.db'}")


@pytest.fixture
def world(request: pytest.FixtureRequest, tmp_path: Path, template: World) -> World:
    return world_for("sqlite", request, tmp_path, template)


def read_orders(world: World, run_id: str, at: str, rows: int) -> Any:
    """finance.ledger's job reads retail orders (no agreement: a cross-domain read not covered)."""
    return run_event(
        "airflow-finance/ledger.post_entries",
        run_id=run_id,
        event_type="COMPLETE",
        at=at,
        inputs=[ds("file", world.path(ORDERS, "dt=2026-11-20"), rows=rows, size=rows * 10)],
        outputs=[ds("file", world.path("finance.ledger/ledger_entries", "data", "x.parquet"), rows=1, output=True)],
    )


def test_each_run_of_a_flow_with_its_job_figures_coverage_and_flags(world: World) -> None:
    with world.registry() as registry:
        events = [
            read_orders(world, FIRST, "2026-11-20T05:00:00Z", 900),
            read_orders(world, SECOND, "2026-11-21T05:00:00Z", 700),
        ]
        service.receive_batch(registry, json.dumps(events), OPERATOR)
        service.derive_pending(registry)
        edge = FlowSelector(from_product="retail.sales", to_product="finance.ledger", port="orders")
        (found,) = flow_runs(registry, edge)
        assert FlowSelector.of(found.flow).picks(found.flow) and FlowSelector.of(found.flow).params()["kind"] == "read"
        assert [r.run for r in found.runs] == [SECOND, FIRST]  # newest first
        newest = found.runs[0]
        assert (newest.rows, newest.bytes, newest.covered) == (700, 7000, False)
        assert newest.job == "airflow-finance/ledger.post_entries"
        assert "no-agreement" in newest.flags and "no-agreement" in found.flow.flags
        (cell,) = flow_runs(registry, FlowSelector(from_domain="retail", to_domain="finance"))
        assert len(cell.runs) == 2
        assert flow_runs(registry, FlowSelector(from_domain="retail", to_domain=NONE)) == []
        assert flow_runs(registry, FlowSelector(from_product="finance.ledger")) == []
