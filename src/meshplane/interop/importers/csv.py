"""Import a CSV file: column names and the types DuckDB infers from the data (stated in the notes)."""

from __future__ import annotations

from pathlib import Path

from meshplane.interop import Imported, ImportOptions
from meshplane.interop.files import read_data_file

KIND = "csv"
DESCRIPTION = "a CSV file with a header: types inferred by DuckDB from the data"


def read(source: Path, options: ImportOptions) -> Imported:
    """The contract of one CSV file."""
    return read_data_file(source, options, KIND)
