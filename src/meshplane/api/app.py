"""The FastAPI application factory.

``create_app(registry)`` serves an open `Registry`; ``create_app(settings)`` (or no argument)
opens the registry the settings and the mesh resolve to (`MESHPLANE_DATABASE_URL`, else the
`registry` of the mesh's mesh.yaml, else its SQLite file) and closes it at shutdown. Every module
of `meshplane.api.routes` is included, its plain routes (the OpenLineage receiver) ahead of the
FastAPI ones, all inside one middleware stack; errors are problem+json (`api.problems`); requests
pass `api.guard.RequestGuard` first (the token before the body, size and inflation limits). On
SQLite the background worker (`meshplane.registry.worker`, lineage derivation) runs as a thread of
the server while it is up (the `worker_in_server` setting). The OpenAPI document is at
``/openapi.json``; `meshplane.web` adds the cockpit's pages and ``/docs`` (Swagger UI from the package).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from meshplane import __version__
from meshplane.api.context import ApiContext
from meshplane.api.guard import RequestGuard
from meshplane.api.problems import document_problems, install_problem_handlers
from meshplane.api.routes import discover_routes
from meshplane.api.security import document_bearer_auth
from meshplane.mesh.repository import find_mesh_root
from meshplane.registry import Registry
from meshplane.registry.worker import Job, Worker
from meshplane.service import readmodels
from meshplane.service.derivation import BACKLOG_CHUNK, DerivationJob
from meshplane.service.freshness import FreshnessJob
from meshplane.service.incidents import IncidentJob
from meshplane.service.notifications import NotificationJob
from meshplane.service.readmodels import ReadModelJob
from meshplane.service.registries import open_mesh_registry
from meshplane.service.reindex import ReindexJob
from meshplane.service.schedules import ScheduleJob
from meshplane.service.tokens import TokenAuthenticator
from meshplane.settings import Settings, get_settings
from meshplane.web import mount_web
from meshplane.web.core import WebContext

log = logging.getLogger(__name__)

WARM_UP_S = 120.0
"""Longest the server waits at start for its worker's first pass (`warm_up`)."""

DESCRIPTION = """\
The meshplane platform server: the catalog of domains, data products, output ports and data
contracts; contract test runs; usage agreements; and GitOps apply of mesh bundles.

Authenticate with `Authorization: Bearer <token>` (`meshplane token create`). Errors are RFC 9457
`application/problem+json`. Lists take `limit` (1-500) and `offset` and answer
`{"items", "total", "limit", "offset", "next"}`. See docs/api.md and docs/auth.md.
"""


def server_jobs(settings: Settings) -> list[Job]:
    """The jobs of the worker a server runs in its process: read models first, then the worker's own."""
    return [
        ReadModelJob(),
        ReindexJob(),
        DerivationJob(max_lag_s=settings.worker_max_lag_seconds, backlog_chunk=BACKLOG_CHUNK),
        ScheduleJob(),
        IncidentJob(),
        FreshnessJob(),
        NotificationJob(),
    ]


def start_worker(registry: Registry, settings: Settings) -> Worker:
    """The background worker of `registry` as a thread of this process (`server_jobs`)."""
    return Worker(
        registry,
        server_jobs(settings),
        poll_s=settings.worker_poll_seconds,
        heartbeat_s=settings.worker_heartbeat_seconds,
        lease_s=settings.worker_lease_seconds,
        settings=settings,
    ).start()


def runs_worker(registry: Registry, settings: Settings) -> bool:
    """Whether a server of `registry` runs the worker in its process (`worker_in_server`: auto = SQLite only)."""
    if settings.worker_in_server == "auto":
        return registry.dialect == "sqlite"
    return settings.worker_in_server == "on"


def warm_up(web: WebContext, registry: Registry, worker: Worker | None) -> None:
    """The server's start-up warm-up, before it answers: templates compiled, read models built.

    With a worker in the server, its first pass builds the read models (`ReadModelJob`) and does what
    waits (freshness, incidents): the server waits for it (at most `WARM_UP_S`), so first requests
    do not share the process with it. Without one, `readmodels.refresh` runs here. A registry that
    cannot be read now is logged: the pages build what they need when asked. What start-up built is
    then frozen for the collector (`readmodels.settle`).
    """
    began = time.perf_counter()
    try:
        web.compile_templates()
        if worker is None:
            readmodels.refresh(registry)
        elif not worker.wait_first_pass(WARM_UP_S):
            log.warning("the worker's first pass took more than %.0f s: serving before it ended", WARM_UP_S)
        readmodels.settle()
    except Exception:  # a registry served as it is (no migration), unreachable for now
        log.warning("start-up warm-up incomplete: pages build their read models when asked", exc_info=True)
    log.info("warmed up in %.2f s", time.perf_counter() - began)


def _worker_for(registry: Registry, settings: Settings) -> Worker | None:
    if not runs_worker(registry, settings):
        return None
    if not registry.status().up_to_date:  # a registry served as it is (no migration): nothing to derive into
        log.warning("no background worker: the registry's schema is not current (run `meshplane db upgrade`)")
        return None
    return start_worker(registry, settings)


def create_app(
    source: Registry | Settings | None = None, *, settings: Settings | None = None, mesh: Path | None = None
) -> FastAPI:
    """The meshplane API application, serving `source` (a registry) or the registry `settings` resolve to."""
    if isinstance(source, Settings):
        settings = source
        source = None
    settings = settings or get_settings()
    owns = source is None
    registry = source if source is not None else open_mesh_registry(mesh)
    served_mesh = find_mesh_root(mesh) if mesh is not None else find_mesh_root(Path.cwd())
    context = ApiContext(
        registry,
        settings,
        TokenAuthenticator(registry, cache_s=settings.token_cache_seconds),
        owns_registry=owns,
        lake_base=settings.lake_base or served_mesh or Path.cwd(),
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        worker = _worker_for(registry, settings)
        try:
            await asyncio.to_thread(warm_up, _app.state.web, registry, worker)
            yield
        finally:
            if worker is not None:
                worker.stop()
            if context.owns_registry:
                context.registry.close()

    app = FastAPI(
        title="meshplane",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url=None,  # served by `meshplane.web` from the package (no CDN)
        redoc_url=None,
    )
    app.state.context = context
    install_problem_handlers(app)
    routes = discover_routes()
    for router in routes.routers:
        app.include_router(router)
    app.router.routes[0:0] = routes.plain  # ahead of the FastAPI routes, inside the middleware stack
    mount_web(app, context)  # the cockpit's pages, /static and /docs
    app.add_middleware(RequestGuard, max_bytes=settings.max_request_bytes, context=context)
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            document["paths"] = dict(sorted({**document.get("paths", {}), **routes.openapi_paths}.items()))
            document_bearer_auth(document)
            document_problems(document)
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    log.info(
        "meshplane API on registry %s (anonymous read %s)",
        registry.url.display,
        "on" if settings.anonymous_read else "off",
    )
    return app


__all__ = ["WARM_UP_S", "create_app", "runs_worker", "server_jobs", "start_worker", "warm_up"]
