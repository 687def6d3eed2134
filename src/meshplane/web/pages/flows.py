"""``/flows``: the runs of a flow — what an edge of the mesh map, a row of its flow list and a cell of
its domain x domain matrix link to.

The flow is named by query parameters (`FlowSelector`): ``kind``, ``from_domain``, ``to_domain``,
``from_product``, ``to_product``, ``port`` (``-``: absent, e.g. lake data), over the last ``days``
days as on the map. Each matching flow is listed with its runs: time, job, rows, bytes, whether an
agreement covered the read, the run's flags. No flow: a 404 page.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from meshplane.diagnostics import MeshplaneError
from meshplane.errors import NotFound
from meshplane.service.flowruns import NONE, FlowSelector, flow_runs
from meshplane.web.core import Html, View, get

MAX_RUNS_SHOWN = 500
FIELDS = ("kind", "from_domain", "to_domain", "from_product", "to_product", "port")


def _days(view: View) -> int:
    try:
        return min(365, max(1, int(view.query("days") or 30)))
    except ValueError:
        return 30


def _named(value: str | None) -> str:
    return "(none)" if value in (None, NONE) else str(value)


def flow_run_list(view: View) -> Html:
    """The runs of the flows the query names, newest first (at most `MAX_RUNS_SHOWN` per flow)."""
    selector = FlowSelector(**{name: view.query(name) for name in FIELDS})
    if selector.empty:
        raise MeshplaneError("name a flow: from_product, to_product, port, from_domain or to_domain (links on /map)")
    days = _days(view)
    found = flow_runs(view.api.registry, selector, since=datetime.now(UTC) - timedelta(days=days))
    source = selector.from_product or selector.from_domain
    target = selector.to_product or selector.to_domain
    if not found:
        raise NotFound(f"no flow from {_named(source)} to {_named(target)} in the last {days} days")
    return Html(
        "flows.html",
        {
            "title": f"Runs of {_named(source)} → {_named(target)}",
            "source": _named(source),
            "target": _named(target),
            "found": found,
            "days": days,
            "limit": MAX_RUNS_SHOWN,
            "selector": selector,
        },
    )


routes = [get("/flows", flow_run_list)]
