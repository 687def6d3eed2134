"""`meshplane demo`: the example holding mesh, its lake, and a tour."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from meshplane.cli.output import EXIT_FAILED, console


def demo(
    directory: Annotated[
        Path, typer.Option("--dir", help="Working folder (created; reset if made by a previous demo).")
    ] = Path("demo-work"),
    rows: Annotated[
        int,
        typer.Option(
            min=10,
            max=10_000_000,
            help="Rows of the largest generated table (the generator keeps its patterns valid up to 10M).",
        ),
    ] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the deterministic data generator.")] = 7,
) -> None:
    """Copy the example mesh (5 domains of a holding group), generate its lake and run meshplane on it."""
    from meshplane.demo.steps import DemoOptions, run_demo, tour

    ok = True
    for index, step in enumerate(run_demo(DemoOptions(directory, rows, seed)), start=1):
        mark = "[green]✓[/green]" if step.ok else "[red]✗[/red]"
        console.print(f"\n{mark} [bold]{index}. {escape(step.title)}[/bold]")
        for line in step.lines:
            console.print(f"   {escape(line)}")
        ok = ok and step.ok
    console.print("\n[bold]Try next:[/bold]")
    for command in tour(directory):
        console.print(f"  {escape(command)}")
    if not ok:
        raise typer.Exit(EXIT_FAILED)


def register(app: typer.Typer) -> None:
    """Add `demo` to the CLI."""
    app.command("demo")(demo)
