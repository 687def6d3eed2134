"""Bulk inserts and updates of many rows: straight through the driver on SQLite, SQLAlchemy elsewhere.

Deriving lineage writes thousands of rows per transaction. SQLAlchemy's ``executemany`` builds a
parameter dictionary per row and looks up each value's processing every time, which costs more
than SQLite's own work. On SQLite these functions convert the values with the same bind
processors SQLAlchemy would use (timestamps, JSON, booleans: the column types' own), once per
column, and hand positional rows to the driver's ``executemany``. Every row must have the same
keys. tests/registry/test_registry_bulk.py holds both paths to the same stored values.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

_Processor = Callable[[Any], Any] | None


def _processors(connection: sa.Connection, table: sa.Table, names: Sequence[str]) -> list[_Processor]:
    dialect = connection.dialect
    return [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names]


def _remembering(processor: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`processor`, converting each distinct value once per call of `_rows` (the rows of a batch repeat their
    timestamps: first and last seen, statistics and schema times). Keyed by type and value: ``True`` and
    ``1`` are equal but a JSON column stores them apart; lists and dicts (JSON) are converted each time."""
    done: dict[tuple[type, Any], Any] = {}

    def convert(value: Any) -> Any:
        if isinstance(value, list | dict):
            return processor(value)
        key = (value.__class__, value)
        try:
            found = done.get(key, done)
        except TypeError:  # unhashable inside (a tuple holding a list)
            return processor(value)
        if found is done:
            found = done[key] = processor(value)
        return found

    return convert


def _rows(processors: Sequence[_Processor], names: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> list[Any]:
    pairs = [(n, _remembering(p) if p else None) for n, p in zip(names, processors, strict=True)]
    return [tuple([p(row[n]) if p else row[n] for n, p in pairs]) for row in rows]


@contextlib.contextmanager
def driver_errors(statement: str) -> Iterator[None]:
    """Errors of the SQLite driver as SQLAlchemy raises them (``OperationalError`` for a locked or full
    database, ``IntegrityError``...), so that callers handle one kind whichever path wrote."""
    try:
        yield
    except sqlite3.Error as exc:
        raise sa.exc.DBAPIError.instance(statement, None, exc, sqlite3.Error) from exc


def _driver_executemany(connection: sa.Connection, statement: str, params: list[Any]) -> None:
    driver = connection.connection.driver_connection
    assert driver is not None
    cursor = driver.cursor()
    try:
        with driver_errors(statement):
            cursor.executemany(statement, params)
    finally:
        cursor.close()


def insert_rows(connection: sa.Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT every row (dicts of column → value, all with the same keys) in one executemany."""
    if not rows:
        return
    if connection.dialect.name != "sqlite":
        connection.execute(table.insert(), list(rows))
        return
    names = list(rows[0])
    quote = connection.dialect.identifier_preparer.quote
    statement = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) VALUES ({', '.join('?' * len(names))})"
    )
    _driver_executemany(connection, statement, _rows(_processors(connection, table, names), names, rows))


_UPDATES: dict[tuple[str, str, tuple[str, ...]], sa.Update] = {}


def update_rows(connection: sa.Connection, table: sa.Table, key: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """UPDATE table SET ... WHERE key = row[key] for every row (same keys in every row), in one executemany."""
    if not rows:
        return
    names = [name for name in rows[0] if name != key]
    if connection.dialect.name != "sqlite":
        update = _UPDATES.get((table.name, key, tuple(names)))
        if update is None:
            update = _UPDATES[(table.name, key, tuple(names))] = (
                table.update()
                .where(table.c[key] == sa.bindparam("_key"))
                .values({name: sa.bindparam(f"_{name}") for name in names})
            )
        connection.execute(update, [{f"_{k}": v for k, v in row.items()} | {"_key": row[key]} for row in rows])
        return
    quote = connection.dialect.identifier_preparer.quote
    assignments = ", ".join(f"{quote(n)} = ?" for n in names)
    statement = f"UPDATE {quote(table.name)} SET {assignments} WHERE {quote(key)} = ?"
    columns = [*names, key]
    _driver_executemany(connection, statement, _rows(_processors(connection, table, columns), columns, rows))


__all__ = ["insert_rows", "update_rows"]
