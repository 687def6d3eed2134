"""CSV on DuckDB: one sniff, then a typed read whose rejected values are counted, not fatal.

A CSV file has no types. The file is sniffed once per run (DuckDB's ``sniff_csv`` on a sample:
dialect, header, a type per column and the date/timestamp formats), then read as text with that
dialect fixed (no detection on later queries) and typed by a projection:

- a column the contract declares keeps the sniffed type when it belongs to the declared logical
  type's family, else it is read as the logical type's cast target (``integer`` -> BIGINT,
  ``number`` -> DOUBLE, ``date`` -> DATE, ...); ``string`` columns stay text (leading zeros kept);
- a column without a logical type keeps the sniffed type.

Each typed value is a safe cast (``TRY_CAST``, ``TRY_STRPTIME`` with the sniffed format): a value
that does not read as its type becomes NULL in the typed view, so min/max, uniqueness and SQL rules
compute over the values that do read, and one bad value never aborts the scan. The dataset's scan
view also carries each typed column's text; the type check counts the values present as text but
NULL once typed (the rejected values), per column, in the object's single scan.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from meshplane.engines.base import Engine

TEXT = "VARCHAR"


def sql_string(value: str) -> str:
    """A DuckDB string literal."""
    return exp.Literal.string(value).sql(dialect="duckdb")


def _option(value: Any) -> str:
    """A sniffed dialect option as read_csv wants it back (``(empty)`` is the empty string)."""
    text = str(value)
    return "" if text == "(empty)" else text


@dataclass(frozen=True)
class Sniffed:
    """What one sniff of a CSV file found: the dialect and a type per column."""

    options: dict[str, str]
    columns: list[tuple[str, str]]
    date_format: str | None = None
    timestamp_format: str | None = None


def sniff(run: Callable[[str], Any], file: str) -> Sniffed:
    """Sniff one file (a sample of its rows, as DuckDB's reader does by default)."""
    row = run(
        "SELECT Delimiter, Quote, Escape, Comment, SkipRows, Columns, DateFormat, TimestampFormat "
        f"FROM sniff_csv({sql_string(file)}, header = true)"
    ).fetchone()
    delim, quote, escape, comment, skip, columns, date_format, ts_format = row
    options = {"delim": _option(delim), "quote": _option(quote), "escape": _option(escape)}
    options["comment"] = _option(comment)
    options["skip"] = str(int(skip or 0))
    return Sniffed(
        options,
        [(str(c["name"]), str(c["type"])) for c in columns],
        str(date_format) if date_format else None,
        str(ts_format) if ts_format else None,
    )


@dataclass
class CsvRead:
    """The SQL of the reads: text source, typed projection, and the scan's text columns."""

    source: str
    typed: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    text_columns: dict[str, str] = field(default_factory=dict)

    def typed_select(self) -> str:
        """The typed view: one safely cast column per CSV column."""
        return f"SELECT {', '.join(self.typed)} FROM {self.source}"

    def scan_select(self) -> str:
        """The scan view: the typed columns and the text of those that are cast."""
        return f"SELECT {', '.join(self.typed + self.texts)} FROM {self.source}"


def text_source(pattern: str, sniffed: Sniffed, names: list[str] | None) -> str:
    """``read_csv`` of every column as text with the sniffed dialect.

    One file: the columns are given, nothing is detected again. Several files (a glob, a folder):
    each file's header is matched by name (``union_by_name``), every column read as text.
    """
    dialect = ", ".join(f"{key} = {sql_string(value)}" for key, value in sniffed.options.items() if key != "skip")
    where = sql_string(pattern)
    if names is None:
        return f"read_csv({where}, header = true, all_varchar = true, union_by_name = true, {dialect})"
    columns = ", ".join(f"{sql_string(n)}: {sql_string(TEXT)}" for n in names)
    skip = sniffed.options["skip"]
    return f"read_csv({where}, auto_detect = false, header = true, skip = {skip}, {dialect}, columns = {{{columns}}})"


def plan_read(
    engine: Engine, sniffed: Sniffed, source: str, names: list[str], logical_types: Mapping[str, str]
) -> CsvRead:
    """The typed projection of `names` (the text source's columns)."""
    sniffed_types = {name.lower(): kind for name, kind in sniffed.columns}
    declared = {name.lower(): logical for name, logical in logical_types.items()}
    read = CsvRead(source)
    for index, name in enumerate(names):
        found = sniffed_types.get(name.lower(), TEXT)
        chosen = _chosen_type(engine, found, declared.get(name.lower()))
        column = engine.quote(name)
        if chosen == TEXT:
            read.typed.append(column)
            continue
        read.typed.append(f"{_typed_value(column, chosen, found, sniffed)} AS {column}")
        text = f"__meshplane_text_{index}"
        read.texts.append(f"{column} AS {engine.quote(text)}")
        read.text_columns[name] = text
    return read


def _chosen_type(engine: Engine, found: str, logical: str | None) -> str:
    if logical is None:
        return found
    if logical == "string":
        return TEXT
    family = engine.logical_types.get(logical)
    if family is not None and engine.parse_type(found).this in family:
        return found
    target = engine.cast_targets.get(logical)
    return target if target is not None else found


def _typed_value(column: str, chosen: str, found: str, sniffed: Sniffed) -> str:
    if chosen == found == "DATE" and sniffed.date_format:
        return f"CAST(TRY_STRPTIME({column}, {sql_string(sniffed.date_format)}) AS DATE)"
    if chosen == found == "TIMESTAMP" and sniffed.timestamp_format:
        return f"TRY_STRPTIME({column}, {sql_string(sniffed.timestamp_format)})"
    return f"TRY_CAST({column} AS {chosen})"
