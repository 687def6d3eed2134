"""Shared presentation helpers for CLI commands: consoles, diagnostics, exit codes."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NoReturn

import typer
from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

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


PIPED_WIDTH = 120
"""Width of tables written to a pipe or a file when COLUMNS does not say (a log line, not a 200-column wall)."""


def output_width() -> int:
    """Columns available to a table: the terminal's; when piped, COLUMNS or `PIPED_WIDTH`."""
    if console.is_terminal:
        return console.width
    try:
        return max(int(os.environ.get("COLUMNS", "")), 20)
    except ValueError:
        return PIPED_WIDTH


def wide_console() -> Console:
    """The console for wide output (trees, tables): the terminal, or a plain one at `output_width` when piped."""
    return console if console.is_terminal else Console(width=output_width(), highlight=False, soft_wrap=True)


@dataclass(frozen=True)
class Column:
    """A column of `print_table`.

    `key`: its values are ids, never cut nor wrapped (the table drops other columns first).
    `drop`: 0 for columns always shown; the higher, the sooner it is left out when the table does not fit
    (`--wide` keeps every column).
    """

    header: str
    key: bool = False
    drop: int = 0
    justify: Literal["left", "right", "center"] = "left"


Cell = str | Text


def _plain(cell: Cell) -> Text:
    return cell if isinstance(cell, Text) else Text.from_markup(cell)


def _widths(columns: Sequence[Column], rows: Sequence[Sequence[Text]], index: int) -> tuple[int, int]:
    """(narrowest, widest) a column renders: a key column whole, another down to its longest word."""
    lines = [line for row in rows for line in row[index].plain.splitlines()]
    header = columns[index].header.split()
    whole = max((cell_len(line) for line in lines), default=0)
    word = max((cell_len(w) for w in [*header, *(w for line in lines for w in line.split())]), default=0)
    full = cell_len(columns[index].header)  # a key column's header does not wrap either
    return (max(whole, full) if columns[index].key else word), max(whole, full)


def _span(columns: Sequence[Column], rows: Sequence[Sequence[Text]], shown: Sequence[int], widest: bool) -> int:
    """Width of the table of the `shown` columns: their narrowest (or widest) widths and 3 between columns."""
    return sum(_widths(columns, rows, i)[1 if widest else 0] for i in shown) + 3 * max(len(shown) - 1, 0)


def _build(columns: Sequence[Column], rows: Sequence[Sequence[Text]], shown: Sequence[int], title: str | None) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, title_justify="left")
    for index in shown:
        column = columns[index]
        narrowest = _widths(columns, rows, index)[0]
        table.add_column(
            column.header,
            justify=column.justify,
            no_wrap=column.key,
            overflow="fold",
            min_width=narrowest if column.key else None,
        )
    for row in rows:
        table.add_row(*(row[i] for i in shown))
    return table


def fit_columns(columns: Sequence[Column], rows: Sequence[Sequence[Cell]], width: int, *, wide: bool) -> list[int]:
    """Indexes of the columns shown at `width` (all with `wide`): droppable ones go, most droppable first."""
    texts = [[_plain(cell) for cell in row] for row in rows]
    shown = list(range(len(columns)))
    if wide:
        return shown
    order = sorted((i for i, c in enumerate(columns) if c.drop), key=lambda i: (-columns[i].drop, -i))
    for index in order:
        if _span(columns, texts, shown, False) <= width:
            break
        shown.remove(index)
    return shown


def print_table(
    columns: Sequence[Column],
    rows: Sequence[Sequence[Cell]],
    *,
    title: str | None = None,
    wide: bool = False,
) -> list[str]:
    """Print a table fitting the terminal (or `output_width` when piped); returns the headers left out.

    Key columns (ids, states, flags) are never cut nor wrapped: the least important columns are left out
    first (a line says which; `--wide` shows them all, each cell on one line), then other cells wrap. When
    even the key columns are wider than the terminal, the table is written wider (the terminal wraps lines).
    Cells are Rich markup or `Text`; piped output carries no styles.
    """
    width = output_width()
    texts = [[_plain(cell) for cell in row] for row in rows]
    shown = fit_columns(columns, texts, width, wide=wide)
    table = _build(columns, texts, shown, title)
    target_width = max(width, _span(columns, texts, shown, wide))
    target = console if console.is_terminal and target_width == console.width else None
    if target is None:
        target = Console(width=target_width, highlight=False, soft_wrap=False, no_color=not console.is_terminal)
    target.print(table)
    left_out = [columns[i].header for i in range(len(columns)) if i not in shown]
    if left_out:
        target.print(f"(not shown at this width: {', '.join(left_out)}; --wide shows every column)", markup=False)
    return left_out
