"""`meshplane init` and `meshplane new domain|product|contract`: start from files that lint clean."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from meshplane.cli.output import console

new_app = typer.Typer(help="Scaffold a domain, a data product or an output-port contract.", no_args_is_help=True)

MeshOption = Annotated[Path, typer.Option("--mesh", help="Mesh folder (default: found from the current folder).")]


def _done(paths: list[Path], updated: list[Path] | None = None) -> None:
    """One line per file: `created` for a new one, `updated` for an existing one the command edited."""
    for path in paths:
        console.print(f"[green]created[/green] {escape(str(path))}")
    for path in updated or []:
        console.print(f"[yellow]updated[/yellow] {escape(str(path))}")


def _placeholders(paths: list[Path]) -> None:
    """Say which scaffolded texts are still placeholders (`placeholder-text` lint warnings)."""
    from meshplane.service import scaffold

    found = scaffold.placeholder_warnings(paths)
    if not found:
        return
    console.print(f"{len(found)} placeholder text(s) to write before publishing (lint warns placeholder-text):")
    for diagnostic in found:
        where = f"{diagnostic.file}:{diagnostic.line}" if diagnostic.line else str(diagnostic.file)
        console.print(f"  {escape(where)}  {escape(diagnostic.message)}")


def init(
    directory: Annotated[Path, typer.Argument(help="Folder for the new mesh (created if missing).")],
    name: Annotated[str | None, typer.Option(help="Mesh name (default: the folder name).")] = None,
) -> None:
    """Create a new, empty mesh that lints clean."""
    from meshplane.service import scaffold

    _done(scaffold.init_mesh(directory, name))
    console.print(f"next: [bold]meshplane new domain <id> --mesh {escape(str(directory))}[/bold]")


@new_app.command("domain")
def new_domain(
    domain: Annotated[str, typer.Argument(help="Domain id (lower case), e.g. retail.")],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    owner: Annotated[str | None, typer.Option(help="Username of the owning team's owner (default: you).")] = None,
    mesh: MeshOption = Path(),
) -> None:
    """Add a domain with an owning team."""
    from meshplane.service import scaffold

    _done([scaffold.new_domain(mesh, domain, name, owner)])


@new_app.command("product")
def new_product(
    domain: Annotated[str, typer.Argument(help="Domain id.")],
    product: Annotated[str, typer.Argument(help="Product folder name, e.g. sales.")],
    port: Annotated[str | None, typer.Option(help="Name of the first output port (default: the product name).")] = None,
    mesh: MeshOption = Path(),
) -> None:
    """Add a data product (ODPS) with one output port and its contract (ODCS)."""
    from meshplane.service import scaffold

    paths = scaffold.new_product(mesh, domain, product, port)
    _done(paths)
    _placeholders(paths)


@new_app.command("contract")
def new_contract(
    domain: Annotated[str, typer.Argument(help="Domain id.")],
    product: Annotated[str, typer.Argument(help="Product folder name.")],
    port: Annotated[str, typer.Argument(help="Name of the new output port.")],
    mesh: MeshOption = Path(),
) -> None:
    """Add an output port and its contract to an existing product."""
    from meshplane.service import scaffold

    paths = scaffold.new_contract(mesh, domain, product, port)
    *created, descriptor = paths
    _done(created, updated=[descriptor])
    _placeholders(paths)


def register(app: typer.Typer) -> None:
    """Add `init` and `new` to the CLI."""
    app.command("init")(init)
    app.add_typer(new_app, name="new")
