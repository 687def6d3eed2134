"""``/agreements``: the inbox — requests waiting for the signed-in maintainer's domain, approve or reject."""

from __future__ import annotations

from starlette.responses import Response

from meshplane.access import AgreementState, Role
from meshplane.diagnostics import MeshplaneError
from meshplane.service import agreements
from meshplane.web.core import Html, View, get, post, redirect


def inbox(view: View) -> Html:
    """Requests of the visitor's domain (every domain for admins, or ``?domain=``), and recent decisions."""
    principal = view.principal
    domain = view.query("domain") or (principal.domain if principal.role is Role.MAINTAINER else None)
    registry = view.api.registry
    waiting = agreements.list_agreements(registry, state=AgreementState.REQUESTED, domain=domain, limit=200).items
    waiting = [a for a in waiting if domain is None or a.provider_domain == domain]
    recent = agreements.list_agreements(registry, domain=domain, limit=50).items
    history = {a.id: agreements.get_agreement(registry, a.id).history for a in recent}
    return Html(
        "agreements.html",
        {
            "title": "Agreements",
            "domain": domain,
            "waiting": [(a, principal.may_maintain(a.provider_domain)) for a in waiting],
            "recent": recent,
            "history": history,
            "notice": view.query("notice"),
        },
    )


def decide(view: View) -> Response:
    """Approve or reject a request (the API's use case: the provider's maintainer; a reason to reject)."""
    agreement_id = view.path_id("agreement_id", "agreement")
    action = view.field("action")
    if action not in ("approve", "reject"):
        raise MeshplaneError("the action is 'approve' or 'reject'")
    reason = view.field("reason") or None
    done = agreements.decide_agreement(
        view.api.registry, view.principal, agreement_id, approve=action == "approve", reason=reason
    )
    return redirect(f"/agreements?notice=agreement+{done.id}+{done.state.value}")


routes = [get("/agreements", inbox), post("/agreements/{agreement_id}/decide", decide)]
