"""Page modules, one per page of the cockpit; each exposes ``routes`` (a list of Starlette routes).

`mount_web` includes every module of this package in name order, so a new page is one new module
here (with its template under ``web/templates/``), as `meshplane.api.routes` does for the API.
"""

from __future__ import annotations

import importlib
import pkgutil

from starlette.routing import BaseRoute


def discover_pages() -> list[BaseRoute]:
    """The routes of every page module, in module-name order."""
    out: list[BaseRoute] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        routes = getattr(module, "routes", None)
        if not isinstance(routes, list) or not all(isinstance(r, BaseRoute) for r in routes):
            raise TypeError(f"{module.__name__} has no `routes` (a list of Starlette routes)")
        out += routes
    return out


__all__ = ["discover_pages"]
