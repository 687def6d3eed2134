"""`meshplane monitor status`: each output port's scheduled contract tests — schedule, last run, next run.

The background worker (`meshplane worker`, or the server on SQLite) runs them (docs/monitoring.md);
this command reads what it recorded in the registry.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from meshplane.cli.output import EXIT_OK, EXIT_USAGE, Column, console, fail, print_json, print_table

monitor_app = typer.Typer(
    help="Monitoring: scheduled contract tests run by the background worker.", no_args_is_help=True
)

MeshOption = Annotated[
    Path | None, typer.Option("--mesh", help="Mesh folder whose registry to read (default: the working directory's).")
]
SCHEDULE_COLUMNS = (
    Column("contract", key=True),
    Column("schedule", drop=1),
    Column("last run (UTC)", key=True, drop=2),
    Column("took", justify="right", drop=4),
    Column("result", key=True),
    Column("next run (UTC)", key=True, drop=3),
)
"""The schedules table: contract and result are never cut; how long a run took, then the next run, go first."""


def _when(value: str | None) -> str:
    return (value or "-")[:19].replace("T", " ")


def _last(run: dict[str, Any] | None) -> tuple[str, str, str]:
    if run is None:
        return "-", "-", "[dim]never ran[/dim]"
    result = run["result"] or "?"
    colour = {"passed": "green", "warning": "yellow", "failed": "red", "error": "red"}.get(result, "white")
    seconds = f"{run['seconds']:.1f} s" if run["seconds"] is not None else "-"
    return run["startedAt"][:19].replace("T", " "), seconds, f"[{colour}]{result}[/{colour}]"


@monitor_app.command("status")
def status(
    mesh: MeshOption = None,
    domain: Annotated[str | None, typer.Option("--domain", help="Only the contracts of this domain.")] = None,
    output_format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    wide: Annotated[bool, typer.Option("--wide", help="Every column of the table, however wide.")] = False,
) -> None:
    """Show each scheduled contract: its schedule (and where it comes from), last run, duration, result, next run."""
    if output_format not in ("table", "json"):
        fail(f"--format must be table or json, not '{output_format}'", EXIT_USAGE)
    from meshplane.service.freshness import freshness_summary
    from meshplane.service.registries import open_mesh_registry
    from meshplane.service.schedules import schedule_status

    with open_mesh_registry(mesh, auto_upgrade=False) as registry:
        rows = schedule_status(registry, domain=domain)
        fresh = freshness_summary(registry)
    if output_format == "json":
        print_json({"schedules": rows, "freshness": fresh})
        raise typer.Exit(EXIT_OK)
    if fresh is not None:
        console.print(
            f"freshness: last cycle {_when(fresh['at'])} UTC, {fresh['ports']} port SLA(s), "
            f"{fresh['breached']} breached, {fresh['unknown']} unknown"
        )
        for problem in fresh["problems"]:
            age = (
                f"{problem['ageSeconds']:.0f} s old (from {problem['source']})"
                if problem["ageSeconds"] is not None
                else ""
            )
            console.print(f"  {problem['state']} {escape(problem['contract'])} {problem['check']} {age}")
    if not rows:
        console.print("no scheduled contract tests yet (the worker lists them once it has run; docs/monitoring.md)")
        raise typer.Exit(EXIT_OK)
    cells = []
    for row in rows:
        started, took, result = _last(row["lastRun"])
        if row["running"]:
            result += f" [dim](running on {escape(row['claimedBy'] or '?')})[/dim]"
        schedule = escape(row["schedule"] or "-") + (f" [dim]({row['origin']})[/dim]" if row["origin"] else "")
        if row["problem"]:
            schedule = f"[red]{escape(row['problem'])}[/red]"
        next_run = (row["nextRunAt"] or "-")[:19].replace("T", " ")
        cells.append([escape(row["contract"]), schedule, started, took, result, next_run])
    print_table(SCHEDULE_COLUMNS, cells, wide=wide)
    raise typer.Exit(EXIT_OK)


def register(app: typer.Typer) -> None:
    """Add `monitor` to the CLI."""
    app.add_typer(monitor_app, name="monitor")


__all__ = ["monitor_app", "register", "status"]
