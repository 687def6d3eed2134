"""dbt tests as evidence: ``dataQualityAssertions`` of a dataset that resolves to an output port are test runs of
its contract (source ``openlineage``) in the test-run history, beside `meshplane test` runs; a failing assertion is
a failing check of the port (an incident); re-deriving never duplicates them; only the port's own domain or a
trusted sender gives that evidence (otherwise ``sender-mismatch``).

Events go through the receiver route with real tokens, derivation runs as the worker runs it; SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from test_receiver_support import OPERATOR, World, build_world, ds, new_run_id, run_event, world_for

from meshplane.registry import lineage as store
from meshplane.registry import store_test_run
from meshplane.service import governance, incidents, movements, testruns
from meshplane.service.derivation import derive_pending
from meshplane.service.flags import port_flags
from meshplane.service.reindex import reindex
from meshplane.service.tokens import create_token

ORDERS = "retail.sales/orders"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> World:
    folder = tmp_path_factory.mktemp("assertions")
    return build_world(folder, f"sqlite:///{folder / 'template.db'}")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path: Path, template: World) -> World:
    return world_for(request.param, request, tmp_path, template)


def post(client: TestClient, world: World, who: str, *events: dict[str, Any]) -> None:
    for event in events:
        answer = client.post("/api/v1/lineage", json=event, headers=world.headers(who))
        assert answer.status_code == 201, answer.text
    with world.registry() as registry:
        derive_pending(registry)


def contract_of(world: World, port: str) -> str:
    with world.registry() as registry, registry.read() as session:
        rows = store.load_index(session).rows
    return next(r["contract_id"] for r in rows if f"{r['product']}/{r['port']}" == port)


def dbt_tests(world: World, *, unique: bool = True, run_id: str | None = None, where: str = "inputFacets",
           at: str = "2026-11-20T10:00:00Z", severity: str = "error") -> dict[str, Any]:  # fmt: skip
    """A dbt test job's event: not_null(order_id) passes, unique(order_id) passes or fails, on retail's orders."""
    facet = {
        "_producer": "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/integration/dbt",
        "_schemaURL": "https://openlineage.io/spec/facets/1-1-0/DataQualityAssertionsDatasetFacet.json",
        "assertions": [
            {"assertion": "not_null", "name": "not_null_orders_order_id", "column": "order_id", "success": True,
             "severity": "error", "actual": "0", "expected": "0"},
            {"assertion": "unique", "name": "unique_orders_order_id", "column": "order_id", "success": unique,
             "severity": severity, "actual": "0" if unique else "3", "expected": "0"},
        ],
    }  # fmt: skip
    source = ds("file", world.path(ORDERS)) | {where: {"dataQualityAssertions": facet}}
    return run_event("airflow-retail/retail.sales.orders.test", run_id=run_id, at=at, inputs=[source])


def lineage_runs(world: World, **filters: Any) -> list[dict[str, Any]]:
    with world.registry() as registry:
        return list(testruns.list_runs(registry, source="openlineage", checks=True, **filters).items)


def test_assertions_are_test_runs_of_the_port_beside_meshplane_test_runs(client: TestClient, world: World) -> None:
    contract = contract_of(world, ORDERS)
    post(client, world, "maintainer:retail", dbt_tests(world, unique=False))
    (run,) = lineage_runs(world, contract=contract)
    assert (run["source"], run["result"], run["domain"], run["checkCount"]) == ("openlineage", "failed", "retail", 2)
    assert run["recordedBy"].startswith("ci-retail (maintainer of retail")
    checks = {c["assertion"]: c for c in run["checks"]}
    assert (checks["not_null"]["column"], checks["not_null"]["success"], checks["not_null"]["status"]) == (
        "order_id", True, "passed")  # fmt: skip
    assert (checks["unique"]["success"], checks["unique"]["status"], checks["unique"]["observed"]) == (False, "failed",
                                                                                                      "3")  # fmt: skip
    assert checks["unique"]["id"] == "openlineage.unique_orders_order_id" and checks["unique"]["object"] == "orders"
    detail = client.get(f"/api/v1/test-runs/{run['id']}", headers=world.headers("reader")).json()
    assert detail["extra"]["lineage"]["dataset"]["name"] == world.path(ORDERS)
    # beside a `meshplane test` run of the same contract, in one history
    with world.registry() as registry:
        store_test_run(registry, {"contract": {"id": contract, "version": run["contract"]["version"]},
                                  "engine": "duckdb", "result": "passed", "startedAt": "2026-11-19T10:00:00Z",
                                  "checks": []}, actor="ci")  # fmt: skip
    answer = client.get("/api/v1/test-runs", params={"contract": contract}, headers=world.headers("reader")).json()
    assert [i["source"] for i in answer["items"]] == ["openlineage", "meshplane"]
    only = client.get("/api/v1/test-runs", params={"source": "openlineage", "checks": True},
                      headers=world.headers("reader")).json()  # fmt: skip
    assert [i["id"] for i in only["items"]] == [run["id"]] and len(only["items"][0]["checks"]) == 2


def test_a_failing_assertion_opens_an_incident_and_a_passing_one_resolves_it(client: TestClient, world: World) -> None:
    contract = contract_of(world, ORDERS)
    post(client, world, "maintainer:retail", dbt_tests(world, unique=False))
    with world.registry() as registry:
        incidents.process_test_runs(registry)
        (opened,) = incidents.list_incidents(registry, state="unresolved", contract=contract).items
    assert (opened["check"], opened["product"], opened["port"]) == ("openlineage.unique_orders_order_id",
                                                                    "retail.sales", "orders")  # fmt: skip
    post(client, world, "maintainer:retail", dbt_tests(world, unique=True, at="2026-11-21T10:00:00Z"))
    with world.registry() as registry:
        incidents.process_test_runs(registry)
        assert incidents.list_incidents(registry, state="unresolved", contract=contract).items == []
    assert [r["result"] for r in lineage_runs(world, contract=contract)] == ["passed", "failed"]


def test_a_warn_severity_failure_is_a_warning(client: TestClient, world: World) -> None:
    post(client, world, "maintainer:retail", dbt_tests(world, unique=False, severity="warn"))
    (run,) = lineage_runs(world)
    assert run["result"] == "warning"


def test_reindex_and_resent_events_never_duplicate_assertion_results(client: TestClient, world: World) -> None:
    run_id = new_run_id()
    start = dbt_tests(world, run_id=run_id) | {"eventType": "START"}
    start["inputs"] = [ds("file", world.path(ORDERS))]  # dbt-ol's START names the dataset without results
    post(client, world, "maintainer:retail", start, dbt_tests(world, run_id=run_id, where="facets"))
    (before,) = lineage_runs(world)
    assert before["result"] == "passed" and before["checkCount"] == 2  # read from the dataset facets as dbt-ol puts it
    with world.registry() as registry:
        assert reindex(registry, reason="test", by="tests") is not None
        derive_pending(registry)
        derive_pending(registry)
    (after,) = lineage_runs(world)
    assert (after["id"], after["checkCount"], after["result"]) == (before["id"], 2, "passed")


def test_a_later_event_of_the_same_run_that_changes_the_evidence_is_seen_by_incidents_and_governance(
    client: TestClient, world: World
) -> None:
    contract = contract_of(world, ORDERS)
    run_id = new_run_id()
    since = datetime(2026, 11, 1, tzinfo=UTC)
    post(client, world, "maintainer:retail", dbt_tests(world, run_id=run_id, at="2026-11-20T10:00:00Z"))
    (before,) = lineage_runs(world, contract=contract)
    with world.registry() as registry:
        incidents.process_test_runs(registry)
        assert governance.adherence(registry, since)["retail"].rate == 1.0  # cached until a run changes
    # the same run again, later, now with a failing assertion: the run changed, not a second run
    post(client, world, "maintainer:retail", dbt_tests(world, run_id=run_id, unique=False, at="2026-11-20T10:05:00Z"))
    (after,) = lineage_runs(world, contract=contract)
    assert after["result"] == "failed" and after["id"] > before["id"]
    with world.registry() as registry:
        incidents.process_test_runs(registry)
        (opened,) = incidents.list_incidents(registry, state="unresolved", contract=contract).items
        assert governance.adherence(registry, since)["retail"].rate == 0.0
    assert opened["check"] == "openlineage.unique_orders_order_id"
    # re-deriving both events (a reindex) gives the same evidence: nothing changes, not even the id
    with world.registry() as registry:
        assert reindex(registry, reason="test", by="tests") is not None
        derive_pending(registry)
    assert [(r["id"], r["result"]) for r in lineage_runs(world, contract=contract)] == [(after["id"], "failed")]


def test_another_domains_maintainer_gives_no_test_evidence_but_a_sender_mismatch(
    client: TestClient, world: World
) -> None:
    post(client, world, "maintainer:marketing", dbt_tests(world, unique=False))
    assert lineage_runs(world) == []
    with world.registry() as registry:
        findings = movements.governance_flags(registry)
    mismatches = [f for f in findings if f.flag == "sender-mismatch"]
    assert mismatches and any("reported as tested by ci-marketing" in f.detail for f in mismatches)
    with world.registry() as registry, registry.read() as session:
        (port,) = port_flags(session)
    assert (port.product, port.port, port.flag) == ("retail.sales", "orders", "sender-mismatch")
    with world.registry() as registry:
        world.tokens["dbt-shared"] = create_token(registry, OPERATOR, role="lineage-writer", name="dbt-shared").token
    post(client, world, "dbt-shared", dbt_tests(world, unique=False))
    (run,) = lineage_runs(world)
    assert run["result"] == "failed" and run["recordedBy"].startswith("dbt-shared (lineage-writer")


def test_the_engine_of_lineage_results_cannot_be_published(client: TestClient, world: World) -> None:
    contract = contract_of(world, ORDERS)
    body = {"runs": [{"contract": {"id": contract, "version": "1.0.0"}, "engine": "openlineage", "result": "passed",
                      "startedAt": "2026-11-20T10:00:00Z"}]}  # fmt: skip
    answer = client.post("/api/v1/test-runs", json=body, headers=world.headers("admin"))
    assert answer.status_code in (400, 422) and "openlineage" in answer.text
