"""Attribution bound to the sender: a maintainer's token sends runs of its own domain only, `lineage-writer`
tokens send for any domain, and evidence about a port comes from its own domain or a trusted sender.

Events go through the receiver route with real tokens, derivation runs as the worker runs it; SQLite and PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from test_receiver_support import DAY, OPERATOR, PRODUCER, World, build_world, ds, new_run_id, run_event, world_for

from meshplane.registry import lineage as store
from meshplane.service import movements
from meshplane.service.derivation import derive_pending
from meshplane.service.tokens import create_token


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> World:
    folder = tmp_path_factory.mktemp("senders")
    return build_world(folder, f"sqlite:///{folder / 'template.db'}")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path: Path, template: World) -> World:
    return world_for(request.param, request, tmp_path, template)


ORDERS = "retail.sales/orders"
CUSTOMERS = "customer.profiles/customers"
CAMPAIGNS = "marketing.campaigns/campaigns"


def post(client: TestClient, world: World, who: str, *events: dict[str, Any]) -> None:
    """Send events with `who`'s token and derive them (what the server's worker does)."""
    for event in events:
        answer = client.post("/api/v1/lineage", json=event, headers=world.headers(who))
        assert answer.status_code == 201, answer.text
    with world.registry() as registry:
        derive_pending(registry)


def token(world: World, role: str, name: str, domain: str | None = None) -> str:
    """A new token of the world (created by the operator, an admin), registered under `name`."""
    with world.registry() as registry:
        world.tokens[name] = create_token(registry, OPERATOR, role=role, domain=domain, name=name).token
    return name


def runs(world: World) -> dict[str, store.LineageRun]:
    """Every stored run by job name."""
    with world.registry() as registry, registry.read() as session:
        return {r.job_name: r for r in session.query(store.LineageRun).all()}


def flow_list(world: World) -> list[movements.Flow]:
    with world.registry() as registry:
        return list(movements.movements(registry).flows)


def writes_orders(world: World, job: str, *, schema: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    """A run of `job` reading marketing's campaigns and writing retail's orders port."""
    return run_event(
        job,
        inputs=[ds("file", world.path(CAMPAIGNS))],
        outputs=[ds("file", world.path(ORDERS, "p.parquet"), output=True, schema=schema)],
    )


def test_a_maintainers_run_of_its_own_domain_keeps_the_rule_that_says_why(client: TestClient, world: World) -> None:
    post(
        client,
        world,
        "maintainer:marketing",
        run_event("airflow-marketing/kpis", inputs=[ds("file", world.path(ORDERS))]),
    )
    run = runs(world)["kpis"]
    assert (run.domain, run.rule, run.sender_domain, run.mismatch) == ("marketing", "job-namespace", "marketing", None)
    assert run.received_by is not None and run.received_by.startswith("ci-marketing (maintainer of marketing, token ")
    (flow,) = flow_list(world)
    assert flow.to_domain == "marketing" and "sender-mismatch" not in flow.flags
    assert flow.to_dict()["receivedBy"] == [run.received_by]


def test_a_maintainer_sending_another_domains_job_gets_its_own_domain_and_a_mismatch(
    client: TestClient, world: World
) -> None:
    """Marketing's token posts a finance job writing retail's port: stored, attributed to marketing, flagged
    `sender-mismatch` naming both; the write is no `foreign-write` evidence."""
    post(client, world, "maintainer:marketing", writes_orders(world, "airflow-finance/close"))
    run = runs(world)["close"]
    assert (run.domain, run.rule) == ("marketing", "sender")
    assert run.mismatch is not None and "maintainer of marketing" in run.mismatch and "to finance" in run.mismatch
    (write,) = [f for f in flow_list(world) if f.kind == "write"]
    assert (write.from_domain, write.to_domain) == ("marketing", "retail")
    assert write.flags == ["sender-mismatch"]
    with world.registry() as registry:
        details = [f.detail for f in movements.governance_flags(registry) if f.flag == "sender-mismatch"]
    assert any("finance" in d and "marketing" in d for d in details), details
    assert any("retail.sales/orders (domain retail)" in d for d in details), details


def test_another_domains_maintainer_cannot_rewrite_a_stored_run_or_job(client: TestClient, world: World) -> None:
    run_id = new_run_id()
    written = [ds("file", world.path(ORDERS, "p.parquet"), rows=5000, size=800_000, output=True)]
    post(client, world, "maintainer:retail", run_event("airflow-retail/orders.load", run_id=run_id, outputs=written))
    forged = [ds("file", world.path(ORDERS, "p.parquet"), rows=1, size=1, output=True)]
    post(client, world, "maintainer:finance", run_event("airflow-retail/orders.load", run_id=run_id,
                                                        event_type="FAIL", at=f"{DAY}T11:00:00Z", outputs=forged))  # fmt: skip
    run = runs(world)["orders.load"]
    assert (run.domain, run.state, run.events) == ("retail", "COMPLETE", 1)
    assert run.mismatch is not None and "a maintainer of finance" in run.mismatch
    with world.registry() as registry, registry.read() as session:
        stats = session.query(store.RunDataset).filter_by(run_key=run.run_key, role="output").one()
    assert (stats.row_count, stats.byte_count) == (5000, 800_000)
    # a job's definition (JobEvent) of retail's cannot be taken over either
    job = {"eventTime": f"{DAY}T10:00:00Z", "producer": PRODUCER, "job": {"namespace": "airflow-retail", "name": "defs"},
           "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent", "inputs": [], "outputs": []}  # fmt: skip
    post(client, world, "maintainer:retail", job)
    post(client, world, "maintainer:finance", job | {"eventTime": f"{DAY}T12:00:00Z"})
    assert runs(world)["defs"].domain == "retail"


def test_a_run_another_domain_squatted_against_the_rules_is_reclaimed_by_its_domain(
    client: TestClient, world: World
) -> None:
    run_id = new_run_id()  # known in advance (deterministic run ids): finance sends first, for retail's job
    squat = [ds("file", world.path(ORDERS, "p.parquet"), rows=1, output=True)]
    post(client, world, "maintainer:finance", run_event("airflow-retail/orders.load", run_id=run_id, outputs=squat))
    assert runs(world)["orders.load"].domain == "finance"  # bound to its sender, with a mismatch
    real = [ds("file", world.path(ORDERS, "p.parquet"), rows=5000, output=True)]
    post(client, world, "maintainer:retail", run_event("airflow-retail/orders.load", run_id=run_id,
                                                       at=f"{DAY}T11:00:00Z", outputs=real))  # fmt: skip
    run = runs(world)["orders.load"]
    assert (run.domain, run.rule) == ("retail", "job-namespace")


def test_an_unattributable_job_from_a_maintainer_is_its_domains(client: TestClient, world: World) -> None:
    post(client, world, "maintainer:finance", run_event("adhoc/notebook", inputs=[ds("file", world.path(ORDERS))]))
    run = runs(world)["notebook"]
    assert (run.domain, run.rule, run.mismatch) == ("finance", "sender", None)
    (flow,) = flow_list(world)
    assert flow.to_domain == "finance" and "unattributed-job" not in flow.flags


def test_a_lineage_writer_sends_for_any_domain_attributed_by_the_rules(client: TestClient, world: World) -> None:
    runner = token(world, "lineage-writer", "airflow-shared")
    post(client, world, runner, writes_orders(world, "airflow-finance/close"))
    run = runs(world)["close"]
    assert (run.domain, run.rule, run.sender_domain, run.mismatch) == ("finance", "job-namespace", None, None)
    (write,) = [f for f in flow_list(world) if f.kind == "write"]
    assert (write.from_domain, write.to_domain, write.flags) == ("finance", "retail", ["foreign-write"])
    assert write.to_dict()["receivedBy"][0].startswith("airflow-shared (lineage-writer, token ")


def test_forged_drift_on_another_domains_port_is_a_mismatch_not_drift(client: TestClient, world: World) -> None:
    """Finance's token reports a schema of customer's port: no drift is recorded, a sender-mismatch is; the
    same schema from customer's own token is drift."""
    wrong = [("customer_id", "BIGINT")]
    forged = run_event(
        "airflow-finance/forge", outputs=[ds("file", world.path(CUSTOMERS, "x.parquet"), output=True, schema=wrong)]
    )
    post(client, world, "maintainer:finance", forged)
    with world.registry() as registry:
        with registry.read() as session:
            assert movements.latest_port_schemas(session) == {}
        findings = movements.governance_flags(registry)
    assert "schema-drift" not in {f.flag for f in findings}
    assert [f.flag for f in findings] == ["sender-mismatch"]
    assert "customer.profiles/customers (domain customer)" in findings[0].detail
    assert "maintainer of finance" in findings[0].detail
    owner = token(world, "maintainer", "ci-customer", "customer")
    own = run_event(
        "airflow-customer/refresh", outputs=[ds("file", world.path(CUSTOMERS, "y.parquet"), output=True, schema=wrong)]
    )
    post(client, world, owner, own)
    with world.registry() as registry:
        flags = {f.flag for f in movements.governance_flags(registry)}
    assert "schema-drift" in flags


