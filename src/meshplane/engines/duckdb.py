"""DuckDB: the default engine, for `local` servers (files on a path or glob) and `duckdb` databases.

Files are never copied: each schema object becomes a temporary view over DuckDB's own readers
(`read_parquet`, `read_csv`, `read_json`) or over an Arrow dataset (Delta, Iceberg) that DuckDB
streams with projection pushdown. Extensions are never downloaded (`autoinstall_known_extensions`
is off; parquet and json are built in). A `duckdb` database is opened read-only.

CSV is sniffed once and read as text typed by safe casts (`csv_reading`): one bad value fails the
type check of its column instead of aborting the scan; JSON types are inferred from the whole file.

Every query runs sandboxed: once connected, file access is limited to the server's data (its
file, folder or the folder before the first wildcard; the database file of a `duckdb` server),
external access is off and the configuration locked, so a SQL rule reading another file
(``read_text('/etc/passwd')``) fails with DuckDB's "Permission Error" naming the refused path.
"""

from __future__ import annotations

import glob
import re
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from sqlglot import exp

from meshplane.engines import arrow_tables, csv_reading
from meshplane.engines.base import (
    Column,
    Dataset,
    DatasetNotFound,
    DatasetRequest,
    Engine,
    EngineError,
    QueryError,
    QueryResult,
    Session,
    local_root,
    quoted_table,
)

if TYPE_CHECKING:
    from meshplane.spec.odcs import Server

FILE_FORMATS: dict[str, str] = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".tsv": "csv",
    ".json": "json",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
}
"""File extension -> format, used when a `local` server gives no `format`."""

FORMAT_ALIASES: dict[str, str] = {"jsonl": "ndjson", "json_lines": "ndjson", "newline_delimited_json": "ndjson"}

_DIRECTORY_GLOBS: dict[str, str] = {
    "parquet": "**/*.parquet",
    "csv": "**/*.csv",
    "json": "**/*.json",
    "ndjson": "**/*.*json*",
}
_INFERRED_FORMATS = frozenset({"csv", "json", "ndjson"})
_TABLE_FORMATS = frozenset({"delta", "iceberg"})
_PLACEHOLDER = re.compile(r"\{(model|object)\}")
_NULL_TYPE = re.compile(r'"NULL"(?! )')
_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}


def _sql_string(value: str) -> str:
    return exp.Literal.string(value).sql(dialect="duckdb")


