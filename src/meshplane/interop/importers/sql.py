"""Import SQL DDL (``CREATE TABLE``) in any dialect sqlglot reads: one schema object per table.

Column names, types (the DDL's, as `physicalType`, rendered in the source dialect), ``NOT NULL``
(required), ``PRIMARY KEY`` (inline or as a table constraint, with positions) and ``UNIQUE``.
Other statements, defaults, checks, foreign keys, partitioning and table options are dropped.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from meshplane.interop import Column, Imported, ImportOptions, InteropError, Table, contract_document
from meshplane.interop.types import logical_type

if TYPE_CHECKING:
    from sqlglot import exp

KIND = "sql"
DESCRIPTION = "SQL DDL (CREATE TABLE) in a dialect sqlglot reads (--dialect; default: generic SQL)"


def _text(source: Path) -> str:
    data = source.read_bytes()
    if b"\0" in data:
        raise InteropError(f"{source}: a binary file, not SQL DDL")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InteropError(f"{source}: not UTF-8 text (byte {exc.start})") from None


def _table(create: exp.Create, dialect: str | None, dropped: list[str]) -> Table | None:
    from sqlglot import exp

    schema = create.this
    if not isinstance(schema, exp.Schema):
        dropped.append(f"statement without columns: {create.sql(dialect=dialect)[:60]}")
        return None
    table = schema.this
    name = table.name if isinstance(table, exp.Table) else str(table)
    keys: list[str] = []
    uniques: set[str] = set()
    for item in schema.expressions:
        if isinstance(item, exp.PrimaryKey):
            keys += [c.name for c in item.expressions]
        elif isinstance(item, exp.UniqueColumnConstraint):
            cols = item.this.expressions if isinstance(item.this, exp.Schema) else []
            if len(cols) == 1:
                uniques.add(cols[0].name)
        elif not isinstance(item, exp.ColumnDef):
            dropped.append(f"{name}: constraint {item.sql(dialect=dialect)[:60]}")
    columns: list[Column] = []
    for col in (c for c in schema.expressions if isinstance(c, exp.ColumnDef)):
        kinds = [c.args.get("kind") for c in col.constraints]
        required = any(isinstance(k, exp.NotNullColumnConstraint) and not k.args.get("allow_null") for k in kinds)
        primary = any(isinstance(k, exp.PrimaryKeyColumnConstraint) for k in kinds)
        unique = any(isinstance(k, exp.UniqueColumnConstraint) for k in kinds) or col.name in uniques
        for k in kinds:
            if not isinstance(
                k, exp.NotNullColumnConstraint | exp.PrimaryKeyColumnConstraint | exp.UniqueColumnConstraint
            ):
                dropped.append(f"{name}.{col.name}: {k.sql(dialect=dialect) if k else '?'}")
        physical = col.args["kind"].sql(dialect=dialect) if col.args.get("kind") else "VARCHAR"
        logical = logical_type(physical)
        if logical is None:
            dropped.append(f"{name}.{col.name}: type {physical} has no ODCS logical type (written as string)")
        if primary:
            keys.append(col.name)
        columns.append(Column(col.name, logical or "string", physical, required=required or None, unique=unique))
    keyed = [
        Column(c.name, c.logical_type, c.physical_type, True, keys.index(c.name) + 1, c.unique) if c.name in keys else c
        for c in columns
    ]
    return Table(name, keyed)


def read(source: Path, options: ImportOptions) -> Imported:
    """The contract of every CREATE TABLE of a DDL file."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError

    text = _text(source)
    quiet = logging.getLogger("sqlglot")  # its "falling back to parsing as a 'Command'" is said below, once
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        statements = sqlglot.parse(text, read=options.dialect)
    except ParseError as exc:
        error = exc.errors[0] if exc.errors else {}
        first = f"{error.get('description', exc)} (line {error.get('line')}, column {error.get('col')})"
        raise InteropError(
            f"{source}: sqlglot cannot parse this DDL ({options.dialect or 'generic'}): {first}"
        ) from None
    except ValueError as exc:  # an unknown dialect name
        raise InteropError(f"--dialect {options.dialect}: {exc}") from None
    finally:
        quiet.setLevel(level)
    dropped: list[str] = []
    tables: list[Table] = []
    for statement in statements:
        if isinstance(statement, exp.Create) and str(statement.args.get("kind", "")).upper() == "TABLE":
            table = _table(statement, options.dialect, dropped)
            if table is not None:
                tables.append(table)
        elif statement is not None:
            dropped.append(f"statement: {statement.sql(dialect=options.dialect)[:60]}")
    if not tables:
        unread = [" ".join(st.sql().split())[:60] for st in statements if isinstance(st, exp.Command)]  # kept as text
        detail = f" (sqlglot could not read: {unread[0]})" if unread else ""
        raise InteropError(f"{source}: no CREATE TABLE statement found{detail}")
    notes = [f"{t.name}.{c.name}: {c.physical_type} → {c.logical_type}" for t in tables for c in t.columns]
    return Imported(contract_document(tables, source, options), notes, dropped)
