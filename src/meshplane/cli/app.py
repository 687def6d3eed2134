"""The Typer application. Commands live in `cli/commands/<group>.py`, each exposing `register(app)`.

`COMMANDS` maps each top-level command to its module, so `meshplane test ...` imports only
`cli/commands/test.py` (start-up time matters in CI loops and in the contract-test benchmark);
`meshplane --help` and unknown commands load every module. A test holds the map to the modules'
`register` functions, so a new command module that is not listed fails the suite. User errors
(`MeshplaneError`) become messages and exit codes, and so do registry errors (a read-only or full
registry: `registry.unavailable`; a database still locked or unreachable: here); a traceback is only
ever a bug.
"""

from __future__ import annotations

import functools
import gc
import importlib
import pkgutil
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer

from meshplane import __version__
from meshplane.cli import commands
from meshplane.cli.output import report_error
from meshplane.diagnostics import MeshplaneError

#: Top-level command (or command group) -> module under `cli/commands/` that registers it.
COMMANDS: dict[str, str] = {
    "agreement": "agreement",
    "apply": "gitops",
    "db": "db",
    "dbt": "dbt",
    "demo": "demo",
    "diff": "diff",
    "export": "interop",
    "flags": "flags",
    "impact": "impact",
    "import": "interop",
    "incidents": "incidents",
    "init": "scaffold",
    "lineage": "lineage",
    "lint": "lint",
    "migrations": "migrations",
    "monitor": "monitor",
    "movements": "lineage",
    "new": "scaffold",
    "plan": "gitops",
    "search": "catalog",
    "serve": "serve",
    "show": "catalog",
    "test": "test",
    "test-runs": "testruns",
    "token": "token",
    "worker": "worker",
}

if TYPE_CHECKING:
    #: The application with every command registered (built on first access).
    app: typer.Typer


def _version(value: bool) -> None:
    if value:
        typer.echo(f"meshplane {__version__}")
        raise typer.Exit(0)


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
        except Exception as exc:
            unavailable = _registry_unavailable(exc)
            if unavailable is None:
                raise
            raise typer.Exit(report_error(unavailable)) from None

    return wrapper


def _registry_unavailable(exc: Exception) -> MeshplaneError | None:
    """A database error the store did not translate (locked past the busy timeout, unreachable) as one line."""
    sa_exc = sys.modules.get("sqlalchemy.exc")  # loaded if a registry was used: no import cost otherwise
    if sa_exc is None or not isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError):
        return None
    orig = getattr(exc, "orig", None)
    reason = (str(orig).strip().splitlines() or [""])[0][:200] if orig is not None else type(exc).__name__
    return MeshplaneError(f"the registry is not available: {reason}", exit_code=1)


def _wrap_commands(application: typer.Typer) -> None:
    for command in application.registered_commands:
        if command.callback is not None:
            command.callback = _user_errors_as_messages(command.callback)
    for group in application.registered_groups:
        if group.typer_instance is not None:
            _wrap_commands(group.typer_instance)


def command_modules() -> list[str]:
    """Every module under `cli/commands/`, sorted."""
    return sorted(info.name for info in pkgutil.iter_modules(commands.__path__))


def build_app(modules: Sequence[str] | None = None) -> typer.Typer:
    """The Typer application with the commands of `modules` (all command modules when None)."""
    application = typer.Typer(
        name="meshplane",
        help="meshplane: a control plane for a data mesh on a data lake.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode="rich",
    )
    application.callback()(_root)
    for name in command_modules() if modules is None else modules:
        importlib.import_module(f"{commands.__name__}.{name}").register(application)
    _wrap_commands(application)
    return application


@functools.cache
def _full_app() -> typer.Typer:
    return build_app()


def __getattr__(name: str) -> Any:
    """`app`: the application with every command, built once on first access (tests, docs)."""
    if name == "app":
        return _full_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def modules_for(argv: Sequence[str]) -> list[str] | None:
    """The command modules a command line needs: the one of its command, or None (all) when the
    first argument is not a known command (`--help`, `--version`, a typo Click should list)."""
    first = next((arg for arg in argv if not arg.startswith("-")), None)
    if first is None or first not in COMMANDS:
        return None
    return [COMMANDS[first]]


def start_up(argv: Sequence[str]) -> typer.Typer:
    """The start-up phase: the application for `argv`, with what its command needs imported.

    Start-up creates only long-lived objects (modules, classes, pydantic and Typer models), so the
    cyclic garbage collector is paused meanwhile and those objects are frozen afterwards (moved out
    of its reach): that saves ~0.1 s of every `meshplane test`. A command module lists the heavy
    modules it needs in `STARTUP_IMPORTS`. Collection is always back on before the command runs.
    """
    gc.disable()
    try:
        modules = modules_for(argv)
        application = build_app(modules)
        for name in modules or ():
            for dependency in getattr(importlib.import_module(f"{commands.__name__}.{name}"), "STARTUP_IMPORTS", ()):
                importlib.import_module(dependency)
        gc.freeze()
    finally:
        gc.enable()
    return application


def main() -> None:
    """Console-script entry point: loads only the module of the command being run."""
    application = start_up(sys.argv[1:])
    try:
        application()
    except MeshplaneError as exc:
        sys.exit(report_error(exc))
