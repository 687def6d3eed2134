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
    coverage = figures.port_coverage(registry)
    flags = movements.governance_flags(registry, since=since)
    pending = agreements.list_agreements(registry, state=AgreementState.REQUESTED, limit=ALL).items
    adherence = figures.adherence(registry, since)
    health = figures.metadata_health(registry, now)
    products_of: dict[str, set[str]] = {}
    for finding in flags:
        if finding.port is not None and finding.flow is None:
            owner = catalog.get_product(registry, finding.port.product)["domain"]
            products_of.setdefault(owner, set()).add(finding.port.product)
    rows = []
    for domain in catalog.list_domains(registry, limit=ALL).items:
        name = domain["id"]
        total, bound = coverage.get(name, (0, 0))
        flagged = [
            f
            for f in flags
            if (f.flow is not None and name in (f.flow.from_domain, f.flow.to_domain))
            or (f.port is not None and f.flow is None and f.port.product in products_of.get(name, ()))
        ]
        rows.append(
            {
                "domain": name,
                "products": domain["products"],
                "ports": total,
                "with_contract": bound,
                "adherence": adherence.get(name, figures.DomainAdherence()),
                "flagged": len(flagged),
                "pending": sum(1 for a in pending if a.provider_domain == name),
                "metadata": health.get(name, figures.MetadataHealth()),
            }
        )
    return Html("governance.html", {"title": "Governance", "rows": rows, "days": DAYS})


routes = [get("/governance", governance)]
