"""``/contracts/{id}``: a contract — every version, the diff between two, who reads which version."""

from __future__ import annotations

from typing import Any

from meshplane.service import catalog, migrations
from meshplane.web import shapes
from meshplane.web.core import Html, View, get


def _deprecates(descriptor: dict[str, Any], contract_id: str) -> bool:
    """True when the descriptor has a port of `contract_id` marked deprecated (a migration may be open)."""
    for port in descriptor.get("outputPorts") or []:
        if isinstance(port, dict) and port.get("contractId") == contract_id:
            for prop in port.get("customProperties") or []:
                if isinstance(prop, dict) and prop.get("property") == "deprecated" and prop.get("value") is True:
                    return True
    return False


def _migrations(view: View, found: dict[str, Any]) -> list[dict[str, Any]]:
    """The open migrations of the contract; computed only when its product deprecates one of its ports."""
    product = catalog.get_product(view.api.registry, found["product"]) if found.get("product") else {}
    if not _deprecates(product.get("descriptor") or {}, found["id"]):
        return []
    every = migrations.list_migrations(view.api.registry, domain=found["domain"])
    return [mig for mig in every if mig["contract"] == found["id"]]


def contract(view: View) -> Html:
    """The contract page (``?old=&new=`` picks the versions to compare; default: the last two)."""
    contract_id = view.request.path_params["contract_id"]
    found = catalog.get_contract(view.api.registry, contract_id)
    versions = [v["version"] for v in found["versions"]]
    shown = view.query("version") or found["latestVersion"] or (versions[-1] if versions else None)
    document: dict[str, Any] = {}
    if shown:
        document = catalog.get_contract_version(view.api.registry, contract_id, shown)["document"]
    old = view.query("old") or (versions[-2] if len(versions) > 1 else None)
    new = view.query("new") or (versions[-1] if versions else None)
    diff = None
    if old and new and old != new:
        diff = catalog.diff_contract_versions(view.api.registry, contract_id, old, new)
    return Html(
        "contract.html",
        {
            "title": contract_id,
            "contract": found,
            "versions": versions,
            "shown": shown,
            "columns": shapes.columns(document),
            "rules": shapes.quality_rules(document),
            "sla": shapes.freshness_sla(document),
            "old": old,
            "new": new,
            "diff": diff,
            "migrations": _migrations(view, found),
        },
    )


routes = [get("/contracts/{contract_id}", contract)]