class DuckDBSession(Session):
    """A DuckDB connection serving one server."""

    def __init__(self, engine: DuckDBEngine, server: Server, base_dir: Path) -> None:
        super().__init__(engine)
        import duckdb

        self._duckdb = duckdb
        self.server = server
        self.base_dir = base_dir
        self._arrow: dict[str, Any] = {}
        self.schema: str | None = None
        self.format: str | None = None
        self.con: Any = self._init_database() if server.type.lower() == "duckdb" else self._init_files()
        # the progress bar would print on stdout, into `--format json` output
        self.con.execute("SET enable_progress_bar = false")
        # Parquet min/max statistics leave NaN out, and DuckDB's statistics propagation then
        # folds `v > bound`, `isnan(v)` and even `max(v)` as if no NaN existed: wrong answers for
        # a checker. Without it, NaN sorts above every number, as in PostgreSQL and Spark.
        # `type_pushdown` turns TRY_CAST over a CSV column into the reader's strict cast: one
        # bad value would abort the scan ("Conversion Error: CSV Error on Line N")
        self.con.execute("SET disabled_optimizers = 'statistics_propagation,type_pushdown'")
        self._sandbox()

    def _sandbox(self) -> None:
        """Limit file access to the data under test, then lock the configuration.

        DuckDB also lets a query read its spill folder (`temp_directory`, ``.tmp`` in the working
        directory by default): the session spills into a fresh folder of its own instead, removed at close.
        """
        self.spill = tempfile.mkdtemp(prefix="meshplane-duckdb-")
        self.con.execute(f"SET temp_directory = {_sql_string(self.spill)}")
        if self.schema is None:
            allowed = local_root(self.location, self.base_dir)
            setting = "allowed_directories" if allowed.endswith("/") else "allowed_paths"
            self.con.execute(f"SET {setting} = [{_sql_string(allowed)}]")
        self.con.execute("SET enable_external_access = false")
        self.con.execute("SET lock_configuration = true")

    # -- connection ----------------------------------------------------------------------------

    def _init_database(self) -> Any:
        raw = self.server.setting("database")
        if not raw:
            raise EngineError(f"server '{self.server.server}' has no `database` file")
        path = Path(str(raw))
        path = path if path.is_absolute() else self.base_dir / path
        if not path.is_file():
            raise EngineError(f"DuckDB database of server '{self.server.server}' not found: {path}")
        self.location = str(path)
        self.schema = str(self.server.setting("schema") or "main")
        try:
            con = self._duckdb.connect(str(path), read_only=True, config=_CONFIG)
        except self._duckdb.Error as exc:
            raise EngineError(f"cannot open DuckDB database {path}: {exc}") from exc
        con.execute(f"SET search_path = {_sql_string(self.schema)}")
        return con

    def _init_files(self) -> Any:
        raw = self.server.setting("path")
        if not raw:
            raise EngineError(f"server '{self.server.server}' has no `path`")
        self.location = str(raw)
        declared = str(self.server.setting("format") or "").lower()
        self.format = FORMAT_ALIASES.get(declared, declared) or None
        if self.format is None:
            self.format = FILE_FORMATS.get(Path(str(raw).replace("*", "x")).suffix.lower())
        if self.format is None:
            raise EngineError(
                f"server '{self.server.server}': cannot tell the file format of {raw}; set `format` "
                f"({', '.join(sorted({*FILE_FORMATS.values(), *_TABLE_FORMATS}))})"
            )
        if self.format not in {*FILE_FORMATS.values(), *_TABLE_FORMATS}:
            raise EngineError(f"server '{self.server.server}': format '{self.format}' is not supported")
        return self._duckdb.connect(":memory:", config=_CONFIG)

    def close(self) -> None:
        self.con.close()
        self._arrow.clear()
        shutil.rmtree(self.spill, ignore_errors=True)

    # -- datasets ------------------------------------------------------------------------------

    def open(self, request: DatasetRequest) -> Dataset:
        if self.schema is not None:
            return self._open_table(request)
        return self._open_files(request)

    def _open_table(self, request: DatasetRequest) -> Dataset:
        found = self.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ? AND lower(table_name) = lower(?)",
            [self.schema, request.table],
        ).fetchall()
        if not found:
            raise DatasetNotFound(f"table {self.schema}.{request.table} not found in {self.location}")
        ref = quoted_table(str(self.schema), str(found[0][0]))
        return Dataset(
            request.object_name, ref, self._describe(ref), f"{self.location}:{self.schema}.{found[0][0]}", "duckdb"
        )

    def _resolve(self, request: DatasetRequest) -> Path:
        raw = _PLACEHOLDER.sub(request.object_name, self.location)
        path = Path(raw).expanduser()
        return path if path.is_absolute() else self.base_dir / path

    def _open_files(self, request: DatasetRequest) -> Dataset:
        fmt = str(self.format)
        path = self._resolve(request)
        view = quoted_table(request.object_name)
        snapshot = None
        if fmt in _TABLE_FORMATS:
            table = arrow_tables.open_delta(path) if fmt == "delta" else arrow_tables.open_iceberg(path)
            name = f"__arrow_{len(self._arrow)}"
            self._arrow[name] = table.dataset  # keep a reference: DuckDB scans it lazily
            self.con.register(name, table.dataset)
            source = self.engine.quote(name)
            snapshot = table.snapshot
        else:
            pattern = str(path / _DIRECTORY_GLOBS[fmt]) if path.is_dir() else str(path)
            files = glob.glob(pattern, recursive=True)  # noqa: PTH207 - the pattern may be absolute
            if not files:
                raise DatasetNotFound(f"no {fmt} file matches {pattern}")
            if fmt == "csv":
                return self._open_csv(request, view, path, pattern, sorted(files))
            source = self._reader(fmt, pattern, several=len(files) > 1)
        self._run(f"CREATE OR REPLACE TEMP VIEW {view.sql(dialect='duckdb')} AS SELECT * FROM {source}")
        return Dataset(
            request.object_name,
            view,
            self._describe(view),
            str(path),
            fmt,
            types_inferred=fmt in _INFERRED_FORMATS,
            snapshot=snapshot,
        )

    def _open_csv(
        self, request: DatasetRequest, view: exp.Table, path: Path, pattern: str, files: list[str]
    ) -> Dataset:
        """Sniff once, read as text with the dialect fixed, type by safe casts (see `csv_reading`)."""
        sniffed = csv_reading.sniff(self._run, files[0])
        several = len(files) > 1
        source = csv_reading.text_source(pattern, sniffed, None if several else [n for n, _t in sniffed.columns])
        names = [str(r[0]) for r in self._run(f"DESCRIBE SELECT * FROM {source}").fetchall()]
        read = csv_reading.plan_read(self.engine, sniffed, source, names, request.logical_types)
        scan = quoted_table(f"__meshplane_scan_{request.object_name}")
        self._run(f"CREATE OR REPLACE TEMP VIEW {view.sql(dialect='duckdb')} AS {read.typed_select()}")
        self._run(f"CREATE OR REPLACE TEMP VIEW {scan.sql(dialect='duckdb')} AS {read.scan_select()}")
        return Dataset(
            request.object_name,
            scan,
            self._describe(view),
            str(path),
            "csv",
            types_inferred=True,
            query_ref=view,
            text_columns=read.text_columns,
        )

    @staticmethod
    def _reader(fmt: str, pattern: str, several: bool) -> str:
        where = _sql_string(pattern)
        # files of one dataset may differ in column order or have added columns
        union = ", union_by_name = true" if several else ""
        if fmt == "parquet":
            return f"read_parquet({where}{union})"
        layout = "newline_delimited" if fmt == "ndjson" else "auto"
        return f"read_json({where}, format = {_sql_string(layout)}, sample_size = -1{union})"

    def _describe(self, ref: exp.Table) -> list[Column]:
        rows = self._run(f"DESCRIBE SELECT * FROM {ref.sql(dialect='duckdb')}").fetchall()
        # the JSON reader types values that were all null as `"NULL"` (`"NULL"[]` for arrays of them)
        return [Column(str(r[0]), self.engine.parse_type(_NULL_TYPE.sub("NULL", str(r[1]))), str(r[1])) for r in rows]

    # -- queries -------------------------------------------------------------------------------

    def _run(self, sql: str) -> Any:
        try:
            return self.con.execute(sql)
        except self._duckdb.Error as exc:
            raise QueryError(str(exc).strip()) from exc

    def execute(self, query: exp.Expr | str) -> QueryResult:
        sql = query if isinstance(query, str) else self.engine.render(query)
        try:
            relation = self.con.sql(sql)
            if relation is None:
                raise QueryError("the statement returned no rows")
            names = list(relation.columns)
            if not any("WITH TIME ZONE" in str(t) for t in relation.types):
                return QueryResult(names, [tuple(row) for row in relation.fetchall()])
            # zoned values convert through Arrow (Python's DuckDB conversion would need pytz)
            table = relation.to_arrow_table()
        except self._duckdb.Error as exc:
            raise QueryError(str(exc).strip()) from exc
        columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
        return QueryResult(names, list(zip(*columns, strict=True)) if columns else [])


class DuckDBEngine(Engine):
    """DuckDB in-process: local files (parquet, csv, json, ndjson, delta, iceberg) and DuckDB databases."""

    name: ClassVar[str] = "duckdb"
    dialect: ClassVar[str] = "duckdb"
    server_types: ClassVar[frozenset[str]] = frozenset({"local", "duckdb"})
    preferred_for: ClassVar[frozenset[str]] = frozenset({"local", "duckdb"})

    def connect(self, server: Server, base_dir: Path) -> Session:
        return DuckDBSession(self, server, base_dir)
