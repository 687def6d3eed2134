"""`meshplane worker`: the background worker — lineage derivation now, more job kinds to come.

It claims its work from the registry (several workers share it on PostgreSQL), beats a heartbeat
into the registry (`meshplane db status`), and stops on Ctrl-C or SIGTERM after the chunk at
hand; what it claimed and did not finish is taken over by another worker once its lease ends.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from meshplane.cli.output import EXIT_FAILED, EXIT_OK, console, report_error
from meshplane.diagnostics import MeshplaneError

STARTUP_IMPORTS = (
    "meshplane.service.derivation",
    "meshplane.service.schedules",
    "meshplane.service.incidents",
    "meshplane.service.freshness",
    "meshplane.service.notifications",
)


def worker(
    *,
    once: Annotated[
        bool, typer.Option("--once", help="Do what waits now, then stop (e.g. after an outage, or in a cron job).")
    ] = False,
    retry_failed: Annotated[
        bool, typer.Option("--retry-failed", help="Queue the lineage events whose derivation failed again first.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
    mesh: Annotated[
        Path | None,
        typer.Option("--mesh", help="Mesh folder whose registry to work on (default: the working directory's)."),
    ] = None,
) -> None:
    """Run the background worker: derive received lineage events, run scheduled contract tests (docs/monitoring.md).

    `meshplane serve` on SQLite runs it inside the server; on PostgreSQL run one or more beside the
    server processes (docs/deployment.md).
    """
    import signal

    from meshplane.registry.worker import Worker
    from meshplane.service import derivation
    from meshplane.service.freshness import FreshnessJob
    from meshplane.service.incidents import IncidentJob
    from meshplane.service.notifications import NotificationJob
    from meshplane.service.registries import open_mesh_registry
    from meshplane.service.reindex import ReindexJob
    from meshplane.service.schedules import ScheduleJob
    from meshplane.settings import get_settings  # pydantic-settings: when run, not at --help

    settings = get_settings()
    try:
        registry = open_mesh_registry(mesh)
    except MeshplaneError as exc:
        raise typer.Exit(report_error(exc)) from None
    with registry:
        if retry_failed:
            again = derivation.retry_failed(registry)
            if not quiet:
                console.print(f"{again} failed event(s) queued again")
        runner = Worker(
            registry,
            [
                ReindexJob(),
                derivation.DerivationJob(
                    max_lag_s=0 if once else settings.worker_max_lag_seconds, backlog_chunk=derivation.BACKLOG_CHUNK
                ),
                ScheduleJob(),
                IncidentJob(),
                FreshnessJob(),
                NotificationJob(),
            ],
            poll_s=settings.worker_poll_seconds,
            heartbeat_s=settings.worker_heartbeat_seconds,
            lease_s=settings.worker_lease_seconds,
            settings=settings,
        )
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: runner.stop(timeout=0))
        if not quiet:
            what = "what waits" if once else "until stopped (Ctrl-C)"
            console.print(f"worker {escape(runner.worker_id)} on {escape(registry.url.display)}: {what}")
        runner.run(once=once)
        stats = runner.stats.get(derivation.DerivationJob.name)
        if not quiet and stats is not None:
            console.print(f"derived {stats.done} event(s), {stats.failed} failed, {stats.errors} error(s)")
        for error in stats.recent_errors if stats is not None else []:
            console.print(f"[red]failed[/red] {escape(error)}")
    raise typer.Exit(EXIT_FAILED if once and stats is not None and (stats.failed or stats.errors) else EXIT_OK)


def register(app: typer.Typer) -> None:
    """Add `worker` to the CLI."""
    app.command("worker")(worker)


__all__ = ["register", "worker"]
