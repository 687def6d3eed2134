"""Spark: contract checks through PySpark, on a local session, a cluster or Spark Connect.

The Spark session comes from settings: ``MESHPLANE_SPARK_REMOTE`` (a Spark Connect URL,
``sc://host:15002``) when set, else ``MESHPLANE_SPARK_MASTER`` (``local[*]`` by default, or a
master URL). A session already active in the process (a Databricks job or notebook) is used as
is. The session is created once per process and reused by every run; each run works in its own
child session (`SparkSession.newSession`: its own temporary views and SQL settings, UTC as the
session time zone) and drops its views at the end. A session meshplane started is stopped when
the process exits (or by `SparkEngine.stop`).

Servers:

- ``local`` files (``parquet``, ``csv``, ``json``/``ndjson``): each schema object becomes a
  temporary view named after it, read by Spark's own readers (a path, glob or folder).
- ``local`` ``delta`` / ``iceberg``: the table's reader when the cluster has its jars, else the
  current snapshot's data files read as Parquet (`engines.snapshots`), which refuses tables with
  deletion vectors or delete files rather than count deleted rows.
- ``databricks`` (``catalog``, ``schema``): ``catalog.schema.table`` as the session sees it.

PySpark is optional (``pip install 'meshplane[spark]'``) and imported only when a run starts.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import importlib.util
import os
import re
import shutil
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from sqlglot import exp

from meshplane.engines import snapshots
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
from meshplane.engines.duckdb import FILE_FORMATS, FORMAT_ALIASES
from meshplane.settings import get_settings

if TYPE_CHECKING:
    from meshplane.spec.odcs import Server

INSTALL_HINT = "pip install 'meshplane[spark]'"

_TABLE_FORMATS = frozenset({"delta", "iceberg"})
_INFERRED_FORMATS = frozenset({"csv", "json", "ndjson"})
_FOLDER_FILTERS = {"parquet": "*.parquet", "csv": "*.csv", "json": "*.json", "ndjson": "*.*json*"}
"""Files read from a folder (`pathGlobFilter`), as DuckDB's folder globs."""
_PLACEHOLDER = re.compile(r"\{(model|object)\}")
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:/")
_QUIET_LOG4J2 = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = stderr
appender.stderr.type = Console
appender.stderr.name = stderr
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex
logger.spark.name = org.apache.spark
logger.spark.level = error
logger.hadoop.name = org.apache.hadoop
logger.hadoop.level = error
logger.parquet.name = org.apache.parquet
logger.parquet.level = error
"""
"""Spark's JVM logs only errors, on stderr (stdout carries `--format json`). Spark's own logger is
configured too: without it Spark announces the level it picks for a Python driver."""

RUN_CONF: dict[str, str] = {
    # values without a zone are read as UTC, as in the other engines
    "spark.sql.session.timeZone": "UTC",
    # Parquet min/max statistics leave NaN out, so a pushed-down `x > 100` skips row groups whose
    # only value above 100 is NaN: wrong counts in SQL rules and missing samples. The checks'
    # own scan has no WHERE and loses nothing by this.
    "spark.sql.parquet.filterPushdown": "false",
    # the sandbox: SQL cannot read a file by naming it (``parquet.`/path```, ``text.`/etc/passwd```)
    "spark.sql.runSQLOnFiles": "false",
}
"""SQL settings of each run's child session (never of a session meshplane did not start)."""

DENIED_FUNCTIONS: frozenset[str] = frozenset(
    {"read_*", "reflect", "try_reflect", "java_method", "secret", "try_secret", "list_secrets", "http_request",
     "ai_*", "cloud_files_state"}
)  # fmt: skip
"""Functions a SQL rule may not call on Spark: file and stream readers (Databricks' ``read_files``,
``read_kafka``...), Java reflection (``reflect('java.lang.System', 'getenv', ...)``), secrets,
network calls; ``name*`` denies a prefix. Tables qualified by another database or catalog than the
dataset's own are refused too (`checks.sqltext.gate_refusal`)."""

CONNECT_CLIENT: dict[str, str] = {
    "pandas": "pandas",
    "grpc": "grpcio",
    "grpc_status": "grpcio-status",
    "google.rpc": "googleapis-common-protos",
    "zstandard": "zstandard",
}
"""Modules the Spark Connect client imports -> the package that provides each."""

