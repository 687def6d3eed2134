"""``/``: the marketplace — search by text, tag, owner, domain and column, with facets and cards."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from meshplane.service import catalog, testruns
from meshplane.web.core import Html, View, get

PAGE_SIZE = 24
ALL = 100_000


def product_badges(view: View) -> tuple[dict[str, list[dict[str, Any]]], dict[str, dict[str, Any]]]:
    """Output ports per product, and the latest test result per contract."""
    ports: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for port in catalog.list_ports(view.api.registry, limit=ALL).items:
        ports[port["product"]].append(port)
    results = {r["contract"]: r for r in testruns.pass_rates(view.api.registry, limit=ALL).items}
    return ports, results


def marketplace(view: View) -> Html:
    """Products matching the query, the facets of all matches, one page of cards."""
    query = catalog.ProductQuery(
        text=view.query("q"),
        tag=view.query("tag"),
        domain=view.query("domain"),
        owner=view.query("owner"),
        column=view.query("column"),
    )
    found = catalog.search_products(view.api.registry, query, limit=ALL)
    try:
        start = max(0, int(view.query("offset") or 0))
    except ValueError:
        start = 0
    domains = Counter(item["domain"] for item in found.items)
    tags = Counter(tag for item in found.items for tag in item["tags"])
    ports, results = product_badges(view)
    cards = []
    for item in found.items[start : start + PAGE_SIZE]:
        own = ports.get(item["id"], [])
        tested = [results[p["contractId"]] for p in own if p.get("contractId") in results]
        cards.append(item | {"ports": own, "tests": tested})
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
        },
    )


routes = [get("/", marketplace)]
