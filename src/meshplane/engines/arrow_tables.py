"""Open table formats (Delta Lake, Apache Iceberg) as Arrow datasets, without copying data.

Engines that scan Arrow (DuckDB) register the dataset and stream it; engines that read files
(Spark) can use `files`. Only the table's metadata is read here; the data files are scanned
lazily by the engine. No DuckDB extension is involved (nothing is downloaded).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from meshplane.engines.base import DatasetNotFound, EngineError, QueryError


@dataclass
class ArrowTable:
    """A table's current snapshot as an Arrow dataset (`pyarrow.dataset.Dataset`)."""

    dataset: Any
    snapshot: str
    files: list[str] = field(default_factory=list)


def _local_path(uri: str) -> str:
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        return unquote(parsed.path) if parsed.scheme else uri
    return uri


def open_delta(path: Path) -> ArrowTable:
    """The current version of the Delta table at `path` (a folder holding ``_delta_log``)."""
    if not (path / "_delta_log").is_dir():
        raise DatasetNotFound(f"no Delta table at {path} (no _delta_log folder)")
    try:
        from deltalake import DeltaTable
    except ImportError as exc:  # pragma: no cover - deltalake is a dependency
        raise EngineError("reading Delta tables needs the 'deltalake' package") from exc
    try:
        table = DeltaTable(str(path))
        return ArrowTable(table.to_pyarrow_dataset(), str(table.version()), list(table.file_uris()))
    except Exception as exc:  # deltalake raises its own and OS errors; report them, never a traceback
        raise QueryError(f"cannot read the Delta table at {path}: {exc}") from exc


def newest_iceberg_metadata(path: Path) -> Path | None:
    """The newest ``metadata/*.metadata.json`` of an Iceberg table folder (by version number)."""
    candidates = sorted((path / "metadata").glob("*.metadata.json"))
    if not candidates:
        return None

    def version(p: Path) -> tuple[int, float, str]:
        head = p.name.split("-", 1)[0].lstrip("v")
        number = int(head) if head.isdigit() else -1
        return (number, p.stat().st_mtime, p.name)

    return max(candidates, key=version)


def open_iceberg(path: Path) -> ArrowTable:
    """The current snapshot of the Iceberg table at `path`, from its newest metadata file.

    The snapshot's data files become one Arrow dataset with the table's schema. Tables whose
    snapshot carries delete files (merge-on-read) are refused rather than read wrongly.
    """
    metadata = newest_iceberg_metadata(path)
    if metadata is None:
        raise DatasetNotFound(f"no Iceberg table at {path} (no metadata/*.metadata.json)")
    try:
        import pyarrow.dataset as pads
        from pyiceberg.table import StaticTable
    except ImportError as exc:  # pragma: no cover - pyiceberg is a dependency
        raise EngineError("reading Iceberg tables needs the 'pyiceberg' package") from exc
    try:
        table = StaticTable.from_metadata(str(metadata))
        schema = table.schema().as_arrow()
        snapshot = table.current_snapshot()
        if snapshot is None:
            return ArrowTable(pads.dataset([], schema=schema, format="parquet"), "empty", [])
        tasks = list(table.scan().plan_files())
    except Exception as exc:  # pyiceberg raises many kinds (I/O, Avro, validation): report, never a traceback
        raise QueryError(f"cannot read the Iceberg table at {path} ({metadata.name}): {exc}") from exc
    files: list[str] = []
    for task in tasks:
        if task.delete_files:
            raise QueryError(
                f"Iceberg table {path} has delete files (merge-on-read); meshplane reads copy-on-write snapshots only"
            )
        files.append(_local_path(task.file.file_path))
    try:
        dataset = pads.dataset(files, schema=schema, format="parquet")
    except (OSError, ValueError) as exc:
        raise QueryError(f"cannot read the data files of the Iceberg table at {path}: {exc}") from exc
    return ArrowTable(dataset, str(snapshot.snapshot_id), files)
