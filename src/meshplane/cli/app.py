"""The Typer application. Commands live in `cli/commands/<group>.py`, each exposing `register(app)`.

Discovery is by package listing (no central list to edit, no circular imports). User errors
(`MeshplaneError`) become messages and exit codes; a traceback is only ever a bug.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import sys
from collections.abc import Callable
from typing import Annotated, Any

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


def _user_errors_as_messages(callback: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a command so a `MeshplaneError` becomes a message and its exit code, never a traceback."""

    @functools.wraps(callback)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return callback(*args, **kwargs)
        except MeshplaneError as exc:
            raise typer.Exit(report_error(exc)) from None

    return wrapper


def _wrap_commands(application: typer.Typer) -> None:
    for command in application.registered_commands:
        if command.callback is not None:
            command.callback = _user_errors_as_messages(command.callback)
    for group in application.registered_groups:
        if group.typer_instance is not None:
            _wrap_commands(group.typer_instance)


def _register_commands() -> None:
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(app)
    _wrap_commands(app)


_register_commands()


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except MeshplaneError as exc:
        sys.exit(report_error(exc))
