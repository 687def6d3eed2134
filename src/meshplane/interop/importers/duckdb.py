"""Import tables of a DuckDB database file, from its catalog: types, NOT NULL, primary keys, UNIQUE.

The file is opened read-only (nothing in it changes). `--table` picks one table (``schema.table``
or ``table``); without it every base table of the database is a schema object.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from meshplane.interop import Column, Imported, ImportOptions, InteropError, Table, contract_document
from meshplane.interop.types import logical_type

KIND = "duckdb"
DESCRIPTION = "tables of a DuckDB database file (--table T, else all), from its catalog"


def _tables(con: Any, wanted: str | None) -> list[tuple[str, str]]:
    rows = con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT internal AND NOT temporary "
        "AND database_name = current_database() ORDER BY schema_name, table_name"
    ).fetchall()
    found = [(str(s), str(t)) for s, t in rows]
    if wanted is None:
        return found
    schema, _, name = wanted.rpartition(".")
    chosen = [(s, t) for s, t in found if t == name and (not schema or s == schema)]
    if not chosen:
        names = ", ".join(f"{s}.{t}" for s, t in found) or "none"
        raise InteropError(f"no table {wanted!r} in the database (tables: {names})")
    return chosen[:1]


def _table(con: Any, schema: str, name: str, dropped: list[str]) -> Table:
    constraints = con.execute(
        "SELECT constraint_type, constraint_column_names FROM duckdb_constraints() "
        "WHERE schema_name = ? AND table_name = ? AND database_name = current_database()",
        [schema, name],
    ).fetchall()
    keys: list[str] = []
    uniques: set[str] = set()
    for kind, columns in constraints:
        if kind == "PRIMARY KEY":
            keys = [str(c) for c in columns]
        elif kind == "UNIQUE" and len(columns) == 1:
            uniques.add(str(columns[0]))
        elif kind in ("CHECK", "FOREIGN KEY", "UNIQUE"):
            dropped.append(f"{schema}.{name}: {kind} constraint on {', '.join(map(str, columns))}")
    rows = con.execute(
        "SELECT column_name, data_type, is_nullable, comment FROM duckdb_columns() "
        "WHERE schema_name = ? AND table_name = ? AND database_name = current_database() ORDER BY column_index",
        [schema, name],
    ).fetchall()
    columns = []
    for column, physical, nullable, comment in rows:
        logical = logical_type(str(physical))
        if logical is None:
            dropped.append(f"{name}.{column}: type {physical} has no ODCS logical type (written as string)")
        position = keys.index(column) + 1 if column in keys else None
        columns.append(
            Column(str(column), logical or "string", str(physical), required=(not nullable) or None,
                   key_position=position, unique=column in uniques and keys != [column], description=comment or None)
        )  # fmt: skip
    comment = con.execute(
        "SELECT comment FROM duckdb_tables() WHERE schema_name = ? AND table_name = ? "
        "AND database_name = current_database()",
        [schema, name],
    ).fetchone()
    return Table(name, columns, comment[0] if comment and comment[0] else None)


def read(source: Path, options: ImportOptions) -> Imported:
    """The contract of a DuckDB database's table (or tables)."""
    import duckdb

    try:
        con = duckdb.connect(str(source), read_only=True)
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InteropError(f"{source}: not a DuckDB database: {first}") from None
    dropped: list[str] = []
    with con:
        chosen = _tables(con, options.table)
        if not chosen:
            raise InteropError(f"{source}: the database has no table")
        tables = [_table(con, s, t, dropped) for s, t in chosen]
    notes = [f"{t.name}.{c.name}: {c.physical_type} → {c.logical_type}" for t in tables for c in t.columns]
    return Imported(contract_document(tables, source, options), notes, dropped)
