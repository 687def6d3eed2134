"""Import a table of a PostgreSQL database, from its catalog: types, NOT NULL, primary key, UNIQUE, comments.

SOURCE is a connection URL (``postgresql://user@host:port/database``; the password from
``PGPASSWORD`` or ``~/.pgpass`` rather than the URL); `--table` names the table (``schema.table``
or ``table`` in ``public``). The session is read-only. psycopg is imported when the import runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from meshplane.interop import Column, Imported, ImportOptions, InteropError, Table, contract_document
from meshplane.interop.types import logical_type

KIND = "postgres"
DESCRIPTION = "a table of a PostgreSQL database (SOURCE a postgresql:// URL, --table SCHEMA.TABLE), from its catalog"
SOURCE_IS_URL = True
"""SOURCE is a connection URL, not a file."""

_COLUMNS = (
    "SELECT a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
    "col_description(a.attrelid, a.attnum) FROM pg_attribute a "
    "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"
)
_CONSTRAINTS = "SELECT contype, conkey, conname FROM pg_constraint WHERE conrelid = %s::regclass ORDER BY conname"


def _where(url: str) -> str:
    """The URL without user and password, for messages."""
    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path}"


def _table(con: Any, qualified: str, dropped: list[str]) -> Table:
    names: dict[int, str] = {}
    rows = con.execute(_COLUMNS, [qualified]).fetchall()
    keys: list[str] = []
    uniques: set[str] = set()
    for attnum, name, *_ in rows:
        names[int(attnum)] = str(name)
    for contype, conkey, conname in con.execute(_CONSTRAINTS, [qualified]).fetchall():
        columns = [names[int(n)] for n in conkey or [] if int(n) in names]
        if contype == "p":
            keys = columns
        elif contype == "u" and len(columns) == 1:
            uniques.add(columns[0])
        elif contype != "n":  # NOT NULL constraints (PostgreSQL 18) are read from the columns
            dropped.append(f"{qualified}: constraint {conname}")
    columns_out = []
    for _, name, physical, not_null, comment in rows:
        logical = logical_type(str(physical))
        if logical is None:
            dropped.append(f"{qualified}.{name}: type {physical} has no ODCS logical type (written as string)")
        position = keys.index(name) + 1 if name in keys else None
        columns_out.append(
            Column(str(name), logical or "string", str(physical), required=bool(not_null) or None,
                   key_position=position, unique=name in uniques and keys != [name], description=comment or None)
        )  # fmt: skip
    described = con.execute("SELECT obj_description(%s::regclass, 'pg_class')", [qualified]).fetchone()
    return Table(qualified.rsplit(".", 1)[-1], columns_out, described[0] if described and described[0] else None)


def read(source: Path, options: ImportOptions) -> Imported:
    """The contract of one PostgreSQL table."""
    url = str(source) if not isinstance(source, str) else source
    url = (
        url.replace("postgresql:/", "postgresql://", 1) if url.startswith("postgresql:/") and "://" not in url else url
    )
    if not url.startswith(("postgresql://", "postgres://")):
        raise InteropError(f"{_where(url)}: a postgres SOURCE is a postgresql://user@host:port/database URL")
    if not options.table:
        raise InteropError("name the table to import with --table SCHEMA.TABLE")
    try:
        import psycopg
    except ImportError:
        raise InteropError("psycopg is not installed: pip install 'meshplane[postgres]'") from None
    qualified = options.table if "." in options.table else f"public.{options.table}"
    dropped: list[str] = []
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as con:
            con.execute("SET default_transaction_read_only = on")
            table = _table(con, qualified, dropped)
    except psycopg.errors.UndefinedTable:
        raise InteropError(f"no table {qualified!r} in the database at {_where(url)}") from None
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InteropError(f"cannot read {qualified} at {_where(url)}: {first}") from None
    notes = [f"{table.name}.{c.name}: {c.physical_type} → {c.logical_type}" for c in table.columns]
    document = contract_document([table], Path(table.name), options)
    document["description"] = {"purpose": f"Imported from the PostgreSQL table {qualified}."}
    return Imported(document, notes, dropped)