ARROW_TO_SPARK: dict[str, str] = {
    "int8": "TINYINT",
    "int16": "SMALLINT",
    "int32": "INT",
    "int64": "BIGINT",
    "uint8": "SMALLINT",
    "uint16": "INT",
    "uint32": "BIGINT",
    "halffloat": "FLOAT",
    "float": "FLOAT",
    "double": "DOUBLE",
    "bool": "BOOLEAN",
    "string": "STRING",
    "large_string": "STRING",
    "string_view": "STRING",
    "binary": "BINARY",
    "large_binary": "BINARY",
    "date32[day]": "DATE",
}
"""Arrow type (as `str(type)` spells it) -> Spark SQL type, for the schema of a table snapshot."""


def spark_ddl_type(arrow_type: Any) -> str | None:
    """The Spark SQL type of an Arrow type (None when Spark has no equivalent)."""
    import pyarrow as pa

    simple = ARROW_TO_SPARK.get(str(arrow_type))
    if simple is not None:
        return simple
    if pa.types.is_timestamp(arrow_type):
        return "TIMESTAMP" if arrow_type.tz else "TIMESTAMP_NTZ"
    if pa.types.is_decimal(arrow_type):
        return f"DECIMAL({arrow_type.precision}, {arrow_type.scale})"
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        inner = spark_ddl_type(arrow_type.value_type)
        return f"ARRAY<{inner}>" if inner else None
    if pa.types.is_map(arrow_type):
        key, item = spark_ddl_type(arrow_type.key_type), spark_ddl_type(arrow_type.item_type)
        return f"MAP<{key}, {item}>" if key and item else None
    if pa.types.is_struct(arrow_type):
        fields = [(f.name, spark_ddl_type(f.type)) for f in arrow_type]
        if any(t is None for _, t in fields):
            return None
        return "STRUCT<" + ", ".join(f"{_backticked(n)}: {t}" for n, t in fields) + ">"
    return None


