"""The current snapshot of a Delta or Iceberg table as a plain list of Parquet data files.

Engines that can read Parquet but lack a table format's own reader (a Spark cluster without the
Delta or Iceberg jars) read the table through this list. Only the table's metadata is read here
(the Delta log through `deltalake`, the newest Iceberg metadata file through pyiceberg), never
its data.

A file list is the table only when no row of those files is deleted by something else. Tables
whose current snapshot carries Iceberg delete files (merge-on-read, v3 deletion vectors) or Delta
deletion vectors are refused with `QueryError`, as are Delta tables with column mapping (their
Parquet column names are not the table's): reading the files would give wrong answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from meshplane.engines.arrow_tables import newest_iceberg_metadata
from meshplane.engines.base import DatasetNotFound, EngineError, QueryError


@dataclass(frozen=True)
class TableSnapshot:
    """The data files of a table's current snapshot and what is needed to read them as Parquet."""

    format: str
    """``delta`` or ``iceberg``."""
    root: str
    """The table's folder (Delta partition values are read from the paths below it)."""
    version: str
    """Delta version or Iceberg snapshot id (``empty`` for an Iceberg table without snapshot)."""
    schema: Any
    """The table's current schema as a `pyarrow.Schema`."""
    files: list[str] = field(default_factory=list)
    partition_columns: tuple[str, ...] = ()
    """Columns whose values live in the file paths (``col=value/``), not in the files (Delta)."""


def delta_snapshot(path: Path) -> TableSnapshot:
    """The current version of the Delta table at `path` (a folder holding ``_delta_log``)."""
    if not (path / "_delta_log").is_dir():
        raise DatasetNotFound(f"no Delta table at {path} (no _delta_log folder)")
    try:
        import pyarrow as pa
        from deltalake import DeltaTable
    except ImportError as exc:  # pragma: no cover - deltalake is a dependency
        raise EngineError("reading Delta tables needs the 'deltalake' package") from exc
    try:
        table = DeltaTable(str(path))
        metadata = table.metadata()
        mapping = (metadata.configuration or {}).get("delta.columnMapping.mode", "none")
        features = table.protocol().reader_features or []
        with_vectors = "deletionVectors" in features and _has_deletion_vectors(table)
        snapshot = TableSnapshot(
            format="delta",
            root=str(path),
            version=str(table.version()),
            schema=pa.schema(table.schema().to_arrow()),
            files=list(table.file_uris()),
            partition_columns=tuple(metadata.partition_columns or ()),
        )
    except Exception as exc:  # deltalake raises its own and OS errors; report them, never a traceback
        raise QueryError(f"cannot read the Delta table at {path}: {exc}") from exc
    if mapping not in ("none", ""):
        raise QueryError(
            f"Delta table {path} uses column mapping (mode '{mapping}'): its data files cannot be read as plain "
            "Parquet; use an engine with a Delta reader"
        )
    if with_vectors:
        raise QueryError(
            f"Delta table {path} has deletion vectors in version {snapshot.version}: reading its data files as "
            "plain Parquet would count deleted rows; use an engine with a Delta reader, or purge the table "
            "(REORG TABLE ... APPLY (PURGE))"
        )
    return snapshot


def _has_deletion_vectors(table: Any) -> bool:
    """Whether any file of the current version has a deletion vector (only such files are listed)."""
    reader = table.deletion_vectors()
    return any(batch.num_rows for batch in reader)


def iceberg_snapshot(path: Path) -> TableSnapshot:
    """The current snapshot of the Iceberg table at `path`, from its newest metadata file."""
    metadata = newest_iceberg_metadata(path)
    if metadata is None:
        raise DatasetNotFound(f"no Iceberg table at {path} (no metadata/*.metadata.json)")
    try:
        from pyiceberg.table import StaticTable
    except ImportError as exc:  # pragma: no cover - pyiceberg is a dependency
        raise EngineError("reading Iceberg tables needs the 'pyiceberg' package") from exc
    try:
        table = StaticTable.from_metadata(str(metadata))
        schema = table.schema().as_arrow()
        current = table.current_snapshot()
        tasks = list(table.scan().plan_files()) if current is not None else []
    except Exception as exc:  # pyiceberg raises many kinds (I/O, Avro, validation): report, never a traceback
        raise QueryError(f"cannot read the Iceberg table at {path} ({metadata.name}): {exc}") from exc
    with_deletes = sum(1 for task in tasks if task.delete_files)
    if with_deletes:
        raise QueryError(
            f"Iceberg table {path} has delete files for {with_deletes} data file(s) in snapshot "
            f"{current.snapshot_id if current else '?'} (merge-on-read): reading its data files as plain Parquet "
            "would count deleted rows; use an engine with an Iceberg reader, or rewrite the table's data files"
        )
    return TableSnapshot(
        format="iceberg",
        root=str(path),
        version=str(current.snapshot_id) if current is not None else "empty",
        schema=schema,
        files=[task.file.file_path for task in tasks],
    )


__all__ = ["TableSnapshot", "delta_snapshot", "iceberg_snapshot"]
