"""PostgreSQL: contract checks run inside the database, one SELECT per schema object.

Servers of type ``postgres`` / ``postgresql`` (``host``, ``port``, ``database``, ``schema``).
Credentials come from the environment, named after the server and bound to where they may go
(`engines.credentials`): ``MESHPLANE_SERVER_<SERVER>_USERNAME`` and ``_PASSWORD`` with
``_HOST`` (and ``_PORT``, ``_DATABASE``), or a whole connection string in
``MESHPLANE_SERVER_<SERVER>_DSN`` (libpq keywords or a ``postgresql://`` URL) whose own host, port
and database are its binding. They are sent only when the server declares that location (port
5432 when omitted); otherwise the run ends with an error before anything is connected.
``PGPASSWORD`` is never used for a contract's server (it is bound to no host); ``~/.pgpass``
(which libpq matches by host, port, database and user) and libpq's other variables
(``PGSSLMODE``, ...) apply as usual.

The session is read-only, in UTC. Every query runs in
its own ``READ ONLY`` transaction that is rolled back afterwards (a setting a query changes is
undone with it), under a ``statement_timeout`` (setting ``query_timeout_seconds``). SQL rules are
also parsed first and refused when they call a function on `DENIED_FUNCTIONS` (files, large
objects, other connections, settings, sleeping, sequences, other queries as text) or read another
schema or the system catalog. Functions of the database itself run as written: give meshplane a
role that has SELECT on the data and nothing else. Column types come from the
catalog (``pg_attribute`` / ``pg_type``): domains are checked as their base type, enums as
strings, arrays and composite types by their element and field types.

PostgreSQL has no ``TRY_CAST`` (and ``pg_input_is_valid`` needs version 16): a value is cast only
when its text has the shape of the target type, checked by a regular expression and, for dates,
by calendar arithmetic, so one bad value never aborts the object's scan (see `SAFE_CASTS`).

psycopg 3 is optional (``pip install 'meshplane[postgres]'``) and imported only when a run starts.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import sqlglot
from sqlglot import exp

from meshplane.engines.base import (
    CAST_TARGETS,
    Column,
    Dataset,
    DatasetNotFound,
    DatasetRequest,
    DType,
    Engine,
    EngineError,
    QueryError,
    QueryResult,
    Session,
    quoted_table,
)
from meshplane.engines.credentials import CredentialError, Location, bound_credential, server_variable
from meshplane.settings import get_settings

if TYPE_CHECKING:
    from meshplane.spec.odcs import Server

INSTALL_HINT = "pip install 'meshplane[postgres]'"
DEFAULT_PORT = 5432

_VALUE = "__value__"
_DATE = r"(000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})-(0?[1-9]|1[0-2])-(0?[1-9]|[12][0-9]|3[01])"
_TIME = r"([01]?[0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.][0-9]+)?)?"
_ZONE = r"(Z|z|[+-](0?[0-9]|1[0-5])(:?[0-5][0-9])?)"
_STAMP = rf"^ *{_DATE}([T ]{_TIME} *{_ZONE}?)? *$"
_CALENDAR = """
    CASE WHEN {v} ~ '{stamp}' THEN
      CASE WHEN CAST(REGEXP_REPLACE(SPLIT_PART(TRIM({v}), '-', 3), '[^0-9].*$', '') AS INT) <=
        CASE CAST(SPLIT_PART(TRIM({v}), '-', 2) AS INT)
          WHEN 2 THEN CASE WHEN (CAST(SPLIT_PART(TRIM({v}), '-', 1) AS INT) % 4 = 0
                                 AND CAST(SPLIT_PART(TRIM({v}), '-', 1) AS INT) % 100 <> 0)
                                OR CAST(SPLIT_PART(TRIM({v}), '-', 1) AS INT) % 400 = 0 THEN 29 ELSE 28 END
          WHEN 4 THEN 30 WHEN 6 THEN 30 WHEN 9 THEN 30 WHEN 11 THEN 30 ELSE 31 END
      THEN CAST(TRIM({v}) AS {to}) END
    END"""
_MAX_DOUBLE = "1.7976931348623157e308"
_MIN_DOUBLE = "2.4703282292062328e-324"

SAFE_CASTS: dict[DType, str] = {
    DType.BIGINT: """
        CASE WHEN {v} ~ '^ *[+-]?[0-9]+([.]0*)? *$' AND LENGTH({v}) <= 1000 THEN
          CASE WHEN CAST({v} AS NUMERIC) BETWEEN -9223372036854775808 AND 9223372036854775807
          THEN CAST(CAST({v} AS NUMERIC) AS BIGINT) END
        END""",
    DType.DOUBLE: f"""
        CASE WHEN LOWER(TRIM({{v}})) IN ('nan', 'inf', '+inf', '-inf', 'infinity', '+infinity', '-infinity')
          THEN CAST(TRIM({{v}}) AS DOUBLE PRECISION)
        WHEN {{v}} ~ '^ *[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]{{1,4}})? *$' AND LENGTH({{v}}) <= 1000 THEN
          CASE WHEN CAST({{v}} AS NUMERIC) > {_MAX_DOUBLE} THEN CAST('Infinity' AS DOUBLE PRECISION)
          WHEN CAST({{v}} AS NUMERIC) < -{_MAX_DOUBLE} THEN CAST('-Infinity' AS DOUBLE PRECISION)
          WHEN ABS(CAST({{v}} AS NUMERIC)) < {_MIN_DOUBLE} THEN CAST(0 AS DOUBLE PRECISION)
          ELSE CAST({{v}} AS DOUBLE PRECISION) END
        END""",
    DType.BOOLEAN: """
        CASE WHEN LOWER(TRIM({v})) IN ('t', 'true', 'f', 'false', 'y', 'yes', 'n', 'no', '1', '0')
        THEN CAST(TRIM({v}) AS BOOLEAN) END""",
    DType.DATE: _CALENDAR.replace("{stamp}", _STAMP).replace("{to}", "DATE"),
    DType.TIMESTAMPTZ: _CALENDAR.replace("{stamp}", _STAMP).replace("{to}", "TIMESTAMPTZ"),
    DType.TIME: f"CASE WHEN {{v}} ~ '^ *{_TIME} *$' THEN CAST(TRIM({{v}}) AS TIME) END",
}
"""Target type -> SQL of a cast that yields NULL instead of an error; ``{v}`` is the value as text.