def _backticked(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class SparkSqlSession(Session):
    """One run on Spark: a child session of the engine's Spark session, with its temporary views."""

    def __init__(self, engine: SparkEngine, server: Server, base_dir: Path, spark: Any) -> None:
        super().__init__(engine)
        self.spark_engine = engine
        self.server = server
        self.base_dir = base_dir
        self.spark = spark
        self.views: list[str] = []
        self.format: str | None = None
        self.catalog: str | None = None
        self.schema: str | None = None
        if server.type.lower() == "databricks":
            self.catalog = str(server.setting("catalog") or "")
            self.schema = str(server.setting("schema") or "")
            if not self.catalog or not self.schema:
                raise EngineError(f"server '{server.server}' needs `catalog` and `schema` (databricks)")
            self.location = f"{self.catalog}.{self.schema}"
        else:
            self._init_files()

    def _init_files(self) -> None:
        raw = self.server.setting("path")
        if not raw:
            raise EngineError(f"server '{self.server.server}' has no `path`")
        self.location = str(raw)
        declared = str(self.server.setting("format") or "").lower()
        suffix = Path(self.location.replace("*", "x")).suffix.lower()
        fmt = FORMAT_ALIASES.get(declared, declared) or FILE_FORMATS.get(suffix)
        supported = {*FILE_FORMATS.values(), *_TABLE_FORMATS}
        if not fmt:
            raise EngineError(
                f"server '{self.server.server}': cannot tell the file format of {raw}; set `format` "
                f"({', '.join(sorted(supported))})"
            )
        if fmt not in supported:
            raise EngineError(f"server '{self.server.server}': format '{fmt}' is not supported")
        self.format = fmt

    def close(self) -> None:
        for view in self.views:
            try:
                self.spark.catalog.dropTempView(view)
            except self.spark_engine.errors():  # the session may already be gone at exit
                pass
        self.views.clear()

    # -- datasets ------------------------------------------------------------------------------

    def open(self, request: DatasetRequest) -> Dataset:
        if self.catalog is not None:
            return self._open_table(request)
        return self._open_files(request)

    def _open_table(self, request: DatasetRequest) -> Dataset:
        ref = quoted_table(str(self.catalog), str(self.schema), request.table)
        name = self.engine.table_sql(ref)
        try:
            exists = self.spark.catalog.tableExists(name)
        except self.spark_engine.errors() as exc:
            raise QueryError(f"cannot look up {name}: {_first_line(exc)}") from exc
        if not exists:
            raise DatasetNotFound(f"table {name} not found by the Spark session (server '{self.server.server}')")
        try:
            schema = self.spark.table(name).schema
        except self.spark_engine.errors() as exc:
            raise QueryError(f"cannot read {name}: {_first_line(exc)}") from exc
        return Dataset(request.object_name, ref, self._columns(schema), name, "table")

    def _open_files(self, request: DatasetRequest) -> Dataset:
        fmt = str(self.format)
        where = _PLACEHOLDER.sub(request.object_name, self.location)
        local = _URI.match(where) is None
        path = Path(where).expanduser()
        if local and not path.is_absolute():
            path = self.base_dir / path
        source = str(path) if local else where
        snapshot = None
        try:
            if fmt in _TABLE_FORMATS:
                frame, snapshot = self._read_table_format(fmt, source, local)
            else:
                frame = self._read_files(fmt, source, local, request.text_columns)
            view = quoted_table(request.object_name)
            frame.createOrReplaceTempView(self.engine.table_sql(view))
            self.views.append(self.engine.table_sql(view))
            columns = self._columns(frame.schema)
        except self.spark_engine.errors() as exc:
            message = _first_line(exc)
            if "PATH_NOT_FOUND" in message:
                raise DatasetNotFound(f"no {fmt} data at {source}") from exc
            raise QueryError(f"Spark cannot read {source}: {message}") from exc
        return Dataset(
            request.object_name,
            view,
            columns,
            source,
            fmt,
            types_inferred=fmt in _INFERRED_FORMATS,
            snapshot=snapshot,
        )

    def _read_files(self, fmt: str, source: str, local: bool, text_columns: tuple[str, ...]) -> Any:
        folder = local and Path(source).is_dir()
        if local:
            pattern = str(Path(source) / "**" / _FOLDER_FILTERS[fmt]) if folder else source
            if not glob.glob(pattern, recursive=True):  # noqa: PTH207 - the pattern may be absolute
                raise DatasetNotFound(f"no {fmt} file matches {pattern}")
        reader = self.spark.read
        if folder:
            reader = reader.option("pathGlobFilter", _FOLDER_FILTERS[fmt])
        several = folder or not local or any(c in source for c in "*?[{")
        if fmt == "parquet":
            # files of one dataset may differ in column order or have added columns
            return reader.option("mergeSchema", several).parquet(source)
        if fmt == "csv":
            reader = reader.option("header", True)
            # types from every row: a column holding one bad value is read as text, so that value
            # fails its column's type check instead of aborting the scan
            frame = reader.option("inferSchema", True).csv(source)
            text = {c.lower() for c in text_columns}
            if not text & {f.name.lower() for f in frame.schema.fields}:
                return frame
            from pyspark.sql.types import StringType, StructField, StructType

            fields = [
                StructField(f.name, StringType(), True) if f.name.lower() in text else f for f in frame.schema.fields
            ]
            return reader.schema(StructType(fields)).csv(source)
        multiline = fmt == "json" and local and _starts_with_array(Path(source), folder)
        return reader.option("multiLine", multiline).json(source)

    def _read_table_format(self, fmt: str, source: str, local: bool) -> tuple[Any, str | None]:
        if local and not Path(source).is_dir():
            raise DatasetNotFound(f"no {fmt} table at {source}")
        native = self.spark_engine.native_reader(self.spark, fmt, source)
        if native is not None:
            return native, None
        if not local:
            raise EngineError(
                f"the Spark session has no {fmt} reader, and meshplane reads {fmt} tables without one from "
                f"local paths only ({source})"
            )
        path = Path(source)
        table = snapshots.delta_snapshot(path) if fmt == "delta" else snapshots.iceberg_snapshot(path)
        fields = [(f.name, spark_ddl_type(f.type)) for f in table.schema]
        ddl = None
        if all(t is not None for _, t in fields):
            ddl = ", ".join(f"{_backticked(n)} {t}" for n, t in fields)
        if not table.files:
            if ddl is None:
                raise QueryError(f"the schema of the empty {fmt} table at {path} has types Spark cannot hold")
            return self.spark.createDataFrame([], ddl), table.version
        reader = self.spark.read
        if ddl is not None:
            # the table's schema, not the files': added columns read as NULL in older files
            reader = reader.schema(ddl)
        if table.partition_columns:
            # Delta keeps partition values in the paths (col=value/); typed by the schema above
            reader = reader.option("basePath", table.root)
        frame = reader.parquet(*table.files)
        return frame.select(*[_backticked(f.name) for f in table.schema]), table.version

    def _columns(self, schema: Any) -> list[Column]:
        return [Column(f.name, self.spark_engine.sqlglot_type(f.dataType), f.dataType.simpleString()) for f in schema]

    # -- queries -------------------------------------------------------------------------------

    def execute(self, query: exp.Expr | str) -> QueryResult:
        sql = query if isinstance(query, str) else self.engine.render(query)
        try:
            table = self.spark.sql(sql).toArrow()
        except self.spark_engine.errors() as exc:
            raise QueryError(_first_line(exc)) from exc
        columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
        rows = list(zip(*columns, strict=True)) if columns else []
        return QueryResult(list(table.column_names), rows)


def _starts_with_array(path: Path, folder: bool) -> bool:
    """Whether a JSON file holds one array (Spark's multiLine mode) rather than one object per line."""
    first = next(iter(sorted(path.rglob("*.json"))), None) if folder else next(iter(glob.glob(str(path))), None)  # noqa: PTH207
    if first is None:
        return False
    with Path(first).open("rb") as handle:
        head = handle.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"[")