def test_a_lineage_writer_may_report_drift_of_any_port(client: TestClient, world: World) -> None:
    runner = token(world, "lineage-writer", "spark-shared")
    event = run_event(
        "airflow-finance/forge",
        outputs=[ds("file", world.path(CUSTOMERS, "x.parquet"), output=True, schema=[("customer_id", "BIGINT")])],
    )
    post(client, world, runner, event)
    with world.registry() as registry:
        flags = [f.flag for f in movements.governance_flags(registry)]
    assert "schema-drift" in flags and "sender-mismatch" not in flags


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("/api/v1/agreements", {"consumer": "retail.sales", "provider": "customer.profiles", "port": "customers",
                                "purpose": "x"}),
        ("/api/v1/test-runs", {"runs": []}),
        ("/api/v1/apply", {"files": {"mesh.yaml": "apiVersion: meshplane/v1\nkind: Mesh\nname: x\n"}, "dryRun": True}),
    ],
)  # fmt: skip
def test_a_lineage_writer_changes_nothing_but_lineage(client: TestClient, world: World, route: str, body: Any) -> None:
    runner = token(world, "lineage-writer", "dbt-shared")
    answer = client.post(route, json=body, headers=world.headers(runner))
    assert answer.status_code == 403, answer.text
    assert client.get("/api/v1/products", headers=world.headers(runner)).status_code == 200


def test_a_lineage_writer_token_has_no_domain(world: World) -> None:
    with world.registry() as registry, pytest.raises(Exception, match="domain"):
        create_token(registry, OPERATOR, role="lineage-writer", domain="retail", name="x")


def test_column_usage_of_another_domains_product_is_no_evidence(client: TestClient, world: World) -> None:
    """Marketing's token claims that finance's ledger reads retail's order columns: no column usage is recorded;
    the same claim from finance's own token is."""
    lineage = {"amount": [("file", world.path(ORDERS), "amount")]}

    def claim() -> dict[str, Any]:
        return run_event(
            "airflow-finance/ledger",
            inputs=[ds("file", world.path(ORDERS))],
            outputs=[
                ds("file", world.path("finance.ledger/ledger_entries", "p.parquet"), output=True, lineage=lineage)
            ],
        )

    post(client, world, "maintainer:marketing", claim())
    with world.registry() as registry, registry.read() as session:
        assert store.column_usage_rows(session) == []
    post(client, world, "maintainer:finance", claim())
    with world.registry() as registry, registry.read() as session:
        usage = [(u.consumer_product, u.provider_product, u.field) for u in store.column_usage_rows(session)]
    assert usage == [("finance.ledger", "retail.sales", "amount")]
