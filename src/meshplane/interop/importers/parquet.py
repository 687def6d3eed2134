"""Import a Parquet file: column names, DuckDB types (physicalType), logical types, REQUIRED columns."""

from __future__ import annotations

from pathlib import Path

from meshplane.interop import Imported, ImportOptions
from meshplane.interop.files import read_data_file

KIND = "parquet"
DESCRIPTION = "a Parquet file: types from its schema, required from REQUIRED columns"


def read(source: Path, options: ImportOptions) -> Imported:
    """The contract of one Parquet file."""
    return read_data_file(source, options, KIND)
