"""How a check runs: a plan built from a spec against one opened dataset.

A check type turns its spec into one of three plans:

- `Immediate`: decided from metadata alone (schema checks) or not executable (text rules).
- `Aggregates`: aggregate expressions (sqlglot) plus a judge of their values. The runner merges
  every `Aggregates` plan of an object into ONE SELECT, i.e. one scan of the data.
- `OwnQuery`: a query of its own (SQL rules that cannot be folded into the scan).

`ObjectTarget` is what a check type sees while planning: the engine (dialect, type map, safe
casts), the dataset's columns (metadata), the schema object, and the run's clock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlglot import exp

from meshplane.checks.model import Outcome
from meshplane.engines.base import Dataset, Engine, QueryResult, array_element, struct_field
from meshplane.spec.odcs import SchemaObject

ITEMS = "[]"
"""Marker in a column path for the items of an array (``("tags", "[]")``)."""


class ColumnMissing(Exception):
    """A check needs a column the dataset does not have (the schema check reports it)."""


class NotSupported(Exception):
    """A check cannot be expressed for this column or engine; the message says why."""


@dataclass(frozen=True)
class Immediate:
    """An outcome known without reading data."""

    outcome: Outcome


@dataclass(frozen=True)
class Aggregates:
    """Aggregate expressions evaluated in the object's single scan, and how to judge their values.

    `expressions` maps local names to expressions; `judge` receives the values under the same
    names. `violations` is a row predicate selecting offending rows, used to fetch samples when
    the check fails.
    """

    expressions: Mapping[str, exp.Expr]
    judge: Callable[[Mapping[str, Any]], Outcome]
    violations: exp.Expr | None = None
    sensitive: bool = False
    """The expressions read a classified column: an engine error (which may quote a value) is withheld."""


@dataclass(frozen=True)
class OwnQuery:
    """A query run on its own (SQL rules), judged from its result."""

    query: exp.Expr
    judge: Callable[[QueryResult], Outcome]
    sensitive: bool = False
    """The query reads a classified column: an engine error (which may quote a value) is withheld."""


Plan = Immediate | Aggregates | OwnQuery


def query_failed(exc: Exception, sensitive: bool = False) -> Outcome:
    """The `error` outcome of a failed query; the engine's message withheld for a classified column."""
    if sensitive:
        return Outcome.error("query failed (the engine's message is withheld: the query reads a classified column)")
    return Outcome.error(f"query failed: {exc}")


def row_count() -> exp.Expr:
    """``COUNT(*)``: shared by every check that reports a percentage."""
    return exp.Count(this=exp.Star())


def count_where(predicate: exp.Expr) -> exp.Expr:
    """Number of rows for which `predicate` is true (NULL counts as not true)."""
    return exp.CountIf(this=predicate)


def is_null(value: exp.Expr) -> exp.Expr:
    """``value IS NULL``."""
    return value.is_(exp.null())


def not_null(value: exp.Expr) -> exp.Expr:
    """``NOT value IS NULL``."""
    return exp.not_(value.is_(exp.null()))


def percent(count: Any, rows: Any) -> float:
    """`count` as a percentage of `rows` (0 for an empty dataset)."""
    total = int(rows or 0)
    return 0.0 if total == 0 else round(100.0 * float(count or 0) / total, 6)


@dataclass
class ObjectTarget:
    """An opened dataset being checked, with the engine that reads it."""

    engine: Engine
    dataset: Dataset
    schema_object: SchemaObject
    now: datetime
    reference: Callable[[str], Dataset] | None = None
    """Another schema object of the contract, opened in the same session (relationships); raises
    `DatasetNotFound` (or `QueryError`/`EngineError`) as `Session.open` does."""

    @property
    def table(self) -> exp.Table:
        """The dataset reference to select from."""
        return self.dataset.ref

    def column_type(self, path: tuple[str, ...]) -> exp.DataType | None:
        """The physical type at a column path (None when absent); nested through structs and arrays."""
        if not path:
            return None
        column = self.dataset.column(path[0])
        if column is None:
            return None
        dtype: exp.DataType | None = column.type
        for part in path[1:]:
            if dtype is None:
                return None
            dtype = array_element(dtype) if part == ITEMS else struct_field(dtype, part)
        return dtype

    def shown_type(self, path: tuple[str, ...]) -> str:
        """The type at a path as the engine spells it (its own name for top-level columns)."""
        column = self.dataset.column(path[0]) if path else None
        if column is not None and len(path) == 1:
            return column.raw_type
        dtype = self.column_type(path)
        return dtype.sql(dialect=self.engine.dialect) if dtype is not None else "missing"

    def column_name(self, path: tuple[str, ...]) -> str:
        """The actual name of the top-level column of a path (its spelling in the dataset)."""
        column = self.dataset.column(path[0]) if path else None
        if column is None:
            raise ColumnMissing(".".join(path))
        return column.name

    def column(self, path: tuple[str, ...]) -> exp.Expr:
        """An expression reading the value at `path` (struct fields included; not array items)."""
        if ITEMS in path:
            raise NotSupported("value checks inside arrays are not supported; the type is checked")
        if self.column_type(path) is None:
            raise ColumnMissing(".".join(path))
        expr: exp.Expr = exp.column(self.column_name(path), quoted=True)
        for part in path[1:]:
            expr = exp.Dot(this=expr, expression=exp.to_identifier(part, quoted=True))
        return expr

    def text(self, path: tuple[str, ...]) -> exp.Expr | None:
        """The column's text as read from the file, when the reader typed it (CSV), else None.

        A value present as text but NULL in the typed column is one the typed read rejected.
        """
        column = self.dataset.column(path[0]) if len(path) == 1 else None
        name = self.dataset.text_columns.get(column.name) if column is not None else None
        return exp.column(name, quoted=True) if name is not None else None

    def value(self, path: tuple[str, ...], logical: str | None) -> exp.Expr:
        """The value at `path` as the logical type: a safe cast when the stored type does not conform.

        Values that cannot be cast become NULL here; the type check of the column counts them.
        """
        expr = self.column(path)
        dtype = self.column_type(path)
        if logical is None or dtype is None or self.engine.conforms(logical, dtype):
            return expr
        target = self.engine.cast_target(logical)
        return self.engine.safe_cast(expr, target) if target is not None else expr

    def literal(self, value: Any, logical: str | None = None) -> exp.Expr:
        """A literal for comparisons, typed for date/time logical types."""
        if isinstance(value, bool):
            return exp.Boolean(this=value)
        if isinstance(value, int | float):
            return exp.Literal.number(value)
        if value is None:
            return exp.null()
        text = exp.Literal.string(str(value))
        target = self.engine.cast_target(logical) if logical in ("date", "timestamp", "time") else None
        return exp.Cast(this=text, to=target) if target is not None else text
