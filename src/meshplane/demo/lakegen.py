"""Generate the synthetic data lake of the holding example mesh.

:func:`generate_lake` reads the contracts of a mesh folder (``domains/*/products/*/contracts/*.odcs.yaml``),
generates the data of every contract it knows (see :data:`CONTRACT_IDS`) and writes it where the
contract's first ``local`` server says, relative to the lake root:

* ``format: parquet`` - one file, ``<dir>/part-00000.parquet`` for a ``<dir>/*.parquet`` path (see
  :func:`data_location`), written with a row-group writer so memory stays bounded;
* ``format: csv`` - likewise one file with a header row (pyarrow CSV writer);
* ``format: iceberg`` - an Iceberg table whose location is the path, registered in a SQLite catalog
  at ``<lake>/_catalog/iceberg.db`` (readers may also open the newest ``metadata/*.metadata.json``).

Column names, order and types come from the contract: each generated table is projected onto the
contract's properties and cast to the Arrow type of their ``physicalType`` (``VARCHAR`` -> string,
``BIGINT`` -> int64, ``INTEGER`` -> int32, ``DOUBLE`` -> float64, ``DECIMAL(p,s)`` -> decimal128,
``DATE`` -> date32, ``TIMESTAMP WITH TIME ZONE`` -> timestamp[us, UTC], ``TIMESTAMP`` -> timestamp[us],
``BOOLEAN`` -> bool). A contract property the generator does not produce is an error.

The output is deterministic for given ``(rows, seed, now)``: all randomness comes from
``random.Random(seed)`` and seeded pyarrow columns, all times are relative to ``now``. ``rows`` is
the size of the largest fact table (``retail.sales.order_lines``); the others scale from it.
Every dataset satisfies its contract except ``marketing.campaign_responses.responses``, which carries
the deliberate violations listed in :data:`meshplane.demo.lakedata.VIOLATIONS` and is stale.

Run ``python -m meshplane.demo.lakegen MESH_DIR [--rows N] [--seed S]`` to generate a lake by hand.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import yaml

from meshplane.demo.lakedata import (
    Clock,
    Dimensions,
    Rng,
    Sizes,
    Totals,
    build_campaign_kpis,
    build_campaigns,
    build_customer_summary,
    build_customers,
    build_daily_revenue,
    build_products,
    build_responses,
    order_batches,
)

CUSTOMERS = "customer.profiles.customers"
CUSTOMER_SUMMARY = "customer.customer360.customer_summary"
PRODUCTS = "retail.catalog.products"
ORDERS = "retail.sales.orders"
ORDER_LINES = "retail.sales.order_lines"
SHIPMENTS = "logistics.shipments.shipments"
LEDGER_ENTRIES = "finance.ledger.ledger_entries"
DAILY_REVENUE = "finance.revenue.daily_revenue"
CAMPAIGNS = "marketing.campaigns.campaigns"
RESPONSES = "marketing.campaign_responses.responses"
CAMPAIGN_KPIS = "marketing.campaign_performance.campaign_kpis"
CONTRACT_IDS: tuple[str, ...] = (
    CUSTOMERS,
    PRODUCTS,
    CAMPAIGNS,
    ORDERS,
    ORDER_LINES,
    SHIPMENTS,
    LEDGER_ENTRIES,
    DAILY_REVENUE,
    CUSTOMER_SUMMARY,
    RESPONSES,
    CAMPAIGN_KPIS,
)
"""Contracts the generator has data for (in the order their data is produced)."""

VIOLATING_CONTRACT = RESPONSES
"""The one contract whose data breaks its contract on purpose."""

CATALOG_DIR = "_catalog"
CATALOG_NAME = "meshplane"
_FILE_FORMATS = {"parquet": ".parquet", "csv": ".csv"}
_FORMATS = (*_FILE_FORMATS, "iceberg")


@dataclass(frozen=True)
class LakeTable:
    """One dataset written: its contract, where it is (file or Iceberg table location), its size."""

    contract_id: str
    path: Path
    format: str
    rows: int


@dataclass(frozen=True)
class LakeSummary:
    """What :func:`generate_lake` wrote."""

    lake_root: Path
    rows: int
    seed: int
    now: datetime
    tables: tuple[LakeTable, ...]
    skipped: tuple[str, ...] = ()
    """Contracts of the mesh without data: no local server, or unknown to the generator."""

    def table(self, contract_id: str) -> LakeTable:
        for table in self.tables:
            if table.contract_id == contract_id:
                return table
        raise KeyError(contract_id)

    @property
    def total_rows(self) -> int:
        return sum(table.rows for table in self.tables)


@dataclass(frozen=True)
class ContractTarget:
    """Where and how one contract's data goes: its local server and its (first) object's columns."""

    contract_id: str
    server_path: str
    format: str
    columns: tuple[tuple[str, str], ...]  # (property name, physicalType)

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([pa.field(name, arrow_type(physical)) for name, physical in self.columns])


# ---------------------------------------------------------------- contracts and types

_DECIMAL = re.compile(r"^(?:DECIMAL|NUMERIC)\((\d+),(\d+)\)$")
_LENGTH = re.compile(r"^(VARCHAR|CHAR|STRING|TEXT)\(\d+\)$")
_ARROW_TYPES: dict[str, pa.DataType] = {
    "VARCHAR": pa.string(),
    "CHAR": pa.string(),
    "STRING": pa.string(),
    "TEXT": pa.string(),
    "BIGINT": pa.int64(),
    "INTEGER": pa.int32(),
    "INT": pa.int32(),
    "SMALLINT": pa.int16(),
    "TINYINT": pa.int8(),
    "DOUBLE": pa.float64(),
    "REAL": pa.float32(),
    "FLOAT": pa.float32(),
    "BOOLEAN": pa.bool_(),
    "DATE": pa.date32(),
    "TIMESTAMP": pa.timestamp("us"),
    "TIMESTAMP WITH TIME ZONE": pa.timestamp("us", tz="UTC"),
    "TIMESTAMPTZ": pa.timestamp("us", tz="UTC"),
}


def arrow_type(physical_type: str) -> pa.DataType:
    """The Arrow type the lake uses for a contract ``physicalType`` (DuckDB spelling)."""
    key = " ".join(physical_type.upper().split())
    compact = key.replace(" ", "")
    decimal = _DECIMAL.match(compact)
    if decimal:
        return pa.decimal128(int(decimal.group(1)), int(decimal.group(2)))
    if _LENGTH.match(compact):
        return pa.string()
    if key in _ARROW_TYPES:
        return _ARROW_TYPES[key]
    raise ValueError(f"unsupported physicalType {physical_type!r}")


def contract_files(mesh_dir: Path) -> list[Path]:
    """The contract files of a mesh folder, sorted."""
    return sorted(mesh_dir.glob("domains/*/products/*/contracts/*.odcs.yaml"))


def load_targets(mesh_dir: Path) -> tuple[dict[str, ContractTarget], list[str]]:
    """Contracts with a local server (by id), and the ids of those without one."""
    targets: dict[str, ContractTarget] = {}
    without_server: list[str] = []
    for path in contract_files(mesh_dir):
        doc: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
        contract_id = str(doc["id"])
        server = next((s for s in doc.get("servers") or [] if s.get("type") == "local"), None)
        objects = doc.get("schema") or []
        if server is None or not objects:
            without_server.append(contract_id)
            continue
        fmt = str(server["format"]).lower()
        if fmt not in _FORMATS:
            raise ValueError(f"{path}: unsupported local server format {fmt!r}")
        columns = tuple(
            (str(prop["name"]), str(prop.get("physicalType") or "VARCHAR"))
            for prop in objects[0].get("properties") or []
        )
        targets[contract_id] = ContractTarget(contract_id, str(server["path"]), fmt, columns)
    return targets, without_server


def conform(table: pa.Table, target: ContractTarget) -> pa.Table:
    """Project ``table`` onto the contract's columns, in contract order, with contract types."""
    schema = target.schema
    missing = [field.name for field in schema if field.name not in table.column_names]
    if missing:
        raise ValueError(f"{target.contract_id}: the generator produces no column(s) {', '.join(missing)}")
    arrays = [table.column(field.name).cast(field.type) for field in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


def lake_root_of(mesh_dir: Path) -> Path:
    """The lake root a ``mesh.yaml`` declares (``lake.root``, default ``lake``), as a path."""
    mesh_file = mesh_dir / "mesh.yaml"
    root = "lake"
    if mesh_file.exists():
        doc = yaml.safe_load(mesh_file.read_text(encoding="utf-8")) or {}
        root = str((doc.get("lake") or {}).get("root") or root)
    path = Path(root)
    return path if path.is_absolute() else mesh_dir / path


# ---------------------------------------------------------------- writing


def _relative(server_path: str) -> PurePosixPath:
    rel = PurePosixPath(server_path)
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        raise ValueError(f"server path {server_path!r} must be relative to the lake root, without '..'")
    return rel


def _has_glob(part: str) -> bool:
    return any(ch in part for ch in "*?[")


@dataclass(frozen=True)
class DataLocation:
    """Where a contract's data is written, and what is removed first so re-runs replace it."""

    path: Path  # the data file, or the Iceberg table location
    clear_dir: Path | None = None  # remove this whole directory (Iceberg table location) ...
    clear_pattern: str | None = None  # ... or only the files of ``path.parent`` matching this


def data_location(lake_root: Path, target: ContractTarget) -> DataLocation:
    """The location of a contract's data under ``lake_root``, from its local server path.

    A file-name pattern (``orders/*.parquet``, ``orders/part-*.csv``) gets one file whose name
    matches it (``*`` becomes ``part-00000``); a path without suffix is a directory that gets
    ``part-00000.<format>``; any other path is the file itself.
    """
    rel = _relative(target.server_path)
    if target.format == "iceberg":
        location = lake_root.joinpath(*rel.parts)
        return DataLocation(location, clear_dir=location)
    if any(_has_glob(part) for part in rel.parts[:-1]) or "[" in rel.name:
        raise ValueError(f"{target.contract_id}: only '*' and '?' in the file name of a server path are supported")
    if _has_glob(rel.name):
        name = rel.name.replace("*", "part-00000").replace("?", "0")
        return DataLocation(lake_root.joinpath(*rel.parts[:-1], name), clear_pattern=rel.name)
    suffix = _FILE_FORMATS[target.format]
    if not rel.suffix:
        return DataLocation(lake_root.joinpath(*rel.parts, f"part-00000{suffix}"), clear_pattern=f"*{suffix}")
    file = lake_root.joinpath(*rel.parts)
    return DataLocation(file, clear_pattern=file.name)


def _clear(location: DataLocation, lake_root: Path) -> None:
    """Remove what a previous run wrote at ``location`` (never anything outside the lake root)."""
    if location.clear_dir is not None:
        _remove_tree(location.clear_dir, lake_root)
    elif location.clear_pattern is not None and location.path.parent.is_dir():
        _inside(location.path.parent, lake_root)
        for old in location.path.parent.glob(location.clear_pattern):
            if old.is_file():
                old.unlink()


def _inside(path: Path, lake_root: Path) -> None:
    resolved, root = path.resolve(), lake_root.resolve()
    if resolved == root or not resolved.is_relative_to(root):
        raise ValueError(f"refusing to write {path}: not inside the lake root {lake_root}")


def _remove_tree(path: Path, lake_root: Path) -> None:
    _inside(path, lake_root)
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


class _Sink(Protocol):
    def write(self, table: pa.Table) -> None: ...

    def close(self) -> LakeTable: ...


class _FileSink:
    """Parquet (row groups) or CSV, one file, appended batch by batch."""

    def __init__(self, target: ContractTarget, file: Path) -> None:
        self.target, self.file, self.rows = target, file, 0
        file.parent.mkdir(parents=True, exist_ok=True)
        schema = target.schema
        if target.format == "parquet":
            self._writer: Any = pq.ParquetWriter(file, schema, compression="zstd")
        else:
            self._writer = pacsv.CSVWriter(file, schema)

    def write(self, table: pa.Table) -> None:
        self._writer.write_table(table)
        self.rows += table.num_rows

    def close(self) -> LakeTable:
        self._writer.close()
        return LakeTable(self.target.contract_id, self.file, self.target.format, self.rows)


class _IcebergSink:
    """An Iceberg table at the contract's location, filled in one transaction (one snapshot per batch)."""

    def __init__(self, target: ContractTarget, location: Path, catalog: Any) -> None:
        self.target, self.location, self.rows = target, location, 0
        domain, _, rest = target.contract_id.partition(".")
        catalog.create_namespace_if_not_exists(domain)
        identifier = (domain, rest.replace(".", "_") or domain)
        self._table = catalog.create_table(identifier, schema=target.schema, location=str(location))
        self._tx = self._table.transaction()

    def write(self, table: pa.Table) -> None:
        if table.num_rows:
            self._tx.append(table)
            self.rows += table.num_rows

    def close(self) -> LakeTable:
        self._tx.commit_transaction()
        return LakeTable(self.target.contract_id, self.location, "iceberg", self.rows)


class _LakeWriter:
    """Routes generated tables to the sink of their contract; contracts without target are ignored."""

    def __init__(self, lake_root: Path, targets: dict[str, ContractTarget]) -> None:
        self.lake_root, self.targets = lake_root, targets
        self.sinks: dict[str, _Sink] = {}
        self._catalog: Any = None

    def emit(self, contract_id: str, table: pa.Table) -> None:
        target = self.targets.get(contract_id)
        if target is None:
            return
        sink = self.sinks.get(contract_id)
        if sink is None:
            sink = self.sinks[contract_id] = self._open(target)
        sink.write(conform(table, target))

    def _open(self, target: ContractTarget) -> _Sink:
        location = data_location(self.lake_root, target)
        _clear(location, self.lake_root)
        if target.format == "iceberg":
            return _IcebergSink(target, location.path, self._iceberg_catalog())
        return _FileSink(target, location.path)

    def _iceberg_catalog(self) -> Any:
        if self._catalog is None:
            from pyiceberg.catalog.sql import SqlCatalog

            catalog_dir = self.lake_root / CATALOG_DIR
            _remove_tree(catalog_dir, self.lake_root)
            catalog_dir.mkdir(parents=True)
            self._catalog = SqlCatalog(
                CATALOG_NAME,
                uri=f"sqlite:///{(catalog_dir / 'iceberg.db').resolve()}",
                warehouse=self.lake_root.resolve().as_uri(),
            )
        return self._catalog

    def close(self) -> list[LakeTable]:
        return [sink.close() for sink in self.sinks.values()]


# ---------------------------------------------------------------- entry points


def default_now() -> datetime:
    """The current UTC time truncated to the minute."""
    return datetime.now(UTC).replace(second=0, microsecond=0)


def generate_lake(
    mesh_dir: Path, lake_root: Path, rows: int = 1000, seed: int = 7, now: datetime | None = None
) -> LakeSummary:
    """Write the data of the mesh's contracts under ``lake_root`` (see the module docstring).

    ``rows`` is the row count of the largest fact table (order lines), ``seed`` drives all
    randomness and ``now`` (timezone-aware; default: current UTC minute) anchors all timestamps.
    Existing data at the contracts' paths (and the Iceberg catalog) is replaced.
    """
    if rows < 1:
        raise ValueError("rows must be at least 1")
    if now is None:
        now = default_now()
    elif now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(UTC)
    targets, skipped = load_targets(mesh_dir)
    lake_root.mkdir(parents=True, exist_ok=True)
    writer = _LakeWriter(lake_root, targets)
    rng, clock, sizes = Rng(seed), Clock.at(now), Sizes.for_rows(rows)

    customers = build_customers(rng, clock, sizes.customers)
    writer.emit(CUSTOMERS, customers)
    products = build_products(rng, clock, sizes.products)
    writer.emit(PRODUCTS, products)
    campaigns = build_campaigns(rng, clock, sizes.campaigns)
    writer.emit(CAMPAIGNS, campaigns)

    totals = Totals()
    for batch in order_batches(rng, clock, Dimensions(customers, products), sizes.order_lines):
        writer.emit(ORDERS, batch.orders)
        writer.emit(ORDER_LINES, batch.order_lines)
        writer.emit(SHIPMENTS, batch.shipments)
        writer.emit(LEDGER_ENTRIES, batch.ledger_entries)
        totals.add(batch)
    writer.emit(DAILY_REVENUE, build_daily_revenue(rng, clock, totals))
    writer.emit(CUSTOMER_SUMMARY, build_customer_summary(rng, clock, customers, totals))

    responses, valid = build_responses(rng, clock, customers, campaigns, sizes.responses)
    writer.emit(RESPONSES, responses)
    writer.emit(CAMPAIGN_KPIS, build_campaign_kpis(rng, clock, campaigns, responses, valid))

    tables = writer.close()
    unknown = [contract_id for contract_id in targets if contract_id not in writer.sinks]
    return LakeSummary(
        lake_root=lake_root,
        rows=rows,
        seed=seed,
        now=now,
        tables=tuple(sorted(tables, key=lambda t: t.contract_id)),
        skipped=tuple(sorted([*skipped, *unknown])),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m meshplane.demo.lakegen MESH_DIR``: generate a lake and print what was written."""
    parser = argparse.ArgumentParser(prog="python -m meshplane.demo.lakegen", description=__doc__.splitlines()[0])
    parser.add_argument("mesh_dir", type=Path, nargs="?", default=Path())
    parser.add_argument("--lake", type=Path, default=None, help="lake root (default: mesh.yaml lake.root)")
    parser.add_argument("--rows", type=int, default=1000, help="rows of the largest fact table")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    lake = args.lake if args.lake is not None else lake_root_of(args.mesh_dir)
    started = time.perf_counter()
    summary = generate_lake(args.mesh_dir, lake, rows=args.rows, seed=args.seed)
    elapsed = time.perf_counter() - started
    for table in summary.tables:
        print(f"{table.contract_id:48} {table.format:8} {table.rows:>12,}  {table.path}")
    for contract_id in summary.skipped:
        print(f"{contract_id:48} skipped (no local server or no generator)")
    print(f"{summary.total_rows:,} rows in {len(summary.tables)} tables, {elapsed:.2f}s, now={summary.now.isoformat()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
