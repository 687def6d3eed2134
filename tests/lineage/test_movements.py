"""Movements between products and domains from received events, on SQLite and PostgreSQL.

Runs, rows and bytes per flow (the latest figures of each run and dataset, never RUNNING and
COMPLETE added up), last seen, per day, the domain matrix; attribution of jobs; the lineage graph.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from test_receiver_support import OPERATOR, World, build_world, counts, ds, run_event, world_for

from meshplane.errors import NotFound
from meshplane.service import lineage as service
from meshplane.service import movements
from meshplane.service.movements import Direction

ORDERS = "retail.sales/orders"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> World:
    folder = tmp_path_factory.mktemp("movements")
    return build_world(folder, f"sqlite:///{folder / 'template.db'}")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path: Path, template: World) -> World:
    return world_for(request.param, request, tmp_path, template)


def send(world: World, *events: dict[str, Any]) -> list[str]:
    with world.registry() as registry:
        outcome = service.receive_batch(registry, json.dumps(list(events)), OPERATOR)
        service.derive_pending(registry)  # what the server's worker does
    assert not [r for r in outcome.results if r.status is service.IngestStatus.FAILED], outcome.to_dict()
    return [r.status.value for r in outcome.results]


def flows(world: World, **options: Any) -> list[movements.Flow]:
    with world.registry() as registry:
        return list(movements.movements(registry, **options).flows)


def read_orders(
    world: World, run_id: str, event_type: str, at: str, rows: int | None, written: int | None = None
) -> Any:
    """finance.ledger's job reads retail orders (and writes its ledger entries)."""
    return run_event(
        "airflow-finance/ledger.post_entries",
        run_id=run_id,
        event_type=event_type,
        at=at,
        inputs=[ds("file", world.path(ORDERS, "dt=2026-11-20"), rows=rows, size=rows * 10 if rows else None)],
        outputs=[
            ds("file", world.path("finance.ledger/ledger_entries", "data", "x.parquet"), rows=written, output=True)
        ],
    )


# --- figures ----------------------------------------------------------------------------------------------


def test_a_runs_figures_are_its_latest_never_running_and_complete_added(world: World) -> None:
    in_order, reversed_order = "0190a1b2-0000-7000-8000-000000000001", "0190a1b2-0000-7000-8000-000000000002"
    send(
        world,
        read_orders(world, in_order, "START", "2026-11-20T05:00:00Z", None),
        read_orders(world, in_order, "RUNNING", "2026-11-20T05:01:00Z", 400, 500),
        read_orders(world, in_order, "COMPLETE", "2026-11-20T05:02:00Z", 900, 1000),
    )
    # COMPLETE arrives first; a RUNNING event arrives later, even one stamped after COMPLETE
    send(world, read_orders(world, reversed_order, "COMPLETE", "2026-11-20T06:02:00Z", 700, 800))
    send(world, read_orders(world, reversed_order, "RUNNING", "2026-11-20T06:01:00Z", 300, 350))
    send(world, read_orders(world, reversed_order, "RUNNING", "2026-11-20T06:05:00Z", 50, 60))
    (flow,) = flows(world)
    assert (flow.from_product, flow.to_product, flow.port) == ("retail.sales", "finance.ledger", "orders")
    assert (len(flow.runs), flow.rows, flow.bytes) == (2, 900 + 700, 9000 + 7000)
    assert flow.last_seen is not None and flow.last_seen.isoformat() == "2026-11-20T06:05:00+00:00"
    # re-sent events change nothing
    assert send(world, read_orders(world, in_order, "RUNNING", "2026-11-20T05:01:00Z", 400, 500)) == ["duplicate"]
    (again,) = flows(world)
    assert (again.rows, again.bytes, len(again.runs)) == (1600, 16000, 2)


def test_a_later_complete_event_replaces_an_earlier_ones_figures(world: World) -> None:
    run = "0190a1b2-0000-7000-8000-0000000000aa"
    send(world, read_orders(world, run, "COMPLETE", "2026-11-20T05:02:00Z", 900))
    send(world, read_orders(world, run, "COMPLETE", "2026-11-20T05:09:00Z", 950))  # a corrected re-send
    (flow,) = flows(world)
    assert flow.rows == 950 and len(flow.runs) == 1


