"""`meshplane diff OLD NEW`: what changed between two versions of a contract, and what it breaks.

`meshplane.diff` (which loads the contract models) is imported when the command runs, not when
`meshplane --help` registers it: the option's choices are `PerspectiveChoice`, whose values a test
holds equal to `meshplane.diff.Perspective`'s.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from meshplane.cli.output import EXIT_FAILED, EXIT_OK, Column, console, fail, print_json, print_table
from meshplane.diagnostics import MeshplaneError

if TYPE_CHECKING:
    from meshplane.diff import ContractDiff


class OutputFormat(StrEnum):
    """How the diff is printed."""

    TABLE = "table"
    JSON = "json"


class PerspectiveChoice(StrEnum):
    """The values of `--perspective`: those of `meshplane.diff.Perspective`."""

    CONSUMER = "consumer"
    PRODUCER = "producer"


# keyed by the values of `meshplane.diff.Severity` and `Level` (StrEnum members look their value up)
_STYLE = {"breaking": "bold red", "non-breaking": "yellow", "info": "cyan"}
_LEVEL_STYLE = {**_STYLE, "none": "green"}


def print_diff(result: ContractDiff, out: Console) -> None:
    """The changes as a table (rule, severity, path, message) and a one-line summary."""
    from meshplane.diff import Severity

    head = f"{result.contract_id or 'contract'} {result.from_version} → {result.to_version}"
    out.print(f"[bold]{escape(head)}[/bold] [dim]({result.perspective.value} perspective)[/dim]")
    if result.changes:
        columns = [Column("rule", key=True), Column("severity", key=True), Column("path"), Column("message")]
        rows = [
            [
                escape(change.rule),
                f"[{_STYLE[change.severity]}]{change.severity.value}[/{_STYLE[change.severity]}]",
                f"[dim]{escape(change.path)}[/dim]",
                escape(change.message),
            ]
            for change in result.changes
        ]
        print_table(columns, rows, target=None if out is console else out)  # the console: fitted, piped plain
    else:
        out.print("no changes")
    level_style = _LEVEL_STYLE[result.level]
    tally = {severity: sum(1 for c in result.changes if c.severity is severity) for severity in Severity}
    counts = ", ".join(f"{n} {severity.value}" for severity, n in tally.items() if n)
    verdict = "[green]✓ semver ok[/green]" if result.semver_ok else "[bold red]✗ semver not ok[/bold red]"
    out.print(
        f"level [{level_style}]{result.level.value}[/{level_style}]"
        + (f" ({counts})" if counts else "")
        + f" · required bump [bold]{result.required_bump.value}[/bold] · {verdict}"
    )
    if result.semver_reason and result.changes:
        out.print(f"  [dim]{escape(result.semver_reason)}[/dim]")


def diff(
    old: Annotated[
        Path, typer.Argument(help="The old version of the contract.", metavar="OLD.odcs.yaml", show_default=False)
    ],
    new: Annotated[
        Path, typer.Argument(help="The new version of the contract.", metavar="NEW.odcs.yaml", show_default=False)
    ],
    *,
    output_format: Annotated[OutputFormat, typer.Option("--format", help="table or json.")] = OutputFormat.TABLE,
    perspective: Annotated[
        PerspectiveChoice,
        typer.Option(
            "--perspective",
            help="consumer: what breaks readers (loosening is breaking); producer: what breaks the "
            "producer's pipeline (tightening is breaking).",
        ),
    ] = PerspectiveChoice.CONSUMER,
) -> None:
    """Classify the changes between two versions of a data contract and check the version bump.

    Every change is judged by the rule table of docs/diff-rules.md: breaking → major,
    non-breaking → minor, documentation → patch. Exit 0 when the new version carries the required
    bump (or nothing changed), 1 when it does not, 2 when a file is missing or not a valid contract.
    """
    from meshplane.diff import Perspective, diff_contract_files

    try:
        result = diff_contract_files(old, new, Perspective(perspective.value))
    except MeshplaneError as exc:
        fail(exc.message, exc.exit_code, exc.diagnostics)
    if output_format is OutputFormat.JSON:
        print_json(result.to_dict())
    else:
        print_diff(result, console)
    raise typer.Exit(EXIT_OK if result.semver_ok else EXIT_FAILED)


def register(app: typer.Typer) -> None:
    """Add `diff` to the CLI."""
    app.command("diff")(diff)
