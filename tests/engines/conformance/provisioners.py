"""Put conformance data where an engine reads it; return the server to test against.

One function per engine name. Spark (issue 4) can reuse `parquet_files`; PostgreSQL loads the
tables into a fresh database and returns a `postgres` server.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

Provisioner = Callable[[Path, dict[str, pa.Table]], dict[str, Any]]


def parquet_files(folder: Path, tables: dict[str, pa.Table]) -> dict[str, Any]:
    """One Parquet file per object, served as a `local` server."""
    for name, table in tables.items():
        pq.write_table(table, folder / f"{name}.parquet")
    return {"server": "conformance", "type": "local", "path": "{model}.parquet", "format": "parquet"}


PROVISIONERS: dict[str, Provisioner] = {
    "duckdb": parquet_files,
}