def test_flows_per_day_and_in_a_period(world: World) -> None:
    send(
        world,
        read_orders(world, "0190a1b2-0000-7000-8000-000000000011", "COMPLETE", "2026-11-18T05:00:00Z", 10),
        read_orders(world, "0190a1b2-0000-7000-8000-000000000012", "COMPLETE", "2026-11-19T05:00:00Z", 20),
        read_orders(world, "0190a1b2-0000-7000-8000-000000000013", "COMPLETE", "2026-11-19T07:00:00Z", 30),
    )
    daily = flows(world, by_day=True)
    assert [(f.day, len(f.runs), f.rows) for f in daily] == [("2026-11-18", 1, 10), ("2026-11-19", 2, 50)]
    assert daily[0].to_dict()["day"] == "2026-11-18"
    assert [f.rows for f in flows(world, since=date(2026, 11, 19))] == [50]
    assert [f.rows for f in flows(world, until=date(2026, 11, 19))] == [10]
    assert flows(world, since=date(2026, 11, 20)) == []


def test_the_flow_json_has_exactly_the_documented_keys(world: World) -> None:
    send(world, read_orders(world, "0190a1b2-0000-7000-8000-000000000021", "COMPLETE", "2026-11-20T05:00:00Z", 5))
    (flow,) = flows(world)
    assert flow.to_dict() == {
        "fromDomain": "retail",
        "toDomain": "finance",
        "fromProduct": "retail.sales",
        "toProduct": "finance.ledger",
        "port": "orders",
        "runs": 1,
        "runsCovered": 0,
        "runsNotCovered": 1,
        "rows": 5,
        "bytes": 50,
        "lastSeen": "2026-11-20T05:00:00Z",
        "agreement": "none",
        "declared": True,
        "flags": ["no-agreement"],
        "receivedBy": ["lineage-tests (admin)"],
    }


def test_the_domain_matrix_adds_up_the_flows_between_two_domains(world: World) -> None:
    shipments = run_event(
        "airflow-logistics/shipments.load_shipments",
        inputs=[ds("file", world.path(ORDERS), rows=7, size=70)],
        outputs=[ds("file", world.path("logistics.shipments/shipments", "part-0.parquet"), output=True)],
    )
    revenue = run_event(
        "airflow-finance/revenue.daily_revenue",
        inputs=[
            ds("file", world.path(ORDERS), rows=3),
            ds("file", world.path("logistics.shipments/shipments"), rows=2),
        ],
        outputs=[ds("file", world.path("finance.revenue/daily_revenue", "part-0.parquet"), output=True)],
    )
    send(
        world,
        shipments,
        revenue,
        read_orders(world, "0190a1b2-0000-7000-8000-000000000031", "COMPLETE", "2026-11-20T05:00:00Z", 4),
    )
    with world.registry() as registry:
        report = movements.movements(registry)
    cells = {(c["fromDomain"], c["toDomain"]): c for c in report.matrix()}
    assert cells[("retail", "finance")] == {
        "fromDomain": "retail", "toDomain": "finance", "flows": 2, "runs": 2, "rows": 7, "bytes": 40,
        "covered": 0, "flagged": 2, "lastSeen": "2026-11-20T10:00:00Z",
    }  # fmt: skip
    assert cells[("retail", "logistics")]["rows"] == 7 and cells[("logistics", "finance")]["rows"] == 2


def test_a_product_reading_its_own_port_is_no_movement(world: World) -> None:
    incremental = run_event(
        "airflow-retail/sales.load_orders",
        inputs=[ds("file", world.path(ORDERS), rows=100)],
        outputs=[ds("file", world.path(ORDERS, "dt=2026-11-20", "part-0.parquet"), rows=10, output=True)],
    )
    send(world, incremental)
    assert flows(world) == []
    assert counts(world)["datasets"] == 2


def test_partitions_files_and_symlinks_resolve_to_the_port(world: World) -> None:
    hive = ds("hive://metastore:9083", "sales.orders", rows=1, symlinks=[("file", world.path(ORDERS))])
    send(
        world,
        run_event(
            "airflow-finance/a",
            inputs=[ds("file", world.path(ORDERS, "year=2026", "month=11", "part-00000.parquet"), rows=1)],
        ),
        run_event("airflow-finance/b", inputs=[hive]),
        run_event("airflow-finance/c", inputs=[ds("file://localhost", world.path(ORDERS, "2026", "11", "20"), rows=1)]),
    )
    (flow,) = flows(world)
    assert (flow.port, len(flow.runs), flow.rows, flow.to_domain, flow.to_product) == ("orders", 3, 3, "finance", None)


# --- attribution ------------------------------------------------------------------------------------------


