"""The FastAPI application factory.

``create_app(registry)`` serves an open `Registry`; ``create_app(settings)`` (or no argument)
opens the registry the settings and the mesh resolve to (`MESHPLANE_DATABASE_URL`, else the
`registry` of the mesh's mesh.yaml, else its SQLite file) and closes it at shutdown. Every module
of `meshplane.api.routes` is included; errors are problem+json (`api.problems`); request bodies
pass `api.guard.RequestGuard` first; the routes marked `api.direct.direct` (the OpenLineage receiver)
are called by the direct path ahead of FastAPI's routing. The OpenAPI document is at ``/openapi.json``, interactive
docs at ``/docs``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp

from meshplane import __version__
from meshplane.api.context import ApiContext
from meshplane.api.direct import DirectRoutes
from meshplane.api.guard import RequestGuard
from meshplane.api.problems import install_problem_handlers
from meshplane.api.routes import discover_routers
from meshplane.api.security import document_bearer_auth
from meshplane.diagnostics import MeshplaneError
from meshplane.mesh.repository import find_mesh_root
from meshplane.registry import Registry, resolve_registry_url
from meshplane.service.tokens import TokenAuthenticator
from meshplane.settings import Settings, get_settings
from meshplane.spec.loader import load_mesh_config

log = logging.getLogger(__name__)

DESCRIPTION = """\
The meshplane platform server: the catalog of domains, data products, output ports and data
contracts; contract test runs; usage agreements; and GitOps apply of mesh bundles.

Authenticate with `Authorization: Bearer <token>` (`meshplane token create`). Errors are RFC 9457
`application/problem+json`. Lists take `limit` (1-500) and `offset` and answer
`{"items", "total", "limit", "offset", "next"}`. See docs/api.md and docs/auth.md.
"""


def open_registry_for(mesh: Path | None = None) -> Registry:
    """The registry a server for `mesh` uses (mesh: a folder with mesh.yaml, or None for the environment's)."""
    root = find_mesh_root(mesh) if mesh is not None else find_mesh_root(Path.cwd())
    if mesh is not None and root is None:
        raise MeshplaneError(f"{mesh} is not a mesh: it has no mesh.yaml")
    configured = None
    if root is not None:
        config = load_mesh_config(root / "mesh.yaml").model
        configured = config.registry if config else None
    return Registry(resolve_registry_url(root, configured))


class MeshplaneAPI(FastAPI):
    """FastAPI with the direct path (`api.direct.DirectRoutes`) as its outermost layer."""

    def build_middleware_stack(self) -> ASGIApp:
        """The usual stack, behind the direct path of the routes marked `direct`."""
        return DirectRoutes(super().build_middleware_stack(), self)


def create_app(
    source: Registry | Settings | None = None, *, settings: Settings | None = None, mesh: Path | None = None
) -> FastAPI:
    """The meshplane API application, serving `source` (a registry) or the registry `settings` resolve to."""
    if isinstance(source, Settings):
        settings = source
        source = None
    settings = settings or get_settings()
    owns = source is None
    registry = source if source is not None else open_registry_for(mesh)
    served_mesh = find_mesh_root(mesh) if mesh is not None else find_mesh_root(Path.cwd())
    context = ApiContext(
        registry,
        settings,
        TokenAuthenticator(registry, cache_s=settings.token_cache_seconds),
        owns_registry=owns,
        lake_base=settings.lake_base or served_mesh or Path.cwd(),
    )
    if settings.lineage_deriver != "thread":  # a deriver process does it (or nobody: readers derive first)
        from meshplane.service.derivation import derive_elsewhere

        derive_elsewhere(registry)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if context.owns_registry:
            context.registry.close()

    app = MeshplaneAPI(
        title="meshplane",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/openapi.json",
    )
    app.state.context = context
    install_problem_handlers(app)
    for router in discover_routers():
        app.include_router(router)
    app.add_middleware(RequestGuard, max_bytes=settings.max_request_bytes)
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document_bearer_auth(generate())
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    log.info(
        "meshplane API on registry %s (anonymous read %s)",
        registry.url.display,
        "on" if settings.anonymous_read else "off",
    )
    return app


__all__ = ["MeshplaneAPI", "create_app", "open_registry_for"]
