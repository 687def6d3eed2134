"""Governance flags of data movements, each raised by the case it names and not by its neighbour, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
import shutil
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from test_receiver_support import OPERATOR, PRODUCER, REPO, World, build_world, ds, run_event, world_for

from meshplane.api import create_app
from meshplane.registry import Registry
from meshplane.service import agreements, movements
from meshplane.service import lineage as service
from meshplane.service.gitops import apply_mesh
from meshplane.settings import Settings

ORDERS = "retail.sales/orders"
DOC = (REPO / "docs" / "lineage.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> World:
    folder = tmp_path_factory.mktemp("flags")
    return build_world(folder, f"sqlite:///{folder / 'template.db'}")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path: Path, template: World) -> World:
    return world_for(request.param, request, tmp_path, template)


def send(world: World, *events: dict[str, Any]) -> None:
    with world.registry() as registry:
        outcome = service.receive_batch(registry, json.dumps(list(events)), OPERATOR)
        service.derive_pending(registry)  # what the server's worker does
    assert outcome.count(service.IngestStatus.FAILED) == 0, outcome.to_dict()


def flows(world: World) -> dict[tuple[str | None, str | None, str | None], movements.Flow]:
    with world.registry() as registry:
        return {(f.from_product, f.to_product, f.port): f for f in movements.movements(registry).flows}


def job(world: World, name: str, reads: list[str], writes: str | None, **options: Any) -> dict[str, Any]:
    """A run of job `name` (``namespace/name``) reading ports (or lake paths) and writing one."""

    def where(target: str) -> str:
        return world.path(target) if target in world.ports else target

    outputs = [ds("file", where(writes) + "/part-0.parquet", output=True, **options)] if writes else []
    return run_event(name, inputs=[ds("file", where(r), rows=10) for r in reads], outputs=outputs)


# --- no agreement -----------------------------------------------------------------------------------------


SHIPMENTS = "logistics.shipments/shipments"
READ = ("retail.sales", "logistics.shipments", "orders")


def read_orders_at(world: World, at: str) -> dict[str, Any]:
    """Logistics' shipments job reading retail's orders at `at`."""
    return run_event(
        "airflow-logistics/shipments",
        at=at,
        inputs=[ds("file", world.path(ORDERS), rows=10)],
        outputs=[ds("file", world.path(SHIPMENTS, "part-0.parquet"), output=True)],
    )


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def approve(registry: Registry, at: str) -> int:
    """Logistics asks for retail's orders and retail approves, at `at`; the agreement id."""
    view = agreements.request_agreement(
        registry, OPERATOR, consumer="logistics.shipments", provider="retail.sales", port="orders",
        purpose="shipping", now=moment(at),
    )  # fmt: skip
    agreements.decide_agreement(registry, OPERATOR, view.id, approve=True, reason="ok", now=moment(at))
    return view.id


def coverage(flow: movements.Flow) -> tuple[str, int | None, int | None, list[str]]:
    return flow.agreement, flow.runs_covered, flow.runs_not_covered, flow.flags


def test_a_cross_domain_read_needs_an_agreement_active_when_it_read(world: World) -> None:
    send(world, read_orders_at(world, "2026-11-18T10:00:00Z"))
    assert coverage(flows(world)[READ]) == ("none", 0, 1, ["no-agreement"])
    with world.registry() as registry:
        view = agreements.request_agreement(
            registry, OPERATOR, consumer="logistics.shipments", provider="retail.sales", port="orders",
            purpose="shipping", now=moment("2026-11-19T08:00:00Z"),
        )  # fmt: skip
    assert coverage(flows(world)[READ]) == ("requested", 0, 1, ["no-agreement"])
    with world.registry() as registry:
        agreements.decide_agreement(
            registry, OPERATOR, view.id, approve=True, reason="ok", now=moment("2026-11-19T09:00:00Z")
        )
    # a later agreement never covers an earlier read
    assert coverage(flows(world)[READ]) == ("active", 0, 1, ["no-agreement"])
    send(world, read_orders_at(world, "2026-11-19T10:00:00Z"))
    assert coverage(flows(world)[READ]) == ("active", 1, 1, ["no-agreement"])
    with world.registry() as registry:
        by_day = {f.day: f for f in movements.movements(registry, by_day=True).flows}
    assert coverage(by_day["2026-11-19"]) == ("active", 1, 0, [])  # that day's read was covered
    assert coverage(by_day["2026-11-18"]) == ("active", 0, 1, ["no-agreement"])