def test_jobs_are_attributed_by_namespace_ownership_parent_run_or_output_port(world: World) -> None:
    parent = run_event("airflow-logistics/dag", event_type="START", run_id="0190a1b2-0000-7000-8000-0000000000f1")
    child = run_event(
        "spark-cluster/child",
        inputs=[ds("file", world.path(ORDERS), rows=1)],
        run_facets={
            "parent": {
                "run": {"runId": "0190a1b2-0000-7000-8000-0000000000f1"},
                "job": {"namespace": "spark-unmapped", "name": "dag"},
            }
        },
    )
    owned = run_event(
        "dbt-prod/model",
        inputs=[ds("file", world.path(ORDERS), rows=2)],
        job_facets={"ownership": {"owners": [{"name": "team:Marketing Analytics Team", "type": "MAINTAINER"}]}},
    )
    by_port = run_event(
        "unknown-scheduler/job",
        inputs=[ds("file", world.path(ORDERS), rows=4)],
        outputs=[ds("file", world.path("finance.revenue/daily_revenue", "part-0.parquet"), output=True)],
    )
    send(world, parent, child, owned, by_port)
    found = {(f.to_domain, f.to_product, f.rows) for f in flows(world)}
    assert found == {("logistics", None, 1), ("marketing", None, 2), ("finance", "finance.revenue", 4)}


def test_a_job_no_rule_can_attribute_is_flagged(world: World) -> None:
    send(world, run_event("somewhere/job", inputs=[ds("file", world.path(ORDERS), rows=1)]))
    (flow,) = flows(world)
    assert flow.to_domain is None and "unattributed-job" in flow.flags and "no-agreement" in flow.flags


# --- the graph --------------------------------------------------------------------------------------------


def _chain(world: World) -> None:
    def job(name: str, reads: list[str], writes: str) -> dict[str, Any]:
        namespace = f"airflow-{writes.split('.', maxsplit=1)[0]}"
        inputs = [ds("file", world.path(r), rows=1) for r in reads]
        return run_event(
            f"{namespace}/{name}", inputs=inputs, outputs=[ds("file", world.path(writes, "p.parquet"), output=True)]
        )

    send(
        world,
        job("sales", ["customer.profiles/customers"], ORDERS),
        job("ledger", [ORDERS], "finance.ledger/ledger_entries"),
        job("revenue", [ORDERS, "finance.ledger/ledger_entries"], "finance.revenue/daily_revenue"),
    )


def test_the_product_graph_walks_upstream_and_downstream_to_a_depth(world: World) -> None:
    _chain(world)
    with world.registry() as registry:
        up1 = movements.lineage_graph(registry, "finance.revenue", direction=Direction.UPSTREAM, depth=1)
        up3 = movements.lineage_graph(registry, "finance.revenue", direction=Direction.UPSTREAM, depth=3)
        down = movements.lineage_graph(registry, "customer.profiles", direction=Direction.DOWNSTREAM, depth=2)
        both = movements.lineage_graph(registry, "finance.ledger")
        with pytest.raises(NotFound):
            movements.lineage_graph(registry, "no.such")
    assert {n["product"] for n in up1.nodes} == {"finance.revenue", "retail.sales", "finance.ledger"}
    assert {n["product"]: n["distance"] for n in up3.nodes}["customer.profiles"] == 2
    assert {(e["fromProduct"], e["toProduct"]) for e in down.edges} == {
        ("customer.profiles", "retail.sales"), ("retail.sales", "finance.ledger"), ("retail.sales", "finance.revenue"),
    }  # fmt: skip
    assert {(e["fromProduct"], e["toProduct"]) for e in both.edges} >= {
        ("retail.sales", "finance.ledger"), ("finance.ledger", "finance.revenue"),
    }  # fmt: skip
    assert up1.to_dict()["product"] == "finance.revenue" and up1.to_dict()["direction"] == "upstream"


def test_the_domain_graph_and_job_events_static_lineage(world: World) -> None:
    _chain(world)
    declared = {
        "eventTime": "2026-11-20T10:00:00Z",
        "producer": "https://example.org/tests",
        "job": {"namespace": "airflow-marketing", "name": "declared"},
        "inputs": [ds("file", world.path(ORDERS))],
        "outputs": [ds("file", world.path("marketing.campaign_performance/campaign_kpis"))],
    }
    send(world, declared)
    assert all(f.to_domain != "marketing" for f in flows(world))  # a JobEvent moves no data
    with world.registry() as registry:
        graph = movements.domain_graph(registry, "retail", direction=Direction.DOWNSTREAM)
        product = movements.lineage_graph(
            registry, "marketing.campaign_performance", direction=Direction.UPSTREAM, depth=1
        )
    assert {(e["fromDomain"], e["toDomain"]) for e in graph.edges} == {("retail", "finance"), ("retail", "marketing")}
    assert [(e["fromProduct"], e["kind"]) for e in product.edges] == [("retail.sales", "read")]
