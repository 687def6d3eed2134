"""Governance flags of data movements, each raised by the case it names and not by its neighbour, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from test_receiver_support import OPERATOR, REPO, World, build_world, ds, run_event, world_for

from meshplane.api import create_app
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


def test_a_cross_domain_read_needs_an_active_agreement(world: World) -> None:
    send(world, job(world, "airflow-logistics/shipments", [ORDERS], "logistics.shipments/shipments"))
    flow = flows(world)[("retail.sales", "logistics.shipments", "orders")]
    assert (flow.agreement, flow.flags) == ("none", ["no-agreement"])
    with world.registry() as registry:
        view = agreements.request_agreement(
            registry, OPERATOR, consumer="logistics.shipments", provider="retail.sales", port="orders",
            purpose="shipping",
        )  # fmt: skip
        assert flows(world)[("retail.sales", "logistics.shipments", "orders")].agreement == "requested"
        agreements.decide_agreement(registry, OPERATOR, view.id, approve=True, reason="ok")
        covered = flows(world)[("retail.sales", "logistics.shipments", "orders")]
        assert (covered.agreement, covered.flags) == ("active", [])
        agreements.revoke_agreement(registry, OPERATOR, view.id, reason="ended")
    revoked = flows(world)[("retail.sales", "logistics.shipments", "orders")]
    assert (revoked.agreement, revoked.flags) == ("revoked", ["no-agreement"])


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
