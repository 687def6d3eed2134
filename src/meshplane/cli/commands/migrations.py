"""`meshplane migrations`: every open migration between major versions of a contract.

A deprecated output port (with its sunset date) and the port its consumers move to; who moved and
who remains (input ports, usage agreements, lineage readers, with their teams); days to sunset.
The logic is `meshplane.service.migrations.list_migrations`; this module presents it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from meshplane.cli.output import EXIT_OK, EXIT_USAGE, Column, console, fail, print_json, print_table

MeshOption = Annotated[
    Path | None, typer.Option("--mesh", help="Mesh folder whose registry to read (default: the working directory's).")
]

MIGRATION_COLUMNS = (
    Column("contract", key=True),
    Column("old → new", key=True),
    Column("sunset", key=True),
    Column("days left", justify="right", drop=2),
    Column("moved", key=True, drop=1),
    Column("remaining", key=True),
)
"""The migrations table: contracts, ports, dates and consumers are never cut; days left, then moved, go first."""


def _who(consumers: list[dict[str, Any]]) -> str:
    if not consumers:
        return "-"
    parts = []
    for c in consumers:
        who = c["product"] or f"domain {c['domain']}"
        team = f", {c['team']}" if c["team"] else ""
        parts.append(f"{who} ({c['how']}{team})")
    return "\n".join(escape(p) for p in parts)


def _port(port: dict[str, Any] | None) -> str:
    return "-" if port is None else escape(f"{port['product']}/{port['port']}@{port['version']}")


def migrations(
    mesh: MeshOption = None,
    domain: Annotated[str | None, typer.Option("--domain", help="Only the migrations of this provider domain.")] = None,
    output_format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    wide: Annotated[bool, typer.Option("--wide", help="Every column of the table, however wide.")] = False,
) -> None:
    """List open migrations: deprecated port → new port, consumers moved / remaining, days to sunset."""
    if output_format not in ("table", "json"):
        fail(f"--format must be table or json, not '{output_format}'", EXIT_USAGE)
    from meshplane.service.migrations import list_migrations
    from meshplane.service.registries import open_mesh_registry

    with open_mesh_registry(mesh, auto_upgrade=False) as registry:
        rows = list_migrations(registry, domain=domain)
    if output_format == "json":
        print_json({"migrations": rows})
        raise typer.Exit(EXIT_OK)
    if not rows:
        where = f" of domain {escape(domain)}" if domain else ""
        console.print(f"no open migrations (no output port{where} is deprecated)")
        raise typer.Exit(EXIT_OK)
    cells = []
    for row in rows:
        left = row["daysToSunset"]
        days = "-" if left is None else (f"[red]{left}[/red]" if left < 0 else str(left))
        cells.append(
            [
                escape(row["contract"] or "-"),
                f"{_port(row['old'])}\n→ {_port(row['new'])}",
                row["sunsetDate"] or "-",
                days,
                f"{len(row['moved'])}\n{_who(row['moved'])}",
                f"{len(row['remaining'])}\n{_who(row['remaining'])}",
            ]
        )
    print_table(MIGRATION_COLUMNS, cells, wide=wide)
    raise typer.Exit(EXIT_OK)


def register(app: typer.Typer) -> None:
    """Add `migrations` to the CLI."""
    app.command("migrations")(migrations)


__all__ = ["migrations", "register"]
