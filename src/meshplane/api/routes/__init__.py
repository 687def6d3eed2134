"""Route modules, one per resource area; each exposes ``router`` (a FastAPI `APIRouter`).

`create_app` includes every module of this package, in name order, so a new resource area is one
new module here. Routers carry their own prefix (``/api/v1``) and depend on
`security.read_access`; mutating routes add ``**writes(Ownership(...))``. A module may also expose
``plain_routes`` (Starlette routes placed ahead of the FastAPI ones, e.g. the OpenLineage
receiver) with their OpenAPI operations in ``openapi_paths``.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter
from starlette.routing import BaseRoute


@dataclass
class Routes:
    """What the route modules declare: FastAPI routers, plain routes and the plain routes' OpenAPI paths."""

    routers: list[APIRouter] = field(default_factory=list)
    plain: list[BaseRoute] = field(default_factory=list)
    openapi_paths: dict[str, Any] = field(default_factory=dict)


def discover_routes() -> Routes:
    """The routes of every module in this package, in module-name order."""
    out = Routes()
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        router = getattr(module, "router", None)
        if not isinstance(router, APIRouter):
            raise TypeError(f"{module.__name__} has no `router` (an APIRouter)")
        out.routers.append(router)
        out.plain += getattr(module, "plain_routes", [])
        out.openapi_paths |= getattr(module, "openapi_paths", {})
    return out


__all__ = ["Routes", "discover_routes"]