def test_revoking_never_rewrites_the_past_and_a_new_approval_covers_only_later_reads(world: World) -> None:
    with world.registry() as registry:
        first = approve(registry, "2026-11-19T09:00:00Z")
    send(world, read_orders_at(world, "2026-11-19T10:00:00Z"))
    with world.registry() as registry:
        agreements.revoke_agreement(registry, OPERATOR, first, reason="ended", now=moment("2026-11-20T09:00:00Z"))
    # the read made under the agreement stays covered after the revocation
    assert coverage(flows(world)[READ]) == ("revoked", 1, 0, [])
    send(world, read_orders_at(world, "2026-11-20T10:00:00Z"))
    assert coverage(flows(world)[READ]) == ("revoked", 1, 1, ["no-agreement"])
    with world.registry() as registry:
        approve(registry, "2026-11-21T09:00:00Z")  # re-approved: a new agreement
    send(world, read_orders_at(world, "2026-11-21T10:00:00Z"))
    found = flows(world)[READ]
    assert coverage(found) == ("active", 2, 1, ["no-agreement"])  # the read of the 20th stays uncovered
    with world.registry() as registry:
        (finding,) = [f for f in movements.governance_flags(registry) if f.flag == "no-agreement"]
    assert finding.detail.startswith("1 of 3 run(s) read retail.sales/orders when no agreement")


