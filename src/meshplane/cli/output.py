"""Shared presentation helpers for CLI commands: consoles, diagnostics, exit codes."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from meshplane.diagnostics import Diagnostic, MeshplaneError, Severity

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def print_diagnostic(diag: Diagnostic, target: Console | None = None) -> None:
    """One diagnostic as `file:line:col  severity  message  (path) [code]`."""
    out = target or console
    style = _STYLE[diag.severity]
    path = f" [dim]{escape(diag.path)}[/dim]" if diag.path else ""
    out.print(
        f"[bold]{escape(diag.location)}[/bold] [{style}]{diag.severity.value}[/{style}] "
        f"{escape(diag.message)}{path} [dim]\\[{diag.code}][/dim]"
    )
    if diag.hint:
        out.print(f"    [dim]hint: {escape(diag.hint)}[/dim]")


def print_json(data: Any) -> None:
    """JSON on stdout, nothing else (for `--format json`)."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def fail(message: str, code: int = EXIT_USAGE, diagnostics: Iterable[Diagnostic] = ()) -> NoReturn:
    """Print an error message (and its diagnostics) on stderr and exit."""
    err_console.print(f"[bold red]error:[/bold red] {escape(message)}")
    for diag in diagnostics:
        print_diagnostic(diag, err_console)
    raise typer.Exit(code)


def report_error(exc: MeshplaneError) -> int:
    """Print a user-facing error (message and diagnostics) on stderr; return its exit code."""
    err_console.print(f"[bold red]error:[/bold red] {escape(exc.message)}")
    for diag in exc.diagnostics:
        print_diagnostic(diag, err_console)
    return exc.exit_code


def wide_console() -> Console:
    """The console on a terminal; a wide one when piped, so ids are never cut off in logs."""
    return console if console.is_terminal else Console(width=200, highlight=False, soft_wrap=True)
