"""`meshplane serve`: run the platform server (REST API) with uvicorn."""

from __future__ import annotations

import copy
import gc
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from meshplane.cli.output import EXIT_OK, EXIT_USAGE, err_console, report_error
from meshplane.diagnostics import MeshplaneError

APP_FACTORY = "meshplane.api.app:create_app"

SERVER_GC_THRESHOLDS = (100_000, 50, 100)
"""Cyclic garbage collection in the server: a young-generation pass per 100,000 net allocations
(Python's default: 700). Requests allocate much and keep little; with the default, a batch of
OpenLineage events triggers hundreds of passes, ~15 % of the receiver's time. Memory stays bounded:
what reference counting cannot free waits at most one pass."""

#: Loaded (and frozen out of the garbage collector's reach) in the CLI's start-up phase.
STARTUP_IMPORTS = ("uvicorn", "meshplane.api.app", "meshplane.service.lineage")


def log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging configuration, with meshplane's own loggers on the same handler and level."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["meshplane"] = {"handlers": ["default"], "level": level.upper(), "propagate": False}
    return config


def serve(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on (0.0.0.0 for every interface).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8000,
    mesh: Annotated[
        Path | None,
        typer.Option(
            "--mesh",
            help="Mesh folder whose registry to serve (default: MESHPLANE_DATABASE_URL, or the "
            "mesh holding the working directory).",
        ),
    ] = None,
    workers: Annotated[
        int,
        typer.Option("--workers", min=1, max=64, help="Server processes (PostgreSQL only: SQLite has one writer)."),
    ] = 1,
) -> None:
    """Serve the REST API: catalog, contracts, test runs, usage agreements, apply, lineage (docs/api.md).

    On SQLite the background worker (lineage derivation) runs inside the server; on PostgreSQL run
    `meshplane worker` beside it (docs/deployment.md).
    """
    import uvicorn

    from meshplane.api.app import create_app, runs_worker
    from meshplane.api.protocol import BoundedHttpToolsProtocol
    from meshplane.mesh.repository import find_mesh_root
    from meshplane.service.registries import open_mesh_registry
    from meshplane.settings import get_settings

    settings = get_settings()
    try:
        registry = open_mesh_registry(mesh)  # migrates once, before any server process starts
    except MeshplaneError as exc:
        raise typer.Exit(report_error(exc)) from None
    url = registry.url
    if workers > 1 and registry.dialect == "sqlite":
        registry.close()
        err_console.print(
            f"[red]error:[/red] --workers {workers} needs a PostgreSQL registry: a SQLite registry has one writer, "
            "in one server process (set MESHPLANE_DATABASE_URL=postgresql+psycopg://…; docs/deployment.md)"
        )
        raise typer.Exit(EXIT_USAGE)
    if (busy := _cannot_listen(host, port)) is not None:
        registry.close()
        where = f"{escape(host)}:{port}"
        err_console.print(f"[red]error:[/red] cannot listen on {where}: {escape(busy)} (choose another --port)")
        raise typer.Exit(EXIT_USAGE)
    err_console.print(f"meshplane server on http://{escape(host)}:{port} · registry {escape(url.display)}")
    if not runs_worker(registry, settings):
        err_console.print("[dim]no background worker in this server: run `meshplane worker` beside it[/dim]")
    level = settings.log_level.lower()
    logging = log_config(level)
    if workers == 1:
        app = create_app(registry, settings=settings, mesh=mesh)
        gc.freeze()  # the application lives as long as the process: no collection needs to walk it
        gc.set_threshold(*SERVER_GC_THRESHOLDS)
        try:
            uvicorn.run(app, host=host, port=port, log_level=level, log_config=logging, http=BoundedHttpToolsProtocol)
        finally:
            registry.close()
    else:
        registry.close()
        os.environ["MESHPLANE_DATABASE_URL"] = url.url  # the server processes resolve the same registry
        served = find_mesh_root(mesh) if mesh is not None else None
        if served is not None and settings.lake_base is None:  # and bundles' relative lake roots alike
            os.environ["MESHPLANE_LAKE_BASE"] = str(served)
        uvicorn.run(
            APP_FACTORY,
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=level,
            log_config=logging,
            http=BoundedHttpToolsProtocol,
        )
    raise typer.Exit(EXIT_OK)


def _cannot_listen(host: str, port: int) -> str | None:
    """Why the server could not listen on `host`:`port` (the address in use, not this machine's...), or None.

    Told before anything starts, as uvicorn would only say it after the application has been built."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return str(exc.strerror or exc)
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as exc:
            return str(exc.strerror or exc)
    return None


def register(app: typer.Typer) -> None:
    """Add `serve` to the CLI."""
    app.command("serve")(serve)


__all__ = ["APP_FACTORY", "register", "serve"]