def test_movements_as_of_a_past_day(world: World) -> None:
    with world.registry() as registry:
        first = approve(registry, "2026-11-19T09:00:00Z")
    send(world, read_orders_at(world, "2026-11-18T10:00:00Z"), read_orders_at(world, "2026-11-19T10:00:00Z"))
    with world.registry() as registry:
        agreements.revoke_agreement(registry, OPERATOR, first, reason="ended", now=moment("2026-11-20T09:00:00Z"))
    send(world, read_orders_at(world, "2026-11-20T10:00:00Z"))

    def as_of(day: str) -> movements.Flow | None:
        with world.registry() as registry:
            report = movements.movements(registry, as_of=date.fromisoformat(day))
        found = [f for f in report.flows if (f.from_product, f.to_product, f.port) == READ]
        return found[0] if found else None

    assert as_of("2026-11-17") is None  # nothing was read yet
    assert coverage(as_of("2026-11-18")) == ("none", 0, 1, ["no-agreement"])  # type: ignore[arg-type]
    assert coverage(as_of("2026-11-19")) == ("active", 1, 1, ["no-agreement"])  # type: ignore[arg-type]
    assert coverage(as_of("2026-11-20")) == ("revoked", 1, 2, ["no-agreement"])  # type: ignore[arg-type]
    with world.registry() as registry, TestClient(create_app(registry, settings=Settings())) as client:
        answer = client.get("/api/v1/lineage/movements", params={"asOf": "2026-11-19"}, headers=world.headers("reader"))
        flags = client.get("/api/v1/lineage/flags", params={"asOf": "2026-11-17"}, headers=world.headers("reader"))
        bad = client.get("/api/v1/lineage/movements", params={"asOf": "yesterday"}, headers=world.headers("reader"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["asOf"] == "2026-11-19"
    (flow,) = [f for f in body["flows"] if f["toProduct"] == "logistics.shipments"]
    assert (flow["agreement"], flow["runs"], flow["runsCovered"], flow["runsNotCovered"]) == ("active", 2, 1, 1)
    assert flags.json()["items"] == [] and flags.json()["asOf"] == "2026-11-17"
    assert bad.status_code in (400, 422), bad.text


def test_a_read_inside_one_domain_needs_no_agreement(world: World) -> None:
    send(
        world, job(world, "airflow-finance/revenue", ["finance.ledger/ledger_entries"], "finance.revenue/daily_revenue")
    )
    flow = flows(world)[("finance.ledger", "finance.revenue", "ledger_entries")]
    assert (flow.agreement, flow.declared, flow.flags) == ("not-required", True, [])


# --- undeclared input -------------------------------------------------------------------------------------


def test_a_read_not_declared_as_an_input_port_is_flagged(world: World) -> None:
    send(
        world,
        job(world, "airflow-finance/revenue", ["marketing.campaigns/campaigns"], "finance.revenue/daily_revenue"),
        job(world, "airflow-finance/ledger", [ORDERS], "finance.ledger/ledger_entries"),
        job(world, "airflow-finance/adhoc", [ORDERS], None),
    )
    found = flows(world)
    undeclared = found[("marketing.campaigns", "finance.revenue", "campaigns")]
    assert not undeclared.declared and undeclared.flags == ["no-agreement", "undeclared-input"]
    declared = found[("retail.sales", "finance.ledger", "orders")]
    assert declared.declared and "undeclared-input" not in declared.flags
    adhoc = found[("retail.sales", None, "orders")]  # a job writing no product cannot have declared anything
    assert not adhoc.declared and "undeclared-input" in adhoc.flags


# --- deprecated contract ----------------------------------------------------------------------------------


def test_a_read_of_a_deprecated_contract_version_is_flagged(world: World, tmp_path: Path) -> None:
    send(world, job(world, "airflow-finance/ledger", [ORDERS], "finance.ledger/ledger_entries"))
    assert "deprecated-contract" not in flows(world)[("retail.sales", "finance.ledger", "orders")].flags
    mesh = tmp_path / "deprecated"
    shutil.copytree(world.mesh, mesh)
    config = mesh / "mesh.yaml"  # the same lake as before
    config.write_text(config.read_text(encoding="utf-8").replace("root: lake", f"root: {world.lake}"), encoding="utf-8")
    contract = mesh / "domains/retail/products/sales/contracts/orders.odcs.yaml"
    text = contract.read_text(encoding="utf-8").replace(
        "version: 1.2.0\nstatus: active", "version: 1.3.0\nstatus: deprecated"
    )
    contract.write_text(text, encoding="utf-8")
    descriptor = mesh / "domains/retail/products/sales/product.odps.yaml"
    descriptor.write_text(
        descriptor.read_text(encoding="utf-8").replace(
            "    version: 1.2.0\n    contractId: retail.sales.orders",
            "    version: 1.3.0\n    contractId: retail.sales.orders",
        ),
        encoding="utf-8",
    )
    with world.registry() as registry:
        apply_mesh(mesh, registry=registry, actor="tests")
    later = job(world, "airflow-finance/ledger-2", [ORDERS], "finance.ledger/ledger_entries")
    later["eventTime"] = "2026-11-21T10:00:00Z"
    send(world, later)
    flagged = {k: f for k, f in flows(world).items() if "deprecated-contract" in f.flags}
    assert list(flagged) == [("retail.sales", "finance.ledger", "orders")]
    assert flagged[("retail.sales", "finance.ledger", "orders")].contract_version == "1.3.0"


# --- foreign write ------------------------------------------------------------------------------------------


def test_a_write_into_another_domains_port_is_flagged(world: World) -> None:
    send(world, job(world, "airflow-marketing/fixup", ["marketing.campaigns/campaigns"], ORDERS))
    found = flows(world)
    write = found[(None, "retail.sales", "orders")]  # the writing job has no product of its own
    assert (write.kind, write.from_domain, write.to_domain, write.flags) == (
        "write", "marketing", "retail", ["foreign-write"],
    )  # fmt: skip
    send(world, job(world, "airflow-retail/own", [], ORDERS))
    assert [f for f in flows(world).values() if f.kind == "write"] == [write]


# --- unowned lake data ----------------------------------------------------------------------------------------


def test_lake_data_that_belongs_to_no_product_is_flagged(world: World) -> None:
    scratch = str(world.lake / "retail" / "scratch" / "tmp_orders.csv")
    export = str(world.lake / "marketing" / "exports")
    send(
        world,
        job(world, "airflow-marketing/export", [scratch, "/srv/elsewhere/file.csv"], export),
        job(
            world,
            "airflow-marketing/kpis",
            ["s3://partner-bucket/feed"],
            "marketing.campaign_performance/campaign_kpis",
        ),
    )
    with world.registry() as registry:
        found = list(movements.movements(registry).flows)
    (read,) = [f for f in found if f.kind == "read"]
    assert (read.from_product, read.to_domain, read.flags) == (None, "marketing", ["unowned-data"])
    assert read.datasets == {f"file#{scratch}"}
    (write,) = [f for f in found if f.kind == "write"]
    assert (write.from_domain, write.to_product, write.flags) == ("marketing", None, ["unowned-data"])
    assert write.datasets == {f"file#{export}"}
    assert len(found) == 2  # data outside the lake (a partner bucket, another folder) is no movement between domains
    with world.registry() as registry:
        details = [f.detail for f in movements.governance_flags(registry) if f.flag == "unowned-data"]
    assert any(scratch in d for d in details) and any(export in d for d in details)


# --- schema drift -------------------------------------------------------------------------------------------


CUSTOMERS = "customer.profiles/customers"
GOOD = [
    ("customer_id", "VARCHAR"), ("first_name", "VARCHAR"), ("last_name", "VARCHAR"), ("email", "VARCHAR"),
    ("phone", "VARCHAR"), ("birth_date", "DATE"), ("street_address", "VARCHAR"), ("city", "VARCHAR"),
    ("country_code", "VARCHAR"), ("segment", "VARCHAR"), ("created_at", "TIMESTAMP"), ("updated_at", "TIMESTAMP"),
]  # fmt: skip


def test_an_output_whose_schema_disagrees_with_its_contract_is_flagged(world: World) -> None:
    drifted = [c for c in GOOD if c[0] != "segment"] + [("loyalty_tier", "VARCHAR")]
    drifted = [(n, "BIGINT" if n == "birth_date" else t) for n, t in drifted]
    send(
        world,
        run_event("airflow-customer/refresh", at="2026-11-20T01:00:00Z",
                  outputs=[ds("file", world.path(CUSTOMERS, "p.parquet"), output=True, schema=drifted)]),
        job(world, "airflow-retail/sales", [CUSTOMERS], ORDERS),
    )  # fmt: skip
    flow = flows(world)[("customer.profiles", "retail.sales", "customers")]
    assert "schema-drift" in flow.flags
    with world.registry() as registry:
        (finding,) = [f for f in movements.governance_flags(registry) if f.flag == "schema-drift"]
    assert "missing segment" in finding.detail and "extra loyalty_tier" in finding.detail
    assert "type birth_date (contract date, data BIGINT)" in finding.detail
    # the next write agrees with the contract: the port's latest schema no longer drifts
    send(world, run_event("airflow-customer/refresh", at="2026-11-21T01:00:00Z",
                          outputs=[ds("file", world.path(CUSTOMERS, "q.parquet"), output=True, schema=GOOD)]))  # fmt: skip
    assert "schema-drift" not in flows(world)[("customer.profiles", "retail.sales", "customers")].flags


def test_drift_of_a_port_nobody_reads_is_still_listed(world: World) -> None:
    send(
        world,
        run_event(
            "airflow-customer/refresh", outputs=[ds("file", world.path(CUSTOMERS), output=True, schema=GOOD[:3])]
        ),
    )
    with world.registry() as registry:
        findings = movements.governance_flags(registry)
    assert [(f.flag, f.flow) for f in findings] == [("schema-drift", None)]
    assert findings[0].detail.startswith("customer.profiles/customers written by airflow-customer/refresh")


DBT = "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/integration/dbt"
SPARK = "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/integration/spark"


def customers_output(world: World, producer: str, fields: list[dict[str, str]], at: str) -> dict[str, Any]:
    """A run of customer's refresh job writing its port with a schema facet of `fields` (types optional)."""
    event = run_event(
        "airflow-customer/refresh",
        at=at,
        outputs=[
            {"namespace": "file", "name": world.path(CUSTOMERS, "p.parquet"), "facets": {"schema": {"fields": fields}}}
        ],
    )
    event["producer"] = producer
    return event


def port_drift(world: World) -> list[dict[str, str]]:
    with world.registry() as registry, registry.read() as session:
        return movements.latest_port_schemas(session)[("customer.profiles", "customers")].drift


def test_a_partial_facet_is_no_evidence_of_missing_columns(world: World) -> None:
    """dbt lists the documented columns only, untyped: no drift; the same subset from any producer without types
    is partial too."""
    documented = [{"name": "customer_id"}, {"name": "email"}]
    send(world, customers_output(world, DBT, documented, "2026-11-20T01:00:00Z"))
    assert port_drift(world) == []
    send(world, customers_output(world, PRODUCER, documented, "2026-11-20T02:00:00Z"))
    assert port_drift(world) == []
    with world.registry() as registry:
        assert [f.flag for f in movements.governance_flags(registry)] == []


def test_a_stated_column_of_another_type_is_drift_even_from_a_partial_facet(world: World) -> None:
    stated = [{"name": "customer_id", "type": "BIGINT"}, {"name": "email"}, {"name": "loyalty_tier"}]
    send(world, customers_output(world, DBT, stated, "2026-11-20T01:00:00Z"))
    assert [(d["kind"], d["column"]) for d in port_drift(world)] == [("extra", "loyalty_tier"), ("type", "customer_id")]


def test_a_complete_facet_missing_a_contract_column_is_drift(world: World) -> None:
    """Spark's facet describes the whole written dataset, with types: a contract column it lacks is missing."""
    whole = [{"name": n, "type": t} for n, t in GOOD if n != "segment"]
    send(world, customers_output(world, SPARK, whole, "2026-11-20T01:00:00Z"))
    assert [(d["kind"], d["column"]) for d in port_drift(world)] == [("missing", "segment")]
    send(world, customers_output(world, SPARK, [{"name": n, "type": t} for n, t in GOOD], "2026-11-20T02:00:00Z"))
    assert port_drift(world) == []


# --- listing -------------------------------------------------------------------------------------------------


def test_the_flags_endpoint_lists_findings_and_rules(world: World) -> None:
    send(world, job(world, "airflow-marketing/enrich", [ORDERS], "marketing.campaign_performance/campaign_kpis"))
    with world.registry() as registry, TestClient(create_app(registry, settings=Settings())) as client:
        body = client.get("/api/v1/lineage/flags", headers=world.headers("reader")).json()
        movement = client.get("/api/v1/lineage/movements", headers=world.headers("reader")).json()
    assert [i["flag"] for i in body["items"]] == ["no-agreement", "undeclared-input"]
    assert body["items"][0]["flow"]["toProduct"] == "marketing.campaign_performance"
    assert {r["flag"] for r in body["rules"]} == {f.value for f in movements.Flag}
    assert movement["flows"][0]["flags"] == ["no-agreement", "undeclared-input"]
    assert movement["matrix"][0]["flagged"] == 1


def test_every_flag_is_documented() -> None:
    table = DOC.split("| flag |", 1)[1].split("\n\n", 1)[0]
    documented = dict(re.findall(r"^\| `([a-z-]+)` \| (.+) \|$", table, re.MULTILINE))
    assert set(documented) == {f.value for f in movements.Flag}
    for flag, text in movements.FLAG_RULES.items():
        assert documented[flag.value].replace("`", "") == text, flag
