"""Put conformance data where an engine reads it; return the server to test against.

One function per engine name. DuckDB and Spark read the same Parquet files on a `local` server;
PostgreSQL gets the tables loaded into the fresh database of the test (``postgres_url``), with
the credentials in the environment variables named after the server.

Engines that need a service name the fixture that provides it in `SERVICE_FIXTURES`; the
conformance `conftest.py` requests it for that engine's tests (skipped outside CI when the service
is missing, failed in CI) and hands its value to the provisioner through `use_service`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pyarrow as pa
import pyarrow.parquet as pq

Provisioner = Callable[[Path, dict[str, pa.Table]], dict[str, Any]]
JsonProvisioner = Callable[[Path, dict[str, list[Any]]], dict[str, Any]]
SERVER_ID = "conformance"

SERVICE_FIXTURES: dict[str, str] = {"spark": "spark_engine", "postgres": "postgres_url"}
"""Engine -> the pytest fixture its tests need (a running service)."""

_services: dict[str, Any] = {}


def use_service(engine: str, value: Any) -> None:
    """Hand the value of an engine's service fixture to its provisioner (done by conftest.py)."""
    _services[engine] = value


def parquet_files(folder: Path, tables: dict[str, pa.Table]) -> dict[str, Any]:
    """One Parquet file per object, served as a `local` server."""
    for name, table in tables.items():
        pq.write_table(table, folder / f"{name}.parquet")
    return {"server": SERVER_ID, "type": "local", "path": "{model}.parquet", "format": "parquet"}


def ndjson_files(folder: Path, rows: dict[str, list[Any]]) -> dict[str, Any]:
    """One newline-delimited JSON file per object (a row per line, as the case writes it)."""
    for name, records in rows.items():
        lines = [json.dumps(record, ensure_ascii=False) for record in records]
        (folder / f"{name}.ndjson").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"server": SERVER_ID, "type": "local", "path": "{model}.ndjson", "format": "ndjson"}


def postgres_type(kind: pa.DataType) -> str:
    """The PostgreSQL column type for an Arrow type of the fixtures."""
    if pa.types.is_list(kind):
        return postgres_type(kind.value_type) + "[]"
    if pa.types.is_decimal(kind):
        return f"numeric({kind.precision}, {kind.scale})"
    if pa.types.is_timestamp(kind):
        return "timestamp with time zone" if kind.tz else "timestamp without time zone"
    simple = {
        "int32": "integer",
        "int64": "bigint",
        "float": "real",
        "double": "double precision",
        "bool": "boolean",
        "string": "text",
        "large_string": "text",
        "date32[day]": "date",
    }
    if str(kind) not in simple:
        raise NotImplementedError(f"no PostgreSQL type for the fixture type {kind}")
    return simple[str(kind)]


def postgres_credentials(url: str) -> dict[str, str]:
    """Environment variables giving the conformance server the user (and password) of `url`, bound
    to its host and port (a credential is sent only to the location it is bound to)."""
    parts = urlsplit(url)
    env = {
        f"MESHPLANE_SERVER_{SERVER_ID.upper()}_USERNAME": unquote(parts.username or ""),
        f"MESHPLANE_SERVER_{SERVER_ID.upper()}_HOST": parts.hostname or "",
        f"MESHPLANE_SERVER_{SERVER_ID.upper()}_PORT": str(parts.port or 5432),
    }
    if parts.password:
        env[f"MESHPLANE_SERVER_{SERVER_ID.upper()}_PASSWORD"] = unquote(parts.password)
    return env


def postgres_tables(folder: Path, tables: dict[str, pa.Table]) -> dict[str, Any]:
    """Every object as a table of the test's fresh database (schema ``public``)."""
    import psycopg
    from psycopg import sql

    url = _services["postgres"]
    parts = urlsplit(url)
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1), autocommit=True) as conn:
        for name, table in tables.items():
            columns = sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(f.name), sql.SQL(postgres_type(f.type))) for f in table.schema
            )
            conn.execute(sql.SQL("CREATE TABLE {} ({})").format(sql.Identifier(name), columns))
            if table.num_rows:
                placeholders = sql.SQL(", ").join(sql.Placeholder() * table.num_columns)
                insert = sql.SQL("INSERT INTO {} VALUES ({})").format(sql.Identifier(name), placeholders)
                with conn.cursor() as cursor:
                    cursor.executemany(insert, [tuple(row.values()) for row in table.to_pylist()])
    return {
        "server": SERVER_ID,
        "type": "postgres",
        "host": parts.hostname,
        "port": parts.port or 5432,
        "database": parts.path.lstrip("/"),
        "schema": "public",
    }


PROVISIONERS: dict[str, Provisioner] = {
    "duckdb": parquet_files,
    "spark": parquet_files,
    "postgres": postgres_tables,
}

JSON_PROVISIONERS: dict[str, JsonProvisioner] = {
    "duckdb": ndjson_files,
    "spark": ndjson_files,
}
"""Engines that read JSON files, for the cases whose data is `json` (the readers infer the types)."""
