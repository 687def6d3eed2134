"""``/migrations``: deprecated ports and the move of their consumers to the successor (issue 10)."""

from __future__ import annotations

from meshplane.service import migrations
from meshplane.web.core import Html, View, get


def migration_list(view: View) -> Html:
    """Every open migration (oldest sunset first), optionally of one provider ``domain``."""
    domain = view.query("domain")
    found = migrations.list_migrations(view.api.registry, domain=domain)
    return Html("migrations.html", {"title": "Migrations", "items": found, "domain": domain})


routes = [get("/migrations", migration_list)]
