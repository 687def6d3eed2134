"""The Typer application. Commands live in `cli/commands/<group>.py`, each exposing `register(app)`.

Discovery is by package listing (no central list to edit, no circular imports). User errors
(`MeshplaneError`) become messages and exit codes; a traceback is only ever a bug.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from typing import Annotated

import typer

from meshplane import __version__
from meshplane.cli import commands
from meshplane.cli.output import report_error
from meshplane.diagnostics import MeshplaneError

app = typer.Typer(
    name="meshplane",
    help="meshplane: a control plane for a data mesh on a data lake.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"meshplane {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """meshplane: data products (ODPS), data contracts (ODCS), contract tests, registry, lineage."""


def _register_commands() -> None:
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(app)


_register_commands()


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except MeshplaneError as exc:
        sys.exit(report_error(exc))