class SparkEngine(Engine):
    """PySpark: local files (parquet, csv, json, delta, iceberg) and catalog tables (databricks)."""

    name: ClassVar[str] = "spark"
    dialect: ClassVar[str] = "spark"
    server_types: ClassVar[frozenset[str]] = frozenset({"local", "databricks"})
    preferred_for: ClassVar[frozenset[str]] = frozenset({"databricks"})
    cast_targets = {k: v for k, v in CAST_TARGETS.items() if k != "time"}  # Spark has no TIME type
    denied_functions = DENIED_FUNCTIONS

    def __init__(self) -> None:
        self._spark: Any = None
        self._owned = False
        self._lock = threading.Lock()
        self._log_dir: str | None = None
        self._without_reader: set[str] = set()
        self._stop_at_exit = False

    # -- installation and session --------------------------------------------------------------

    def missing_requirement(self) -> str | None:
        if importlib.util.find_spec("pyspark") is None:
            return f"PySpark is not installed: {INSTALL_HINT}"
        if self._spark is not None:
            return None
        if get_settings().spark_remote:
            missing = [package for module, package in CONNECT_CLIENT.items() if not _importable(module)]
            if missing:
                return f"the Spark Connect client needs {', '.join(missing)}: pip install 'pyspark[connect]'"
            return None
        if not _java_available():
            return (
                "Spark needs Java 17 or later (JAVA_HOME or `java` on PATH), "
                "or a Spark Connect URL in MESHPLANE_SPARK_REMOTE"
            )
        return None

    def session(self) -> Any:
        """The process-wide Spark session: the active one, else one created from settings (once)."""
        with self._lock:
            if self._spark is None:
                self._spark, self._owned = self._start()
                if self._owned and not self._stop_at_exit:
                    atexit.register(self.stop)
                    self._stop_at_exit = True
            return self._spark

    def _start(self) -> tuple[Any, bool]:
        try:
            from pyspark.sql import SparkSession
        except ImportError as exc:
            raise EngineError(f"PySpark is not installed: {INSTALL_HINT}") from exc
        active = SparkSession.getActiveSession()
        if active is not None:
            return active, False
        settings = get_settings()
        builder = SparkSession.builder.appName("meshplane")
        try:
            if settings.spark_remote:
                return builder.remote(settings.spark_remote).getOrCreate(), True
            self._log_dir = tempfile.mkdtemp(prefix="meshplane-spark-")
            log_config = Path(self._log_dir) / "log4j2.properties"
            log_config.write_text(_QUIET_LOG4J2, encoding="utf-8")
            builder = (
                builder.master(settings.spark_master)
                .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={log_config.as_uri()}")
                .config("spark.ui.showConsoleProgress", "false")
            )
            if settings.spark_master.startswith("local"):
                builder = builder.config("spark.ui.enabled", "false")
            spark = builder.getOrCreate()
            spark.sparkContext.setLogLevel("ERROR")
        except Exception as exc:  # JVM start-up, gateway and connection failures have many types
            if self._log_dir is not None:
                shutil.rmtree(self._log_dir, ignore_errors=True)
                self._log_dir = None
            where = settings.spark_remote or settings.spark_master
            raise EngineError(f"cannot start a Spark session ({where}): {_first_line(exc)}") from exc
        return spark, True

    def stop(self) -> None:
        """Stop the Spark session if meshplane started it (an adopted session is left running)."""
        with self._lock:
            spark, owned = self._spark, self._owned
            self._spark, self._owned = None, False
            self._without_reader.clear()
        if spark is not None and owned:
            with contextlib.suppress(Exception):  # stopping at exit must never raise
                spark.stop()
        if self._log_dir is not None:
            shutil.rmtree(self._log_dir, ignore_errors=True)
            self._log_dir = None

    def errors(self) -> tuple[type[BaseException], ...]:
        """The exception types Spark raises for a failing query (classic and Connect)."""
        from pyspark.errors import PySparkException

        kinds: list[type[BaseException]] = [PySparkException]
        try:
            from py4j.protocol import Py4JError  # type: ignore[import-untyped]

            kinds.append(Py4JError)
        except ImportError:  # pragma: no cover - Spark Connect clients have no py4j
            pass
        return tuple(kinds)

    def connect(self, server: Server, base_dir: Path) -> Session:
        base = self.session()
        try:
            spark = base.newSession()
        except Exception:  # Spark Connect has no child sessions: use the session itself
            spark = base
        if spark is not base or self._owned:
            for key, value in RUN_CONF.items():
                spark.conf.set(key, value)
        return SparkSqlSession(self, server, base_dir, spark)

    def native_reader(self, spark: Any, fmt: str, source: str) -> Any | None:
        """A DataFrame from the session's own reader for a table format, None when it has none."""
        if fmt in self._without_reader:
            return None
        try:
            return spark.read.format(fmt).load(source)
        except self.errors() as exc:
            text = str(exc)
            if "DATA_SOURCE_NOT_FOUND" in text or "Failed to find data source" in text:
                self._without_reader.add(fmt)
                return None
            raise

    # -- types and expressions -----------------------------------------------------------------

    def sqlglot_type(self, spark_type: Any) -> exp.DataType:
        """A Spark `DataType` as a sqlglot type (struct fields by name, however they are spelled)."""
        from pyspark.sql.types import ArrayType, MapType, StructType

        if isinstance(spark_type, StructType):
            members = [
                exp.ColumnDef(this=exp.to_identifier(f.name, quoted=True), kind=self.sqlglot_type(f.dataType))
                for f in spark_type.fields
            ]
            return exp.DataType(this=DType.STRUCT, expressions=members, nested=True)
        if isinstance(spark_type, ArrayType):
            return exp.DataType(this=DType.ARRAY, expressions=[self.sqlglot_type(spark_type.elementType)], nested=True)
        if isinstance(spark_type, MapType):
            parts = [self.sqlglot_type(spark_type.keyType), self.sqlglot_type(spark_type.valueType)]
            return exp.DataType(this=DType.MAP, expressions=parts, nested=True)
        return self.parse_type(spark_type.simpleString())

    def safe_cast(self, value: exp.Expr, to: exp.DataType) -> exp.Expr:
        return exp.TryCast(this=value, to=to, safe=True)

    def array_distinct_length(self, value: exp.Expr) -> exp.Expr:
        # NULL items are left out, as in DuckDB's list_distinct
        compact = exp.Anonymous(this="ARRAY_COMPACT", expressions=[value])
        return exp.ArraySize(this=exp.ArrayDistinct(this=compact))


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:  # a parent package is missing
        return False


def _java_available() -> bool:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return True
    return shutil.which("java") is not None


__all__ = ["INSTALL_HINT", "SparkEngine", "SparkSqlSession", "spark_ddl_type"]
