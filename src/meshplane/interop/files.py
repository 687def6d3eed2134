"""Data files (Parquet, CSV) read through DuckDB: their columns, types and nullability."""

from __future__ import annotations

from pathlib import Path

from meshplane.interop import Column, Imported, ImportOptions, InteropError, Table, contract_document
from meshplane.interop.types import logical_type


def _describe(source: Path, reader: str) -> list[tuple[str, str]]:
    import duckdb

    try:
        with duckdb.connect() as con:
            rows = con.execute(f"DESCRIBE SELECT * FROM {reader}(?)", [str(source)]).fetchall()
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InteropError(f"{source}: cannot be read as {reader.removeprefix('read_')}: {first}") from None
    return [(str(r[0]), str(r[1])) for r in rows]


def _parquet_required(source: Path) -> dict[str, bool]:
    """Top-level columns' nullability from the Parquet schema (REQUIRED repetition: required)."""
    import duckdb

    with duckdb.connect() as con:
        rows = con.execute(
            "SELECT name, repetition_type FROM parquet_schema(?) WHERE num_children IS NULL OR num_children >= 0",
            [str(source)],
        ).fetchall()
    return {str(name): rep == "REQUIRED" for name, rep in rows}


def read_data_file(source: Path, options: ImportOptions, kind: str) -> Imported:
    """A Parquet or CSV file as a one-table contract; types from DuckDB, stated in the notes."""
    reader = "read_parquet" if kind == "parquet" else "read_csv"
    described = _describe(source, reader)
    if not described:
        raise InteropError(f"{source}: no columns found")
    required = _parquet_required(source) if kind == "parquet" else {}
    notes: list[str] = []
    dropped: list[str] = []
    columns: list[Column] = []
    for name, physical in described:
        logical = logical_type(physical)
        if logical is None:
            dropped.append(f"column {name}: type {physical} has no ODCS logical type (written as string)")
            logical = "string"
        columns.append(Column(name, logical, physical, required=required.get(name) if required else None))
        notes.append(f"{name}: {physical} → {logical}" + (" (inferred from the data)" if kind == "csv" else ""))
    if kind == "csv":
        dropped.append("nullability: CSV declares none (no property is marked required)")
    table = Table(options.port or source.stem.split(".")[0], columns)
    doc = contract_document([table], source, options)
    return Imported(doc, notes, dropped)
