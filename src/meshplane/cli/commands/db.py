"""`meshplane db init|status|upgrade [PATH]`: create the registry, its schema revision, migrations and workers."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from meshplane.cli.output import EXIT_OK, console, print_json, report_error
from meshplane.diagnostics import MeshplaneError

if TYPE_CHECKING:
    from meshplane.registry import RegistryUrl

db_app = typer.Typer(help="The registry database: creation, schema revision and migrations.", no_args_is_help=True)

PathArg = Annotated[
    Path | None, typer.Argument(help="The mesh folder whose registry to use (default: the working directory's).")
]


def _resolve(path: Path | None) -> RegistryUrl:
    from meshplane.service.registries import mesh_registry_url

    return mesh_registry_url(path)


@db_app.command("status")
@db_app.command("current")
def status(
    path: PathArg = None,
    output_format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Show the registry (URL, where it came from), its schema revision, the lineage queue and the workers.

    `db current` is the same command (its older name). A registry that does not exist is not
    created (exit 2; `meshplane db init` creates it).
    """
    try:
        url = _resolve(path)
        from meshplane.registry import Registry
        from meshplane.service.registries import missing_registry

        refusal = missing_registry(url)
        if refusal is not None:
            raise refusal
        from meshplane.service.lineage import lineage_status

        with Registry(url, auto_upgrade=False) as registry:
            schema = registry.status()
            lineage = lineage_status(registry) if schema.up_to_date else None
    except MeshplaneError as exc:
        raise typer.Exit(report_error(exc)) from None
    derivation = lineage["derivation"] if lineage else None
    workers = lineage["workers"] if lineage else []
    if output_format == "json":
        print_json(
            {
                "url": url.display,
                "source": url.source.value,
                "current": schema.current,
                "head": schema.head,
                "upToDate": schema.up_to_date,
                "derivation": derivation,
                "workers": workers,
            }
        )
        raise typer.Exit(EXIT_OK)
    state = "[green]up to date[/green]" if schema.up_to_date else "[yellow]needs `meshplane db upgrade`[/yellow]"
    console.print(f"registry {escape(url.display)} [dim](from {url.source.value})[/dim]")
    console.print(f"revision {schema.current or '(empty)'} / newest {schema.head}: {state}")
    if derivation is not None:
        console.print(
            f"lineage derivation: {derivation['waiting']} event(s) waiting (lag {derivation['lagSeconds']:.1f} s), "
            f"{derivation['failed']} failed"
        )
    if not workers:
        console.print("workers: none has run (`meshplane serve` on SQLite runs one; else `meshplane worker`)")
    for worker in workers:
        alive = "[green]alive[/green]" if worker["alive"] else "[dim]stopped or silent[/dim]"
        jobs = ", ".join(
            f"{name}: {job.get('done', 0)} done, last {job.get('last_result', '')}"
            for name, job in worker["jobs"].items()
        )
        console.print(
            f"worker {escape(worker['worker'])} {alive}, last beat {worker['secondsSinceBeat']:.0f} s ago"
            + (f" · {escape(jobs)}" if jobs else "")
        )
    raise typer.Exit(EXIT_OK)


@db_app.command("init")
def init(path: PathArg = None) -> None:
    """Create the registry (the SQLite file or the schema in an empty database) and migrate it to the newest schema.

    The one deliberate way to start a registry (besides `meshplane apply --init`): read commands
    never create one. On an existing registry it only applies pending migrations.
    """
    try:
        url = _resolve(path)
        from meshplane.registry import Registry
        from meshplane.service.registries import missing_registry

        created = missing_registry(url) is not None
        with Registry(url, auto_upgrade=False) as registry:
            before = registry.upgrade()
    except MeshplaneError as exc:
        raise typer.Exit(report_error(exc)) from None
    where = f"registry {escape(url.display)} [dim](from {url.source.value})[/dim]"
    if created or before.current is None:
        console.print(f"created {where} at revision {before.head}")
    elif before.up_to_date:
        console.print(f"{where} already exists at revision {before.head}: nothing to do")
    else:
        console.print(f"{where} already exists: upgraded from {before.current} to {before.head}")
    raise typer.Exit(EXIT_OK)


@db_app.command("upgrade")
def upgrade(path: PathArg = None) -> None:
    """Apply pending migrations (commands that use the registry also do this on first use)."""
    try:
        url = _resolve(path)
        from meshplane.registry import Registry

        with Registry(url, auto_upgrade=False) as registry:
            before = registry.upgrade()
    except MeshplaneError as exc:
        raise typer.Exit(report_error(exc)) from None
    if before.up_to_date:
        console.print(f"registry {escape(url.display)} is already at revision {before.head}")
    else:
        console.print(f"registry {escape(url.display)} upgraded from {before.current or '(empty)'} to {before.head}")
    raise typer.Exit(EXIT_OK)


def register(app: typer.Typer) -> None:
    """Add the `db` command group to the CLI."""
    app.add_typer(db_app, name="db")
