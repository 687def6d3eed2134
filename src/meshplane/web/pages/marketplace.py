"""``/``: the marketplace — search by text, tag, owner, domain, column and classification, with facets and cards."""

from __future__ import annotations

from collections import Counter
from typing import Any

from meshplane.service import catalog, governance
from meshplane.web.core import Html, View, get

PAGE_SIZE = 24
ALL = 100_000


def _cards(view: View, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The products of the page with their output ports and the latest test run of each port's contract."""
    ports = governance.output_ports_of(view.api.registry, [item["id"] for item in items])
    contracts = [p["contractId"] for own in ports.values() for p in own if p.get("contractId")]
    latest = governance.latest_results(view.api.registry, contracts)
    cards = []
    for item in items:
        own = ports[item["id"]]
        tests = [latest[p["contractId"]] for p in own if p.get("contractId") in latest]
        cards.append(item | {"ports": own, "tests": [{"lastResult": r, "lastRunAt": at} for r, at in tests]})
    return cards


def marketplace(view: View) -> Html:
    """Products matching the query, the facets of all matches, one page of cards."""
    query = catalog.ProductQuery(
        text=view.query("q"),
        tag=view.query("tag"),
        domain=view.query("domain"),
        owner=view.query("owner"),
        column=view.query("column"),
        classification=view.query("classification", limit=100),
    )
    found = catalog.search_products(view.api.registry, query, limit=ALL)
    try:
        start = max(0, int(view.query("offset") or 0))
    except ValueError:
        start = 0
    domains = Counter(item["domain"] for item in found.items)
    tags = Counter(tag for item in found.items for tag in item["tags"])
    levels = Counter(level for item in found.items for level in item.get("classifications", ()))
    kept = {
        "q": query.text,
        "tag": query.tag,
        "domain": query.domain,
        "owner": query.owner,
        "column": query.column,
        "classification": query.classification,
    }
    cards = _cards(view, found.items[start : start + PAGE_SIZE])
    return Html(
        "marketplace.html",
        {
            "title": "Marketplace",
            "query": query,
            "total": found.total,
            "cards": cards,
            "offset": start,
            "page_size": PAGE_SIZE,
            "domains": domains.most_common(),
            "tags": tags.most_common(20),
            "classifications": sorted(levels.items()),
            "kept": kept,
        },
    )


routes = [get("/", marketplace)]
