"""``/products/{id}``: a product — purpose, team, ports and contracts, tests, consumers, lineage, request access."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from meshplane.diagnostics import MeshplaneError
from meshplane.errors import NotFound
from meshplane.service import agreements, catalog, movements, testruns
from meshplane.web import shapes
from meshplane.web.core import Html, View, get, post, redirect


def _port_view(view: View, product_id: str, port: dict[str, Any]) -> dict[str, Any]:
    out = dict(port)
    contract_id = port.get("contractId")
    out["consumers"] = catalog.get_port(view.api.registry, product_id, port["name"])["consumers"]
    if not contract_id:
        return out
    document = catalog.get_contract_version(view.api.registry, contract_id, port["version"])["document"]
    runs = testruns.list_runs(view.api.registry, contract=contract_id, limit=30).items
    latest = testruns.get_run(view.api.registry, runs[0]["id"]) if runs else None
    return out | {
        "columns": shapes.columns(document),
        "rules": shapes.quality_rules(document),
        "sla": shapes.freshness_sla(document),
        "runs": runs,
        "chart": shapes.run_bars(runs),
        "latest": latest,
    }


def _my_products(view: View) -> list[str]:
    """Products the visitor may request access for (its domain's; every product for admins)."""
    principal = view.principal
    if principal.is_admin:
        domain = None
    elif principal.domain and principal.may_maintain(principal.domain):
        domain = principal.domain
    else:
        return []
    return [entry.id for entry in catalog.catalog_index(view.api.registry).candidates(domain)]  # the read model


def product(view: View) -> Html:
    """The product page."""
    product_id = view.request.path_params["product_id"]
    found = view.shown(catalog.get_product(view.api.registry, product_id))
    descriptor = found.get("descriptor") or {}
    description = descriptor.get("description") if isinstance(descriptor.get("description"), dict) else {}
    ports = [_port_view(view, product_id, p) for p in found["outputPorts"] if not p.get("retiredAt")]
    agreed = agreements.list_agreements(view.api.registry, provider=product_id, limit=200).items
    consuming = agreements.list_agreements(view.api.registry, consumer=product_id, limit=200).items
    try:
        depth = min(5, max(1, int(view.query("depth") or 2)))
        edges = list(movements.lineage_graph(view.api.registry, product_id, depth=depth).edges)
    except (NotFound, ValueError):
        edges = []
    return Html(
        "product.html",
        {
            "title": found.get("name") or product_id,
            "product": found,
            "description": description or {},
            "support": [s for s in descriptor.get("support") or [] if isinstance(s, dict)],
            "ports": ports,
            "agreements": agreed,
            "consuming": consuming,
            "edges": edges,
            "mine": [p for p in _my_products(view) if p != product_id],
            "notice": view.query("notice"),
        },
    )


def request_access(view: View) -> Response:
    """Create a usage agreement (the API's use case: the consumer's maintainer, purpose required)."""
    product_id = view.request.path_params["product_id"]
    port = view.field("port")
    if not port:
        raise MeshplaneError("choose the output port to request")
    made = agreements.request_agreement(
        view.api.registry,
        view.principal,
        consumer=view.field("consumer"),
        provider=product_id,
        port=port,
        purpose=view.field("purpose"),
    )
    return redirect(f"/products/{product_id}?notice=agreement+{made.id}+{made.state.value}")


routes = [
    get("/products/{product_id}", product),
    post("/products/{product_id}/request-access", request_access),
]
