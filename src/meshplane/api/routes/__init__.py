"""Route modules, one per resource area; each exposes ``router`` (a FastAPI `APIRouter`).

`create_app` includes every module of this package, in name order, so a new resource area is one
new module here (the OpenLineage receiver will be ``lineage.py``). Routers carry their own prefix
(``/api/v1``) and depend on `security.read_access`; mutating routes add
``**writes(Ownership(...))``.
"""

from __future__ import annotations

import importlib
import pkgutil

from fastapi import APIRouter


def discover_routers() -> list[APIRouter]:
    """The ``router`` of every module in this package, in module-name order."""
    out = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        router = getattr(module, "router", None)
        if not isinstance(router, APIRouter):
            raise TypeError(f"{module.__name__} has no `router` (an APIRouter)")
        out.append(router)
    return out


__all__ = ["discover_routers"]
