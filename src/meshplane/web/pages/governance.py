"""``/governance``: the lake owner's dashboard — per domain, the three governance aspects on one page.

Product metadata (descriptions, owners, classification, days since the descriptor changed),
contract adherence (share of ports with a contract, pass rate per day over 30 days, freshness
breaches now) and inter-domain data movement (flagged flows, pending agreement requests).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from meshplane.access import AgreementState
from meshplane.service import agreements, catalog, movements, testruns
from meshplane.web import shapes
from meshplane.web.core import Html, View, get

ALL = 100_000
DAYS = 30
FRESHNESS_KINDS = ("sla.freshness", "sla.latency")


def _days_since(value: str | None, now: datetime) -> int | None:
    return (now - datetime.fromisoformat(value)).days if value else None


def _metadata(view: View, domain: str, now: datetime) -> dict[str, Any]:
    """Products of a domain without a purpose, without an owner team, columns without classification."""
    items = catalog.search_products(view.api.registry, catalog.ProductQuery(domain=domain), limit=ALL).items
    contracts = catalog.list_contracts(view.api.registry, domain=domain, limit=ALL).items
    no_purpose = [p["id"] for p in items if not p.get("purpose")]
    unclassified = 0
    columns = 0
    for c in contracts:
        if not c.get("latestVersion"):
            continue
        document = catalog.get_contract_version(view.api.registry, c["id"], c["latestVersion"])["document"]
        rows = shapes.columns(document)
        columns += len(rows)
        unclassified += sum(1 for r in rows if not r.classification)
    ages = []
    no_owner = []
    for p in items:
        detail = catalog.get_product(view.api.registry, p["id"])
        if not detail.get("team"):
            no_owner.append(p["id"])
        age = _days_since(detail.get("updatedAt"), now)
        if age is not None:
            ages.append(age)
    return {
        "no_purpose": no_purpose,
        "no_owner": no_owner,
        "columns": columns,
        "unclassified": unclassified,
        "oldest_descriptor_days": max(ages) if ages else None,
    }


def _adherence(view: View, domain: str, since: datetime) -> dict[str, Any]:
    """Pass rate per day of the domain's test runs, and contracts whose latest run breached freshness."""
    runs = testruns.list_runs(view.api.registry, domain=domain, since=since, limit=ALL).items
    per_day: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    latest: dict[str, dict[str, Any]] = {}
    for run in runs:
        day = run["startedAt"][:10]
        per_day[day][1] += 1
        if run["result"] in testruns.PASSING:
            per_day[day][0] += 1
        latest.setdefault(run["contract"]["id"], run)
    breaches = []
    for contract_id, run in latest.items():
        checks = testruns.get_run(view.api.registry, run["id"])["checks"]
        if any(c["kind"] in FRESHNESS_KINDS and c["status"] in ("failed", "error") for c in checks):
            breaches.append(contract_id)
    days = [
        {"day": day, "passed": passed, "runs": total, "rate": passed / total}
        for day, (passed, total) in sorted(per_day.items())
    ]
    passed_runs = sum(counts[0] for counts in per_day.values())
    rate = passed_runs / len(runs) if runs else None
    return {"days": days, "rate": rate, "runs": len(runs), "breaches": sorted(breaches)}


def governance(view: View) -> Html:
    """One row per domain, each figure linking to the list behind it."""
    now = datetime.now(UTC)
    since = now - timedelta(days=DAYS)
    registry = view.api.registry
    ports = catalog.list_ports(registry, limit=ALL).items
    flags = movements.governance_flags(registry, since=since)
    pending = agreements.list_agreements(registry, state=AgreementState.REQUESTED, limit=ALL).items
    rows = []
    for domain in catalog.list_domains(registry, limit=ALL).items:
        name = domain["id"]
        own = [p for p in ports if p["domain"] == name]
        flagged = [
            f
            for f in flags
            if (f.flow is not None and name in (f.flow.from_domain, f.flow.to_domain))
            or (f.port is not None and f.flow is None and any(p["product"] == f.port.product for p in own))
        ]
        rows.append(
            {
                "domain": name,
                "products": domain["products"],
                "ports": len(own),
                "with_contract": sum(1 for p in own if p.get("contractId")),
                "adherence": _adherence(view, name, since),
                "flagged": len(flagged),
                "pending": sum(1 for a in pending if a.provider_domain == name),
                "metadata": _metadata(view, name, now),
            }
        )
    return Html("governance.html", {"title": "Governance", "rows": rows, "days": DAYS})


routes = [get("/governance", governance)]
