"""SQL written in contracts: placeholders, the read-only guard, and folding into the object's scan.

A SQL rule may name its dataset and column with ``{object}``, ``{model}``, ``{table}``,
``${object}``, ``${table}``, ``{property}``, ``{column}``, ``${column}`` or ``${property}``.
Only one read-only query is accepted (a SELECT, possibly with CTEs or set operations); anything
that writes, changes settings or loads code is refused with a clear error.

A rule of the form ``SELECT <aggregates> FROM <the object> [WHERE <condition>]`` is folded into the
object's single scan as ``<aggregates> FILTER (WHERE <condition>)``: the same value, no extra pass.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

PLACEHOLDERS = frozenset({"object", "table", "model", "property", "column"})
"""The names of meshplane's own placeholders (never ODCS v3.2.0 variables, `meshplane.spec.variables`)."""
_OBJECT = re.compile(r"\$\{(object|table|model)\}|\{(object|table|model)\}")
_COLUMN = re.compile(r"\$\{(property|column)\}|\{(property|column)\}")

WRITES: tuple[type[exp.Expr], ...] = (
    exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Create, exp.Drop, exp.Alter, exp.TruncateTable,
    exp.Command, exp.Set, exp.Pragma, exp.Copy, exp.Use, exp.Transaction, exp.Commit, exp.Rollback,
    exp.Attach, exp.Detach, exp.Install, exp.LoadData, exp.Grant, exp.Revoke, exp.Export, exp.Cache,
    exp.Uncache, exp.Refresh, exp.Analyze, exp.Kill,
)  # fmt: skip
"""Statement kinds refused anywhere in a rule's query (also inside CTEs)."""


class RuleSqlError(ValueError):
    """A SQL rule that is not a single read-only query, or that cannot be parsed."""


def substitute(query: str, table_sql: str, column_sql: str | None) -> str:
    """Replace the dataset and column placeholders with quoted references."""
    text = _OBJECT.sub(lambda _m: table_sql, query)
    if _COLUMN.search(text):
        if column_sql is None:
            raise RuleSqlError("the query uses {property}/{column} but the rule is not on a property")
        text = _COLUMN.sub(lambda _m: column_sql, text)
    return text


def parse_read_only(query: str, dialect: str) -> exp.Query:
    """Parse a rule's query and refuse anything but one read-only query."""
    sqlglot_logger = logging.getLogger("sqlglot")
    previous = sqlglot_logger.level
    sqlglot_logger.setLevel(logging.ERROR)  # "falling back to Command" warnings: we refuse those anyway
    try:
        statements = [s for s in sqlglot.parse(query, read=dialect) if s is not None]
    except SqlglotError as exc:
        raise RuleSqlError(f"cannot parse the query: {str(exc).splitlines()[0]}") from exc
    finally:
        sqlglot_logger.setLevel(previous)
    if len(statements) != 1:
        raise RuleSqlError(f"a SQL rule must be exactly one SELECT statement, found {len(statements)}")
    statement = statements[0]
    if not isinstance(statement, exp.Query):
        raise RuleSqlError(f"only a read-only SELECT is accepted, not {statement.key.upper()}")
    for node in statement.walk():
        if isinstance(node, WRITES):
            raise RuleSqlError(f"only a read-only SELECT is accepted; the query contains {node.key.upper()}")
    return statement


def function_name(node: exp.Func) -> str:
    """A function's name as written (lower case, without a schema): ``pg_catalog.lo_import`` -> ``lo_import``."""
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    return node.sql_name().lower()


def _denied(name: str, patterns: Iterable[str]) -> bool:
    return any(name.startswith(p[:-1]) if p.endswith("*") else name == p for p in patterns)


def gate_refusal(
    query: exp.Query, home: exp.Table, denied_functions: Iterable[str], denied_relations: Iterable[str] = ()
) -> str | None:
    """Why a rule may not run on its engine, else None: the sandbox's parse-time part.

    Refused: a function on the engine's deny list (files, network, settings, sleeping, writing),
    a table qualified by another schema or catalog than the dataset's own `home` (on Spark,
    ``parquet.`/path``` reads a file), and an unqualified relation on the engine's deny list
    (``pg_*``: the system catalog). What the rule names is quoted; nothing is executed.
    """
    functions, relations = tuple(denied_functions), tuple(denied_relations)
    ctes = {cte.alias_or_name.lower() for cte in query.find_all(exp.CTE)}
    for node in query.walk():
        if isinstance(node, exp.Func):
            name = function_name(node)
            if _denied(name, functions):
                return f"{name}() is not allowed in a SQL rule (it reaches outside the data under test)"
        elif isinstance(node, exp.Table) and isinstance(node.this, exp.Identifier):
            name = node.name.lower()
            if node.db and (node.db.lower() != home.db.lower() or (node.catalog and node.catalog != home.catalog)):
                shown = ".".join(p for p in (node.catalog, node.db, node.name) if p)
                where = f"schema {home.db}" if home.db else "the datasets of this server"
                return f"table {shown} is not allowed in a SQL rule: a rule reads {where} only"
            if not node.db and name not in ctes and _denied(name, relations):
                return f"{node.name} is not allowed in a SQL rule (a system relation)"
    return None


def fold_into_scan(query: exp.Query, dataset: exp.Table, names: set[str]) -> exp.Expr | None:
    """The rule as one aggregate expression over the object, or None when it must run on its own.

    `dataset` is the reference the scan reads; `names` the lower-cased names the object answers
    to (object name, physical table name).
    """
    if not isinstance(query, exp.Select) or len(query.expressions) != 1:
        return None
    unsupported = ("with_", "joins", "group", "having", "order", "limit", "offset", "distinct", "qualify",
                   "laterals", "windows", "pivots", "sample", "connect", "prewhere", "settings")  # fmt: skip
    if any(query.args.get(key) for key in unsupported):
        return None
    source = query.args.get("from_") or query.args.get("from")
    if not isinstance(source, exp.From) or not isinstance(source.this, exp.Table):
        return None
    table = source.this
    if table.alias or table.args.get("joins") or table.catalog or table.name.lower() not in names:
        return None
    if table.db and table.db.lower() != dataset.db.lower():
        return None
    projection: exp.Expr = query.expressions[0].copy()
    if isinstance(projection, exp.Alias):
        projection = projection.this
        projection.pop()
    if not any(isinstance(n, exp.AggFunc) for n in projection.walk()):
        return None
    condition = query.args.get("where")
    checked = [projection] + ([condition] if condition is not None else [])
    for part in checked:
        for node in part.walk():
            if isinstance(node, exp.Query | exp.Window | exp.Filter | exp.Placeholder):
                return None
    for column in projection.find_all(exp.Column):
        column.set("table", None)
    if condition is None:
        return projection
    where = condition.copy()
    for column in where.find_all(exp.Column):
        column.set("table", None)
    outermost = [a for a in projection.find_all(exp.AggFunc) if not _inside_aggregate(a)]
    for agg in outermost:
        filtered = exp.Filter(this=agg.copy(), expression=exp.Where(this=where.this.copy()))
        if agg is projection:
            return filtered
        agg.replace(filtered)
    return projection


def _inside_aggregate(node: exp.Expr) -> bool:
    parent = node.parent
    while parent is not None:
        if isinstance(parent, exp.AggFunc):
            return True
        parent = parent.parent
    return False