The accepted spellings are the ones DuckDB's and Spark's safe casts also accept: integers (``12``,
``+7``, `` 12 ``, ``10.00``), decimal and exponent numbers, ``nan``/``inf``/``infinity``; the
booleans ``t``/``true``/``y``/``yes``/``1`` and their negations; ISO dates and timestamps
(``2026-03-02``, ``2026-03-02T10:00:00Z``, ``2026-03-02 10:00:00.5+02:00``) that exist in the
calendar; times ``HH:MM[:SS[.f]]``. Numbers beyond the double range become ±Infinity, as in
DuckDB and Spark. Any other spelling is NULL (the column's type check counts it).
"""

DENIED_FUNCTIONS: frozenset[str] = frozenset(
    {
        "lo_*", "loread", "lowrite", "pg_read_*", "pg_ls_*", "pg_stat_file", "pg_file_*", "dblink*",
        "set_config", "pg_sleep*", "pg_terminate_backend", "pg_cancel_backend", "pg_reload_conf",
        "pg_rotate_logfile*", "pg_promote", "pg_logical_*", "pg_replication_*", "pg_create_*", "pg_drop_*",
        "pg_copy_*", "pg_switch_wal", "pg_backup_*", "pg_start_backup", "pg_stop_backup", "pg_wal_replay_*",
        "pg_advisory_*", "pg_try_advisory_*", "pg_notify", "pg_export_snapshot", "pg_import_system_collations",
        "pg_stat_reset*", "pg_log_backend_memory_contexts", "pg_current_xact_id*", "txid_current*",
        "nextval", "setval", "query_to_xml*", "cursor_to_xml*", "table_to_xml*", "schema_to_xml*",
        "database_to_xml*",
    }
)  # fmt: skip
"""Functions a SQL rule may not call on PostgreSQL (``name*``: every name with that prefix)."""

PHYSICAL_ALIASES: dict[str, str] = {"serial": "integer", "bigserial": "bigint", "smallserial": "smallint"}
"""Declared `physicalType` spellings that are not types but column defaults, -> their type."""

_RELATION = """
SELECT c.oid, c.relname, has_table_privilege(c.oid, 'SELECT')
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %(schema)s AND c.relkind IN ('r', 'v', 'm', 'f', 'p') AND lower(c.relname) = lower(%(table)s)
ORDER BY c.relname = %(table)s DESC, c.relname LIMIT 1
"""
_ATTRIBUTES = """
SELECT a.attname, a.atttypid, a.atttypmod, pg_catalog.format_type(a.atttypid, a.atttypmod)
FROM pg_catalog.pg_attribute a
WHERE a.attrelid = %(relation)s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum
"""
_TYPE = """
SELECT t.typtype, t.typcategory, t.typelem, t.typbasetype, t.typtypmod, t.typrelid,
       pg_catalog.format_type(t.typbasetype, t.typtypmod)
FROM pg_catalog.pg_type t WHERE t.oid = %(oid)s
"""


@cache
def _template(target: DType) -> exp.Expr | None:
    """The parsed safe-cast template of a target type (with a ``__value__`` column)."""
    text = SAFE_CASTS.get(target)
    if text is None:
        return None
    return sqlglot.parse_one(text.replace("{v}", _VALUE), read="postgres")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class PostgresSession(Session):
    """A read-only connection to one PostgreSQL database."""

    def __init__(self, engine: PostgresEngine, server: Server, base_dir: Path) -> None:
        super().__init__(engine)
        try:
            import psycopg
        except ImportError as exc:
            raise EngineError(f"psycopg is not installed: {INSTALL_HINT}") from exc
        self._errors = psycopg.Error
        self.server = server
        self.schema = str(server.setting("schema") or "public")
        params = connection_params(server)
        try:
            self.conn = psycopg.connect(**params)
        except psycopg.Error as exc:
            shown = server_variable(server, "DSN") if "conninfo" in params else _where(params)
            problem = f"cannot connect to PostgreSQL server '{server.server}' ({shown}): {_first_line(exc)}"
            if os.environ.get("PGPASSWORD") and not params.get("password"):
                problem += (
                    f" (PGPASSWORD is not sent to a contract's server: set {server_variable(server, 'PASSWORD')} "
                    f"and bind it with {server_variable(server, 'HOST')})"
                )
            raise EngineError(problem) from exc
        info = self.conn.info
        self.location = f"postgresql://{info.host}:{info.port}/{info.dbname}"
        self._types: dict[tuple[int, int], exp.DataType] = {}
        timeout_ms = max(1, round(get_settings().query_timeout_seconds * 1000))
        try:
            for statement in (
                "SET default_transaction_read_only = on",
                "SET TIME ZONE 'UTC'",
                f"SET statement_timeout = {timeout_ms}",
            ):
                self.conn.execute(statement)
            # from here on every query is its own READ ONLY transaction, always rolled back
            self.conn.autocommit = False
            self.conn.read_only = True
        except psycopg.Error as exc:
            self.conn.close()
            raise EngineError(f"cannot prepare the PostgreSQL session: {_first_line(exc)}") from exc

    def close(self) -> None:
        self.conn.close()

    # -- datasets ------------------------------------------------------------------------------

    def open(self, request: DatasetRequest) -> Dataset:
        found = self._fetch(_RELATION, {"schema": self.schema, "table": request.table})
        if not found:
            raise DatasetNotFound(f"table {self.schema}.{request.table} not found in {self.location}")
        relation, name, readable = found[0]
        if not readable:
            raise QueryError(f"no SELECT privilege on {self.schema}.{name} for the connecting user")
        columns = []
        for column, type_oid, typmod, shown in self._fetch(_ATTRIBUTES, {"relation": relation}):
            columns.append(Column(str(column), self._type(int(type_oid), int(typmod), str(shown)), str(shown)))
        ref = quoted_table(self.schema, str(name))
        return Dataset(request.object_name, ref, columns, f"{self.location}/{self.schema}.{name}", "postgres")

    def _type(self, oid: int, typmod: int, shown: str) -> exp.DataType:
        """A column type from the catalog: domains as their base type, enums as strings, arrays, composites."""
        key = (oid, typmod)
        if key not in self._types:
            self._types[key] = self._resolve(oid, typmod, shown)
        return self._types[key]

    def _resolve(self, oid: int, typmod: int, shown: str) -> exp.DataType:
        row = self._fetch(_TYPE, {"oid": oid})
        if not row:
            return self.engine.parse_type(shown)
        kind, category, element, base, base_mod, relation, base_shown = row[0]
        if kind == "d":
            return self._type(int(base), int(base_mod), str(base_shown))
        if kind == "e":
            return exp.DataType(this=DType.ENUM)
        if kind == "c":
            fields = [
                exp.ColumnDef(
                    this=exp.to_identifier(str(name), quoted=True),
                    kind=self._type(int(field_oid), int(field_mod), str(field_shown)),
                )
                for name, field_oid, field_mod, field_shown in self._fetch(_ATTRIBUTES, {"relation": relation})
            ]
            return exp.DataType(this=DType.STRUCT, expressions=fields, nested=True)
        if category == "A" and int(element):
            inner = self._type(int(element), typmod, shown.removesuffix("[]"))
            return exp.DataType(this=DType.ARRAY, expressions=[inner], nested=True)
        return self.engine.parse_type(shown)

    # -- queries -------------------------------------------------------------------------------

    def _fetch(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        try:
            return list(self.conn.execute(sql, params).fetchall())
        except self._errors as exc:
            raise QueryError(_first_line(exc)) from exc
        finally:
            self._end()

    def _end(self) -> None:
        """Roll the query's read-only transaction back: nothing it did (or set) outlives it."""
        with contextlib.suppress(self._errors):  # a broken connection: the next query reports it
            self.conn.rollback()

    def execute(self, query: exp.Expr | str) -> QueryResult:
        sql = query if isinstance(query, str) else self.engine.render(query)
        try:
            with self.conn.cursor() as cursor:
                cursor.execute(sql)  # no parameters: a % in the SQL stays as written
                if cursor.description is None:
                    raise QueryError("the statement returned no rows")
                names = [d.name for d in cursor.description]
                return QueryResult(names, [tuple(row) for row in cursor.fetchall()])
        except self._errors as exc:
            raise QueryError(_first_line(exc)) from exc
        finally:
            self._end()


def connection_params(server: Server, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """psycopg connection arguments for a server: its fields, and its credential when bound to them.

    Raises `CredentialError` (before anything is connected) when a credential is configured for
    the server id but bound elsewhere than the server declares, or bound to nothing.
    """
    credential = bound_credential(server, default_port=DEFAULT_PORT, environ=environ, dsn_location=dsn_location)
    params: dict[str, Any] = {"autocommit": True, "connect_timeout": 10, "application_name": "meshplane"}
    if credential and credential.dsn:
        # a SQLAlchemy URL (postgresql+psycopg://) works too; its location is the server's (checked)
        params["conninfo"] = _libpq_dsn(credential.dsn)
    else:
        for key, field in (("host", "host"), ("port", "port"), ("dbname", "database")):
            value = server.setting(field)
            if value not in (None, ""):
                params[key] = str(value)
    if credential and credential.username:
        params["user"] = credential.username
    if credential and credential.password:
        params["password"] = credential.password
    elif not (credential and credential.dsn and _dsn_fields(credential.dsn).get("password")):
        params["password"] = ""  # an empty password, not NULL: libpq then never reads PGPASSWORD (~/.pgpass still)
    return params


def dsn_location(dsn: str) -> Location:
    """The host, port and database a connection string names (its binding); CredentialError if unreadable."""
    fields = _dsn_fields(dsn)
    raw_port = fields.get("port") or None
    if raw_port is not None and not raw_port.strip().isdigit():
        raise CredentialError(f"its port is not one port number: {raw_port!r}")
    return Location(fields.get("host") or None, int(raw_port) if raw_port else None, fields.get("dbname") or None)


def _libpq_dsn(dsn: str) -> str:
    return dsn.replace("postgresql+psycopg://", "postgresql://", 1)


def _dsn_fields(dsn: str) -> dict[str, str]:
    try:
        from psycopg.conninfo import conninfo_to_dict
    except ImportError as exc:
        raise EngineError(f"psycopg is not installed: {INSTALL_HINT}") from exc
    try:
        return {key: str(value) for key, value in conninfo_to_dict(_libpq_dsn(dsn)).items() if value is not None}
    except Exception:  # psycopg.ProgrammingError; its text may quote the secret, so it is not shown
        raise CredentialError("it is not a connection string (libpq keywords or a postgresql:// URL)") from None


def _where(params: dict[str, Any]) -> str:
    host, port, db = params.get("host", "?"), params.get("port", "5432"), params.get("dbname", "?")
    return f"{host}:{port}/{db}"


def _alias_derived_tables(tree: exp.Expr) -> exp.Expr:
    """PostgreSQL < 16 needs an alias on every subquery in FROM (portable SQL rules omit it)."""
    unnamed = [
        node for node in tree.find_all(exp.Subquery) if not node.alias and isinstance(node.parent, exp.From | exp.Join)
    ]
    for index, node in enumerate(unnamed):
        node.set("alias", exp.TableAlias(this=exp.to_identifier(f"_derived{index}")))
    return tree


def _composite_fields(node: exp.Expr) -> exp.Expr:
    """``("col")."field"``: without the parentheses PostgreSQL reads ``col`` as a table name."""
    field = isinstance(node, exp.Dot) and isinstance(node.expression, exp.Identifier)
    if field and isinstance(node.this, exp.Column) and not node.this.table:
        node.set("this", exp.Paren(this=node.this))
    return node


def _count_if_as_filter(node: exp.Expr) -> exp.Expr:
    """``COUNT_IF(p)`` as ``COUNT(*) FILTER (WHERE p)``: the aggregate PostgreSQL runs fastest."""
    if isinstance(node, exp.CountIf) and not isinstance(node.parent, exp.Filter):
        return exp.Filter(this=exp.Count(this=exp.Star()), expression=exp.Where(this=node.this))
    return node


class PostgresEngine(Engine):
    """PostgreSQL (9.6 and later; tested on 15): checks run as SQL inside the database."""

    name: ClassVar[str] = "postgres"
    dialect: ClassVar[str] = "postgres"
    server_types: ClassVar[frozenset[str]] = frozenset({"postgres", "postgresql"})
    preferred_for: ClassVar[frozenset[str]] = frozenset({"postgres", "postgresql"})
    cast_targets = {**CAST_TARGETS, "string": "TEXT"}
    denied_functions = DENIED_FUNCTIONS
    denied_relations = frozenset({"pg_*"})

    def missing_requirement(self) -> str | None:
        if importlib.util.find_spec("psycopg") is None:
            return f"psycopg is not installed: {INSTALL_HINT}"
        return None

    def connect(self, server: Server, base_dir: Path) -> Session:
        return PostgresSession(self, server, base_dir)

    def parse_type(self, raw: str) -> exp.DataType:
        return super().parse_type(PHYSICAL_ALIASES.get(raw.strip().lower(), raw))

    def safe_cast(self, value: exp.Expr, to: exp.DataType) -> exp.Expr:
        text = exp.Cast(this=value.copy(), to=exp.DataType.build("TEXT"))
        if to.this in (DType.TEXT, DType.VARCHAR):
            return text
        template = _template(to.this)
        if template is None:
            return exp.Cast(this=value, to=to)
        return template.copy().transform(
            lambda node: text.copy() if isinstance(node, exp.Column) and node.name == _VALUE else node
        )

    def array_length(self, value: exp.Expr) -> exp.Expr:
        # ARRAY_LENGTH(x, 1) is NULL for an empty array; CARDINALITY is 0
        return exp.Anonymous(this="CARDINALITY", expressions=[value])

    def array_distinct_length(self, value: exp.Expr) -> exp.Expr:
        # distinct non-NULL items, as DuckDB's list_distinct
        item = exp.to_identifier("_item")
        unnest = exp.Unnest(expressions=[value.copy()], alias=exp.TableAlias(columns=[item]))
        counted = exp.select(exp.Count(this=exp.Distinct(expressions=[exp.column(item)]))).from_(unnest)
        return exp.Subquery(this=counted)

    def render(self, query: exp.Expr) -> str:
        tree = _alias_derived_tables(query.copy().transform(_count_if_as_filter).transform(_composite_fields))
        return tree.sql(dialect=self.dialect)


__all__ = ["DENIED_FUNCTIONS", "INSTALL_HINT", "SAFE_CASTS", "PostgresEngine", "PostgresSession", "connection_params"]
