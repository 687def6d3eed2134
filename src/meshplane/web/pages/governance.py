"""``/governance``: the lake owner's dashboard — per domain, the three governance aspects on one page.

Product metadata (descriptions, owners, classification, days since the descriptor changed),
contract adherence (share of ports with a contract, pass rate per day over 30 days, freshness
breaches now) and inter-domain data movement (flagged flows, pending agreement requests).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from meshplane.access import AgreementState
from meshplane.service import agreements, catalog, movements
from meshplane.service import governance as figures
from meshplane.web.core import Html, View, get

ALL = 100_000
DAYS = 30


def governance(view: View) -> Html:
    """One row per domain, each figure linking to the list behind it."""
    now = datetime.now(UTC)
    since = now - timedelta(days=DAYS)
    registry = view.api.registry
    ports = catalog.list_ports(registry, limit=ALL).items
    flags = movements.governance_flags(registry, since=since)
    pending = agreements.list_agreements(registry, state=AgreementState.REQUESTED, limit=ALL).items
    adherence = figures.adherence(registry, since)
    health = figures.metadata_health(registry, now)
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
                "adherence": adherence.get(name, figures.DomainAdherence()),
                "flagged": len(flagged),
                "pending": sum(1 for a in pending if a.provider_domain == name),
                "metadata": health.get(name, figures.MetadataHealth()),
            }
        )
    return Html("governance.html", {"title": "Governance", "rows": rows, "days": DAYS})


routes = [get("/governance", governance)]
