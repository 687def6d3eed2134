"""``/map``: the mesh map — domains and products as a graph, observed movements as edges, flags marked.

The layout is computed here (domains on a circle, each domain's products on a small circle around
it) and drawn as inline SVG: no script, no layout library. Below it, the domain x domain matrix
and the flows of the period.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from meshplane.service import catalog, movements
from meshplane.service.flowruns import FlowSelector
from meshplane.web.core import Html, View, get

ALL = 100_000
SIZE = 720
MAX_PRODUCTS_DRAWN = 400


Point = tuple[float, float]


def _layout(domains: list[str], products: dict[str, list[str]]) -> tuple[list[dict[str, Any]], dict[str, Point]]:
    centre = SIZE / 2
    ring = SIZE / 2 - 110 if len(domains) > 1 else 0
    nodes: list[dict[str, Any]] = []
    where: dict[str, Point] = {}
    for i, domain in enumerate(domains):
        angle = 2 * math.pi * i / max(len(domains), 1) - math.pi / 2
        x, y = centre + ring * math.cos(angle), centre + ring * math.sin(angle)
        where[f"domain:{domain}"] = (x, y)
        nodes.append({"kind": "domain", "id": domain, "x": round(x, 1), "y": round(y, 1)})
        own = products.get(domain, [])
        for j, product in enumerate(own):
            a = 2 * math.pi * j / max(len(own), 1)
            px, py = x + 60 * math.cos(a), y + 60 * math.sin(a)
            where[product] = (px, py)
            nodes.append({"kind": "product", "id": product, "x": round(px, 1), "y": round(py, 1)})
    return nodes, where


def mesh_map(view: View) -> Html:
    """The map of the last ``days`` days (1-365, default 30), optionally around one ``domain``."""
    try:
        days = min(365, max(1, int(view.query("days") or 30)))
    except ValueError:
        days = 30
    focus = view.query("domain")
    since = datetime.now(UTC) - timedelta(days=days)
    registry = view.api.registry
    report = movements.movements(registry, since=since)
    domains = [d["id"] for d in catalog.list_domains(registry, limit=ALL).items]
    products: dict[str, list[str]] = {}
    for item in catalog.search_products(registry, catalog.ProductQuery(), limit=MAX_PRODUCTS_DRAWN).items:
        products.setdefault(item["domain"], []).append(item["id"])
    nodes, where = _layout(domains, products)
    flows = [f for f in report.flows if focus is None or focus in (f.from_domain, f.to_domain)]
    edges = []
    for flow in flows:
        start = where.get(flow.from_product or "") or where.get(f"domain:{flow.from_domain}")
        end = where.get(flow.to_product or "") or where.get(f"domain:{flow.to_domain}")
        if start is None or end is None or start == end:
            continue
        edges.append({"x1": round(start[0], 1), "y1": round(start[1], 1), "x2": round(end[0], 1),
                      "y2": round(end[1], 1), "flow": flow})  # fmt: skip
    matrix = [c for c in report.matrix() if focus is None or focus in (c["fromDomain"], c["toDomain"])]
    return Html(
        "meshmap.html",
        {
            "title": "Mesh map",
            "size": SIZE,
            "nodes": nodes,
            "edges": edges,
            "flows": flows,
            "matrix": matrix,
            "days": days,
            "focus": focus,
            "selector_of": FlowSelector.of,  # each edge, flow and matrix cell links to its runs (/flows)
        },
    )


routes = [get("/map", mesh_map)]
