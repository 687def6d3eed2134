"""The blast radius of an incident: transitive, across domains, column-aware through column lineage.

customer360 reads ``customers.segment`` and retail sales reads ``customer_id`` (and filters on
``country_code``), as their jobs' OpenLineage ``columnLineage`` says; campaign performance has no
column lineage. A failing check on ``segment`` hits customer360 and campaign performance, not retail
sales (nor what is downstream of sales); one on ``customer_id`` hits retail sales, what reads sales,
and campaign performance, not customer360. SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from test_lineage_service import _column_lineage, applied  # noqa: F401  (the fixture)

from meshplane.registry import Registry, store_test_run
from meshplane.service import incidents

CUSTOMERS = "customer.profiles.customers"


def _incident(registry: Registry, prop: str) -> dict[str, Any]:
    run = {
        "contract": {"id": CUSTOMERS, "version": "1.0.0"}, "server": "lake", "engine": "duckdb", "result": "failed",
        "startedAt": "2026-11-20T10:00:00+00:00",
        "checks": [{"id": f"customers.{prop}.required", "kind": "required", "object": "customers",
                    "property": prop, "status": "failed", "observed": 3, "message": f"3 null {prop}"}],
    }  # fmt: skip
    store_test_run(registry, run, actor="ci")
    incidents.process_test_runs(registry)
    page = incidents.list_incidents(registry, contract=CUSTOMERS, state="open")
    incident = next(i for i in page.items if i["check"] == f"customers.{prop}.required")
    return incidents.get_incident(registry, int(incident["id"]))


def test_the_blast_radius_follows_column_lineage(applied: Registry) -> None:  # noqa: F811
    before = {c["product"] for c in _incident(applied, "email")["blastRadius"]}
    assert {"customer.customer360", "retail.sales", "marketing.campaign_performance"} <= before  # no lineage yet
    _column_lineage(applied)

    segment = {c["product"]: c for c in _incident(applied, "segment")["blastRadius"]}
    assert "retail.sales" not in segment  # it reads customer_id and country_code only
    assert segment["customer.customer360"]["usage"] == "affected"
    assert segment["customer.customer360"]["knownBy"] == ["inputPort", "lineage"]
    assert segment["marketing.campaign_performance"]["knownBy"] == ["inputPort"]  # no column lineage: kept
    assert segment["customer.customer360"]["team"]
    assert all(c["domain"] and c["path"][0] == "customer.profiles" for c in segment.values())

    customer_id = {c["product"]: c for c in _incident(applied, "customer_id")["blastRadius"]}
    assert {"retail.sales", "marketing.campaign_performance"} <= set(customer_id)
    assert "customer.customer360" not in customer_id  # it reads segment only
    transitive = [c for c in customer_id.values() if c["depth"] > 1]
    assert transitive, "consumers of the consumers are listed"
    assert all(c["path"][1] in customer_id for c in transitive)  # through an affected direct consumer
    through_sales = {c["product"] for c in transitive if c["path"][1] == "retail.sales"}
    assert through_sales and not through_sales & set(segment)  # not hit through sales when sales is not
