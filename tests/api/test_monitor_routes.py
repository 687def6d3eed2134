"""GET /api/v1/monitor: the scheduled contract tests, as the worker recorded them; readers only."""

from __future__ import annotations

from api_support import World
from fastapi.testclient import TestClient

from meshplane.registry import Registry
from meshplane.service import schedules


def test_monitor_lists_every_schedule_to_readers(client: TestClient, registry: Registry, world: World) -> None:
    schedules.sync(registry)
    response = client.get("/api/v1/monitor", headers=world.headers("reader"))
    assert response.status_code == 200, response.text
    rows = {row["contract"]: row for row in response.json()["schedules"]}
    assert len(rows) == 11
    orders = rows["retail.sales.orders"]
    assert (orders["schedule"], orders["origin"], orders["running"], orders["lastRun"]) == (
        "1 h",
        "contract:sla",
        False,
        None,
    )
    assert orders["nextRunAt"] is not None
    shipments = rows["logistics.shipments.shipments"]  # no schedule of its own, none in mesh.yaml
    assert (shipments["schedule"], shipments["nextRunAt"]) == (None, None)
    only = client.get("/api/v1/monitor", params={"domain": "retail"}, headers=world.headers("reader")).json()
    assert {row["domain"] for row in only["schedules"]} == {"retail"}


def test_monitor_needs_a_token(client: TestClient) -> None:
    response = client.get("/api/v1/monitor")
    assert response.status_code == 401


def test_monitor_shows_the_last_freshness_cycle(client: TestClient, registry: Registry, world: World) -> None:
    from datetime import UTC, datetime

    from meshplane.service import freshness

    with registry.read() as session:
        ports = freshness.watched_ports(session)
    freshness.evaluate_cycle(registry, ports, datetime.now(UTC))  # no lake, no lineage, no tests: all unknown
    # (the server's own worker may have run a cycle too: it finds the same)
    cycle = client.get("/api/v1/monitor", headers=world.headers("reader")).json()["freshness"]
    assert cycle["ports"] == len(ports) > 0 and cycle["unknown"] == len(ports) and cycle["breached"] == 0
    assert {p["state"] for p in cycle["problems"]} == {"unknown"} and len(cycle["problems"]) == len(ports)
