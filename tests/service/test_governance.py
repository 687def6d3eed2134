"""The governance figures of the cockpit's dashboard, on SQLite and PostgreSQL: runs per domain and day,
freshness breaches of the latest run only, the latest result per contract, metadata health."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from meshplane.access import Principal
from meshplane.registry import Registry
from meshplane.registry import models as m
from meshplane.service import catalog, governance
from meshplane.service.testruns import record_runs

OPERATOR = Principal.local_admin("governance-tests")
NOW = datetime.now(UTC).replace(microsecond=0)


def run(result: str, started: datetime, *, fresh: bool = True, contract: str = "retail.sales.orders") -> dict[str, Any]:
    return {
        "contract": {"id": contract, "version": "1.2.0" if contract == "retail.sales.orders" else "1.0.0"},
        "server": "lake",
        "engine": "duckdb",
        "result": result,
        "startedAt": started.isoformat(),
        "finishedAt": (started + timedelta(seconds=1)).isoformat(),
        "checks": [
            {"id": "orders.freshness", "kind": "sla.freshness", "object": "orders", "property": None,
             "status": "passed" if fresh else "failed", "severity": "error", "observed": 1, "threshold": "4 h",
             "message": "fresh" if fresh else "stale"},
        ],
    }  # fmt: skip


def test_runs_per_day_rates_and_freshness_breaches_of_the_latest_run(mesh_registry: tuple[Path, Registry]) -> None:
    _, registry = mesh_registry
    old = NOW - timedelta(days=40)
    record_runs(
        registry,
        OPERATOR,
        [
            run("failed", old, fresh=False),  # before the period: not counted
            run("passed", NOW - timedelta(days=2)),
            run("failed", NOW - timedelta(days=2, hours=1)),
            run("failed", NOW - timedelta(hours=1), fresh=False),  # the latest: a breach now
        ],
    )
    figures = governance.adherence(registry, NOW - timedelta(days=30))
    retail = figures["retail"]
    assert retail.runs == 3
    assert retail.rate == 1 / 3
    assert sorted(retail.days.values()) == [[0, 1], [1, 2]]
    assert retail.breaches == ["retail.sales.orders"]
    assert "finance" not in figures
    record_runs(registry, OPERATOR, [run("passed", NOW - timedelta(minutes=5))])  # fresh again
    assert governance.adherence(registry, NOW - timedelta(days=30))["retail"].breaches == []
    latest = governance.latest_results(registry, ["retail.sales.orders", "finance.ledger.ledger_entries"])
    assert latest == {"retail.sales.orders": ("passed", latest["retail.sales.orders"][1])}
    assert datetime.fromisoformat(latest["retail.sales.orders"][1]).replace(tzinfo=UTC) == NOW - timedelta(minutes=5)
    assert governance.latest_results(registry, []) == {}


def test_metadata_health_counts_what_descriptors_and_contracts_lack(mesh_registry: tuple[Path, Registry]) -> None:
    _, registry = mesh_registry
    no_team = sa.update(m.Product).where(m.Product.id == "retail.catalog").values(team_id=None)
    registry.write(lambda session: session.execute(no_team))  # a product without an owner team
    health = governance.metadata_health(registry)
    assert set(health) == {"customer", "finance", "logistics", "marketing", "retail"}
    retail = health["retail"]
    assert (retail.no_purpose, retail.no_owner, retail.unclassified) == ([], ["retail.catalog"], 0)
    columns = [
        c
        for contract in catalog.list_contracts(registry, domain="retail").items
        for c in catalog.contract_columns(
            contract["id"],
            catalog.get_contract_version(registry, contract["id"], contract["latestVersion"])["document"],
        )
    ]
    assert retail.columns == len(columns)
    assert retail.oldest_descriptor_days == 0


def test_port_coverage_and_ports_of_products(mesh_registry: tuple[Path, Registry]) -> None:
    _, registry = mesh_registry
    coverage = governance.port_coverage(registry)
    every = catalog.list_ports(registry, limit=500).items
    for domain in {p["domain"] for p in every}:
        own = [p for p in every if p["domain"] == domain]
        assert coverage[domain] == (len(own), sum(1 for p in own if p["contractId"]))
    ports = governance.output_ports_of(registry, ["retail.sales", "no.such"])
    assert [p["name"] for p in ports["retail.sales"]] == sorted(
        p["name"] for p in every if p["product"] == "retail.sales"
    )
    assert ports["no.such"] == [] and governance.output_ports_of(registry, []) == {}
