"""The engine interface: what meshplane needs from a query engine to run contract checks.

An engine is one class (one module under `engines/`): its name, its sqlglot dialect, the server
types it can serve, its logical -> physical type map and how to connect. A connection is a
`Session`: it opens the datasets of a server (`open`), reports their columns from metadata only,
and runs queries that `checks/` builds as sqlglot expressions. Nothing outside `engines/` names
an engine: callers ask `engines.registry` which engine serves a server.

The base class carries the superset (like a sqlglot dialect): type families keyed by sqlglot's
engine-neutral `DataType.Type`, `TRY_CAST` for safe casts, `RegexpLike` for patterns. An engine
overrides only what differs.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar

from sqlglot import exp
from sqlglot.expressions import DType

if TYPE_CHECKING:
    from meshplane.spec.odcs import Server


TypeFamily = frozenset[DType]

LOGICAL_TYPES: Mapping[str, TypeFamily] = {
    "string": frozenset(
        {DType.TEXT, DType.VARCHAR, DType.CHAR, DType.NCHAR, DType.NVARCHAR, DType.NAME, DType.UUID, DType.ENUM}
    ),
    "integer": frozenset(
        {
            DType.TINYINT,
            DType.SMALLINT,
            DType.MEDIUMINT,
            DType.INT,
            DType.BIGINT,
            DType.INT128,
            DType.INT256,
            DType.UTINYINT,
            DType.USMALLINT,
            DType.UMEDIUMINT,
            DType.UINT,
            DType.UBIGINT,
            DType.UINT128,
            DType.UINT256,
        }
    ),
    "number": frozenset(
        {
            DType.FLOAT,
            DType.DOUBLE,
            DType.DECIMAL,
            DType.DECIMAL32,
            DType.DECIMAL64,
            DType.DECIMAL128,
            DType.DECIMAL256,
            DType.BIGDECIMAL,
            DType.UDECIMAL,
            DType.UDOUBLE,
            DType.MONEY,
            DType.SMALLMONEY,
        }
    ),
    "boolean": frozenset({DType.BOOLEAN}),
    "date": frozenset({DType.DATE, DType.DATE32}),
    "timestamp": frozenset(
        {
            DType.TIMESTAMP,
            DType.TIMESTAMPTZ,
            DType.TIMESTAMPLTZ,
            DType.TIMESTAMPNTZ,
            DType.TIMESTAMP_S,
            DType.TIMESTAMP_MS,
            DType.TIMESTAMP_NS,
            DType.DATETIME,
            DType.DATETIME2,
            DType.DATETIME64,
            DType.SMALLDATETIME,
        }
    ),
    "time": frozenset({DType.TIME, DType.TIMETZ}),
    "object": frozenset({DType.STRUCT, DType.MAP, DType.JSON, DType.JSONB, DType.OBJECT, DType.VARIANT}),
    "array": frozenset({DType.ARRAY, DType.LIST}),
    "map": frozenset({DType.MAP}),
    "vector": frozenset({DType.ARRAY, DType.LIST, DType.VECTOR}),
}
"""Logical type (ODCS `logicalType`) -> the sqlglot type families that conform to it (`map` and
`vector` are ODCS v3.2.0's; a vector is stored as a fixed-size or plain list of numbers).

`number` also accepts every integer type (an integer is a number); see `Engine.conforms`.
"""

CAST_TARGETS: Mapping[str, str] = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMPTZ",
    "time": "TIME",
}
"""Logical type -> the physical type a value is safely cast to before a value check compares it."""


class EngineError(Exception):
    """The engine cannot run at all for this server (unreachable, missing database, bad settings).

    The test run ends with result `error` and this message as the reason.
    """


class DatasetNotFound(Exception):
    """One dataset of the server does not exist (no file matches, no such table)."""


class QueryError(Exception):
    """A query failed inside the engine; the message is the engine's, for the check's result."""


@dataclass(frozen=True)
class Column:
    """A column as the engine's metadata describes it (no data is read)."""

    name: str
    type: exp.DataType
    raw_type: str

    def field(self, name: str) -> exp.DataType | None:
        """The type of a nested struct field of this column's type (None when absent)."""
        return struct_field(self.type, name)


def struct_field(dtype: exp.DataType, name: str) -> exp.DataType | None:
    """The type of field `name` inside a STRUCT type, else None."""
    if dtype.this != DType.STRUCT:
        return None
    for member in dtype.expressions:
        if isinstance(member, exp.ColumnDef) and member.name == name:
            kind = member.args.get("kind")
            return kind if isinstance(kind, exp.DataType) else None
    return None


def array_element(dtype: exp.DataType) -> exp.DataType | None:
    """The element type of an ARRAY/LIST type, else None."""
    if dtype.this in (DType.ARRAY, DType.LIST) and dtype.expressions:
        inner = dtype.expressions[0]
        return inner if isinstance(inner, exp.DataType) else None
    return None


@dataclass(frozen=True)
class DatasetRequest:
    """Which dataset of a server to open: a schema object of the contract.

    `text_columns` are the columns the contract declares as strings; readers that infer types
    (CSV) read them as text, so ``"00123"`` keeps its leading zeros.
    """

    object_name: str
    table: str
    text_columns: tuple[str, ...] = ()
    logical_types: Mapping[str, str] = field(default_factory=dict)
    """Declared column -> ODCS logical type; readers of text (CSV) read each column as its type."""


@dataclass
class Dataset:
    """An opened dataset: how queries refer to it, its columns and where it came from."""

    object_name: str
    ref: exp.Table
    columns: list[Column]
    location: str
    format: str | None = None
    types_inferred: bool = False
    """True when the reader guessed the column types (CSV, JSON) instead of reading stored ones."""
    snapshot: str | None = None
    """Version of the data read (Delta version, Iceberg snapshot id), for provenance."""
    query_ref: exp.Table | None = None
    """What SQL rules read when it is not `ref` (CSV: the typed view, without the text columns)."""
    text_columns: dict[str, str] = field(default_factory=dict)
    """Column -> the column of `ref` holding its text as read from the file (CSV), for the type
    check to count the values the typed read rejected (they read as NULL in the typed column)."""

    def column(self, name: str) -> Column | None:
        """The column with this name (exact match first, then case-insensitive)."""
        for col in self.columns:
            if col.name == name:
                return col
        lowered = name.lower()
        for col in self.columns:
            if col.name.lower() == lowered:
                return col
        return None


@dataclass
class QueryResult:
    """Rows of a query with their column names, values as plain Python objects."""

    columns: list[str]
    rows: list[tuple[Any, ...]] = field(default_factory=list)


class Session(abc.ABC):
    """An open connection of an engine to one server."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @abc.abstractmethod
    def open(self, request: DatasetRequest) -> Dataset:
        """Make a dataset queryable and describe it; raise `DatasetNotFound` when it does not exist."""

    @abc.abstractmethod
    def execute(self, query: exp.Expr | str) -> QueryResult:
        """Run one query (an expression is rendered in the engine's dialect); raise `QueryError`."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the connection."""

    def __enter__(self) -> Session:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class Engine(abc.ABC):
    """A query engine meshplane can run contract checks on."""

    name: ClassVar[str]
    """Identifier used by `--engine`, in results and in the registry."""
    dialect: ClassVar[str]
    """The sqlglot dialect queries are rendered in."""
    server_types: ClassVar[frozenset[str]]
    """ODCS server types this engine can serve."""
    preferred_for: ClassVar[frozenset[str]] = frozenset()
    """Server types for which this engine is the default when several could serve them."""
    logical_types: ClassVar[Mapping[str, TypeFamily]] = LOGICAL_TYPES
    cast_targets: ClassVar[Mapping[str, str]] = CAST_TARGETS
    denied_functions: ClassVar[frozenset[str]] = frozenset()
    """Functions a SQL rule may not call (lower case; ``name*`` denies a prefix): what reads files,
    reaches the network, changes settings or writes. The session's sandbox does the rest."""
    denied_relations: ClassVar[frozenset[str]] = frozenset()
    """Unqualified relations a SQL rule may not read (``pg_*``: PostgreSQL's system catalog)."""

    def serves(self, server: Server) -> bool:
        """Whether this engine can run checks against this server."""
        return server.type.lower() in self.server_types

    def missing_requirement(self) -> str | None:
        """Why this engine cannot run in this installation (e.g. a driver to install), else None."""
        return None

    @abc.abstractmethod
    def connect(self, server: Server, base_dir: Path) -> Session:
        """Connect to a server; relative paths resolve against `base_dir`. Raise `EngineError`."""

    # -- types ---------------------------------------------------------------------------------

    def parse_type(self, raw: str) -> exp.DataType:
        """A physical type as the engine spells it -> sqlglot type (UNKNOWN when unparseable)."""
        try:
            return exp.DataType.build(raw, dialect=self.dialect)
        except Exception:  # sqlglot raises several error types for exotic spellings
            return exp.DataType(this=DType.UNKNOWN)

    def logical_type_of(self, dtype: exp.DataType) -> str | None:
        """The ODCS logical type whose family holds a physical type (None when no family does)."""
        return next((logical for logical, family in self.logical_types.items() if dtype.this in family), None)

    def conforms(self, logical: str, dtype: exp.DataType) -> bool:
        """Whether a physical type conforms to an ODCS logical type."""
        family = self.logical_types.get(logical)
        if family is None:
            return True
        if dtype.this in family:
            return True
        if logical == "number":
            return dtype.this in self.logical_types["integer"]
        if logical == "integer" and dtype.this in self.logical_types["number"]:
            # DECIMAL(p, 0) holds integers only
            scale = dtype.expressions[1] if len(dtype.expressions) > 1 else None
            return scale is not None and scale.name == "0"
        return False

    def same_physical_type(self, declared: str, dtype: exp.DataType) -> bool | None:
        """Whether a declared `physicalType` names the column's type (None: a name no table knows).

        The physical type table of `engines.types` (the dialect, then the aliases): one place.
        """
        from meshplane.engines.types import same_physical_type

        return same_physical_type(self, declared, dtype)

    def cast_target(self, logical: str) -> exp.DataType | None:
        """The physical type values are safely cast to for a logical type (None: no cast possible)."""
        raw = self.cast_targets.get(logical)
        return exp.DataType.build(raw, dialect=self.dialect) if raw else None

    # -- expressions ---------------------------------------------------------------------------

    def safe_cast(self, value: exp.Expr, to: exp.DataType) -> exp.Expr:
        """A cast that yields NULL for a value that cannot be cast (never an error for the query)."""
        return exp.TryCast(this=value, to=to)

    def regex_match(self, value: exp.Expr, pattern: str) -> exp.Expr:
        """True when `value` contains a match of `pattern` (anchor the pattern for a full match)."""
        return exp.RegexpLike(this=value, expression=exp.Literal.string(pattern))

    def text_length(self, value: exp.Expr) -> exp.Expr:
        """Length of a string in characters."""
        return exp.Length(this=value)

    def array_length(self, value: exp.Expr) -> exp.Expr:
        """Number of items of an array."""
        return exp.ArraySize(this=value)

    def array_distinct_length(self, value: exp.Expr) -> exp.Expr:
        """Number of distinct items of an array."""
        return exp.ArraySize(this=exp.ArrayDistinct(this=value))

    def count_distinct(self, values: Sequence[exp.Expr]) -> exp.Expr:
        """Number of distinct non-null values; for several values, of tuples where none is null."""
        if len(values) == 1:
            return exp.Count(this=exp.Distinct(expressions=[values[0]]))
        all_set = exp.and_(*(exp.not_(v.is_(exp.null())) for v in values))
        counted = exp.Count(this=exp.Distinct(expressions=[exp.Tuple(expressions=list(values))]))
        return exp.Filter(this=counted, expression=exp.Where(this=all_set))

    def render(self, query: exp.Expr) -> str:
        """The SQL text of an expression in this engine's dialect."""
        return query.sql(dialect=self.dialect)

    def quote(self, name: str) -> str:
        """An identifier quoted for this dialect."""
        return exp.to_identifier(name, quoted=True).sql(dialect=self.dialect)

    def table_sql(self, ref: exp.Table) -> str:
        """How SQL text refers to a dataset (used for `{object}` in SQL rules)."""
        return ref.sql(dialect=self.dialect)


def quoted_table(*parts: str) -> exp.Table:
    """A table reference with every part quoted: ``quoted_table("main", "orders")``."""
    names = [p for p in parts if p]
    if not names:
        raise ValueError("a table reference needs a name")
    ident = [exp.to_identifier(n, quoted=True) for n in names]
    if len(ident) == 1:
        return exp.Table(this=ident[0])
    if len(ident) == 2:
        return exp.Table(this=ident[1], db=ident[0])
    return exp.Table(this=ident[-1], db=ident[-2], catalog=ident[-3])


LOCAL_DATA = {"local": "path", "duckdb": "database"}
"""Server types whose data is a file or folder of this machine, and the setting that names it."""


def local_data(server: Server) -> tuple[str, str] | None:
    """(setting, value) naming where `server`'s data lies on this machine, or None (not local data)."""
    setting = LOCAL_DATA.get(server.type.lower())
    value = server.setting(setting) if setting else None
    return (setting, str(value)) if setting and value else None


def local_root(location: str, base_dir: Path) -> str:
    """The file, or the folder (ending in ``/``), that holds a `local` server's data (relative: under `base_dir`).

    For a path with a wildcard or an ``{object}`` placeholder: the folder before the first one.
    """
    raw = str(Path(location).expanduser())
    cut = min((i for i in (raw.find(c) for c in "*?[{") if i >= 0), default=-1)
    static = raw if cut < 0 else raw[:cut]
    path = Path(static) if Path(static).is_absolute() else base_dir / static
    if cut < 0 and not path.is_dir():
        return str(path)
    folder = path if cut < 0 or not static or static.endswith("/") else path.parent
    return str(folder).rstrip("/") + "/"


__all__ = [
    "CAST_TARGETS",
    "LOCAL_DATA",
    "LOGICAL_TYPES",
    "Column",
    "DType",
    "Dataset",
    "DatasetNotFound",
    "DatasetRequest",
    "Engine",
    "EngineError",
    "QueryError",
    "QueryResult",
    "Session",
    "array_element",
    "local_data",
    "local_root",
    "quoted_table",
    "struct_field",
]
