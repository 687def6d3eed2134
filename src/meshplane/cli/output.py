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
    """The console on a terminal; a wide one when piped, for output not laid out by `print_table` (trees)."""
    return console if console.is_terminal else Console(width=200, highlight=False, soft_wrap=True)


@dataclass(frozen=True)
class Column:
    """A column of `print_table`.

    `key`: its values are ids (states, flags, dates): never cut, a cell wraps only between words (the
    table drops other columns first).
    `drop`: 0 for columns always shown; the higher, the sooner it is left out when the table does not fit
    (`--wide` keeps every column).
    """

    header: str
    key: bool = False
    drop: int = 0
    justify: Literal["left", "right", "center"] = "left"


Cell = str | Text
_GAP = 2  # between two columns: the right padding and the (blank) rule
_FOLD_AT = 16  # a column that is not a key gets this narrow at most before dropping (longer words fold)


def _plain(cell: Cell) -> Text:
    return cell if isinstance(cell, Text) else Text.from_markup(cell)


def _widths(columns: Sequence[Column], rows: Sequence[Sequence[Text]], index: int) -> tuple[int, int]:
    """(narrowest, widest) a column renders: no narrower than its longest word (a key column: never folded)."""
    lines = [line for row in rows for line in row[index].plain.splitlines()]
    header = columns[index].header.split()
    whole = max((cell_len(line) for line in lines), default=0)
    word = max((cell_len(w) for w in [*header, *(w for line in lines for w in line.split())]), default=0)
    longest_id = max((cell_len(w) for line in lines for w in line.split()), default=0)
    full = cell_len(columns[index].header)
    narrowest = max([longest_id, *(cell_len(h) for h in header)]) if columns[index].key else min(word, _FOLD_AT)
    return narrowest, max(whole, full)


def _span(
    columns: Sequence[Column],
    rows: Sequence[Sequence[Text]],
    shown: Sequence[int],
    widest: bool,
    *,
    whole_keys: bool = False,
) -> int:
    """Width of the table of the `shown` columns: their narrowest (or widest; `whole_keys`: key columns widest)
    widths and the gaps between."""
    total = sum(_widths(columns, rows, i)[1 if widest or (whole_keys and columns[i].key) else 0] for i in shown)
    return total + _GAP * max(len(shown) - 1, 0)


def _allot(columns: Sequence[Column], rows: Sequence[Sequence[Text]], shown: Sequence[int], width: int) -> list[int]:
    """Content width per shown column: each its widest; when too wide, the widest other columns give way
    first (down to their longest word), then the widest key columns (down to their longest word)."""
    spans = [_widths(columns, rows, i) for i in shown]
    widths = [widest for _, widest in spans]
    excess = sum(widths) + _GAP * max(len(shown) - 1, 0) - width
    for keys in (False, True):
        while excess > 0:
            cut = [n for n, i in enumerate(shown) if columns[i].key is keys and widths[n] > spans[n][0]]
            if not cut:
                break
            widest = max(cut, key=lambda n: widths[n])
            widths[widest] -= 1
            excess -= 1
    return widths


def _build(
    columns: Sequence[Column], rows: Sequence[Sequence[Text]], shown: Sequence[int], title: str | None, width: int
) -> Table:
    table = Table(
        title=title, box=box.SIMPLE_HEAD, padding=(0, 1, 0, 0), show_edge=False, pad_edge=False, title_justify="left"
    )
    for index, allotted in zip(shown, _allot(columns, rows, shown, width), strict=True):
        # a key column is never narrower than its longest word (an id): it wraps between words only
        table.add_column(columns[index].header, justify=columns[index].justify, overflow="fold", width=allotted)
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
    for index in order:  # until every key cell is on one line and the other columns fit by wrapping
        if _span(columns, texts, shown, False, whole_keys=True) <= width:
            break
        shown.remove(index)
    return shown


def print_table(
    columns: Sequence[Column],
    rows: Sequence[Sequence[Cell]],
    *,
    title: str | None = None,
    wide: bool = False,
    target: Console | None = None,
) -> list[str]:
    """Print a table fitting the terminal (or `output_width` when piped); returns the headers left out.

    Key columns (ids, states, flags, dates) are never cut: their cells wrap between words only, and the least
    important columns are left out first (a line says which; `--wide` shows them all, each cell on one line),
    then other cells wrap. When even the key columns' longest words do not fit, the table is written wider.
    Cells are Rich markup or `Text`; piped output carries no styles. `target`: print there (a file) at its width.
    """
    width = target.width if target is not None else output_width()
    texts = [[_plain(cell) for cell in row] for row in rows]
    shown = fit_columns(columns, texts, width, wide=wide)
    needed = max(width, _span(columns, texts, shown, wide))
    table = _build(columns, texts, shown, title, needed)
    if target is None:
        target = console if console.is_terminal and needed == console.width else None
    if target is None:
        target = Console(width=needed, highlight=False, no_color=not console.is_terminal)
    elif needed > target.width:  # a file: as wide as the key columns need
        target = Console(file=target.file, width=needed, highlight=False, no_color=target.no_color)
    target.print(table)
    left_out = [columns[i].header for i in range(len(columns)) if i not in shown]
    if left_out:
        target.print(
            f"(not shown at this width: {', '.join(left_out)}; --wide shows every column)", markup=False, soft_wrap=True
        )
    return left_out
