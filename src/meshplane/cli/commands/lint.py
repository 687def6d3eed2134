"""`meshplane lint [PATH]`: validate mesh files and what crosses them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from meshplane.cli.output import EXIT_FAILED, EXIT_OK, console, print_diagnostic, print_json
from meshplane.cli.reports import CI_FORMATS, CiReport, emit
from meshplane.diagnostics import Severity


def lint(
    path: Annotated[
        Path, typer.Argument(help="A mesh folder (with mesh.yaml), a folder of mesh files, or one file.")
    ] = Path(),
    output_format: Annotated[
        str, typer.Option("--format", help="table, json, github (Actions annotations) or gitlab (Code Quality).")
    ] = "table",
    warnings: Annotated[bool, typer.Option("--warnings/--no-warnings", help="Show warnings too.")] = True,
) -> None:
    """Lint a mesh: ODCS/ODPS validity, cross-file references, ownership, and advice.

    Exit 0 when there is no error (warnings allowed), 1 when errors were found, 2 when the input
    cannot be used at all.
    """
    if output_format not in ("table", "json", *CI_FORMATS):
        raise typer.BadParameter("use table, json, github or gitlab", param_hint="--format")
    from meshplane.service.linting import lint_path  # the registry, sqlglot: only when linting

    report = lint_path(path)
    if output_format == "json":
        print_json(report.to_dict())
        raise typer.Exit(EXIT_FAILED if report.has_errors else EXIT_OK)
    shown = [d for d in report.diagnostics if warnings or d.severity is Severity.ERROR]
    if output_format in CI_FORMATS:
        found = [f"{v} {k}" for k, v in report.summary.items()] or [f"{report.files} file(s)"]
        emit(CiReport("lint", report.target, shown, (", ".join(found),)), output_format, sys.stdout.write)
        raise typer.Exit(EXIT_FAILED if report.has_errors else EXIT_OK)
    for diag in shown:
        print_diagnostic(diag)
    counts = report.counts()
    errors, warns = counts.get("error", 0), counts.get("warning", 0)
    what = ", ".join(f"{v} {k}" for k, v in report.summary.items()) or f"{report.files} file(s)"
    status = "[bold red]failed[/bold red]" if errors else "[bold green]ok[/bold green]"
    console.print(f"{status} {escape(report.target)} ({what}): {errors} error(s), {warns} warning(s)")
    raise typer.Exit(EXIT_FAILED if errors else EXIT_OK)


def register(app: typer.Typer) -> None:
    """Add `lint` to the CLI."""
    app.command("lint")(lint)
