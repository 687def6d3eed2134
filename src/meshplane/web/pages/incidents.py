"""``/incidents``: incidents of failing checks (issue 12) — the list, one incident with its blast radius
and trail, acknowledge and resolve (the maintainers of its domain, or admins)."""

from __future__ import annotations

from starlette.responses import Response

from meshplane.service import incidents
from meshplane.web.core import Html, View, get, post, redirect

STATES = ("unresolved", "open", "acknowledged", "resolved")
"""The list's filter (the service refuses any other; tests/web holds these to the registry's tables)."""
REASONS = ("fixed", "false-positive", "expected", "other")
"""Why an incident is resolved (the service refuses any other)."""


def _id(view: View) -> int:
    return view.path_id("incident_id", "incident")


def incident_list(view: View) -> Html:
    """Unresolved incidents (``state``: unresolved, open, acknowledged, resolved), optionally of one ``domain``."""
    state = view.query("state") or "unresolved"
    domain = view.query("domain")
    page = incidents.list_incidents(view.api.registry, state=state, domain=domain, limit=200)
    return Html(
        "incidents.html",
        {
            "title": "Incidents",
            "items": page.items,
            "total": page.total,
            "state": state,
            "states": STATES,
            "domain": domain,
        },
    )


def incident(view: View) -> Html:
    """One incident: what failed, its blast radius, its trail, and the forms its domain's maintainers use."""
    found = incidents.get_incident(view.api.registry, _id(view))
    return Html(
        "incident.html",
        {
            "title": f"Incident {found['id']}",
            "incident": found,
            "may_act": view.principal.may_maintain(found["domain"]),
            "reasons": REASONS,
            "notice": view.query("notice"),
        },
    )


def acknowledge(view: View) -> Response:
    """Acknowledge an open incident (the service checks the domain)."""
    incident_id = _id(view)
    incidents.acknowledge(view.api.registry, view.principal, incident_id, view.field("note") or None)
    return redirect(f"/incidents/{incident_id}?notice=acknowledged")


def resolve(view: View) -> Response:
    """Resolve an incident with a reason (the service checks the domain and the reason)."""
    incident_id = _id(view)
    incidents.resolve(view.api.registry, view.principal, incident_id, view.field("reason"), view.field("note") or None)
    return redirect(f"/incidents/{incident_id}?notice=resolved")


routes = [
    get("/incidents", incident_list),
    get("/incidents/{incident_id}", incident),
    post("/incidents/{incident_id}/acknowledge", acknowledge),
    post("/incidents/{incident_id}/resolve", resolve),
]
