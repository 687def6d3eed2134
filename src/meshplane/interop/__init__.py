"""Import contracts from other formats and export them to others (`meshplane import` / `export`).

One module per format: `importers/<kind>.py` defines ``KIND``, ``DESCRIPTION`` and
``read(source: Path, options: ImportOptions) -> Imported``; `exporters/<format>.py` defines
``FORMAT``, ``DESCRIPTION`` and ``write(contract: dict, options: ExportOptions) -> Exported``.
They are found by discovery (`importer_modules()`, `exporter_modules()`): adding a format is adding one module.
Both sides say what they could not carry (`dropped`), and importers say what they inferred (`notes`).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from meshplane.diagnostics import MeshplaneError

ODCS_VERSION = "v3.1.0"
"""The ODCS version importers write."""


@dataclass(frozen=True)
class Column:
    """One column as importers read it, before it becomes an ODCS property."""

    name: str
    logical_type: str
    physical_type: str
    required: bool | None = None
    key_position: int | None = None
    """1-based position in the primary key; None when the column is not part of it."""
    unique: bool = False
    description: str | None = None
    quality: tuple[dict[str, Any], ...] = ()
    """ODCS quality rules of the column (from a source's tests)."""


@dataclass(frozen=True)
class Table:
    """One table (an ODCS schema object) as importers read it."""

    name: str
    columns: list[Column]
    description: str | None = None


@dataclass(frozen=True)
class ImportOptions:
    """What the user said about the contract to write: its product (``domain.product``), port, dialect, table."""

    product: str | None = None
    port: str | None = None
    dialect: str | None = None
    table: str | None = None
    """The table to import from a database (``schema.table`` or ``table``; None: every table)."""


@dataclass(frozen=True)
class ExportOptions:
    """What the user asked of an export: the SQL dialect."""

    dialect: str | None = None


@dataclass
class Imported:
    """An imported contract (an ODCS document), what was inferred and what could not be carried."""

    document: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)


@dataclass
class Exported:
    """An exported text and what of the contract it could not carry."""

    text: str
    dropped: list[str] = field(default_factory=list)


class InteropError(MeshplaneError):
    """A source or contract that cannot be imported or exported (exit 2, nothing written)."""


def _modules(package: str) -> dict[str, ModuleType]:
    found: dict[str, ModuleType] = {}
    base = importlib.import_module(package)
    for info in pkgutil.iter_modules(base.__path__):
        module = importlib.import_module(f"{package}.{info.name}")
        name = getattr(module, "KIND", None) or getattr(module, "FORMAT", None)
        if isinstance(name, str):
            found[name] = module
    return dict(sorted(found.items()))


def importer_modules() -> dict[str, ModuleType]:
    """Every importer, by kind."""
    return _modules("meshplane.interop.importers")


def exporter_modules() -> dict[str, ModuleType]:
    """Every exporter, by format."""
    return _modules("meshplane.interop.exporters")


def import_source(kind: str, source: str | Path, options: ImportOptions) -> Imported:
    """Read `source` as `kind` into an ODCS contract; InteropError for an unknown kind or bad source.

    `source` is a file, or a connection URL for an importer that declares ``SOURCE_IS_URL``.
    """
    known = importer_modules()
    if kind not in known:
        raise InteropError(f"unknown import kind {kind!r}: use one of {', '.join(known)}")
    if getattr(known[kind], "SOURCE_IS_URL", False):
        read_url: Callable[[str, ImportOptions], Imported] = known[kind].read
        return read_url(str(source), options)
    path = Path(source)
    if not path.is_file():
        raise InteropError(f"{path}: no such file")
    reader: Callable[[Path, ImportOptions], Imported] = known[kind].read
    return reader(path, options)


def export_contract(output_format: str, contract: dict[str, Any], options: ExportOptions) -> Exported:
    """Write an ODCS contract document as `output_format`; InteropError for an unknown format."""
    known = exporter_modules()
    if output_format not in known:
        raise InteropError(f"unknown export format {output_format!r}: use one of {', '.join(known)}")
    writer: Callable[[dict[str, Any], ExportOptions], Exported] = known[output_format].write
    return writer(contract, options)


def contract_document(tables: list[Table], source: Path, options: ImportOptions) -> dict[str, Any]:
    """An ODCS v3.1.0 contract for `tables`, identified by product and port (else the source's name)."""
    port = options.port or (tables[0].name if tables else source.stem)
    doc: dict[str, Any] = {"apiVersion": ODCS_VERSION, "kind": "DataContract"}
    if options.product:
        domain = options.product.split(".")[0]
        doc["id"] = f"{options.product}.{port}"
        doc["name"] = port
        doc["version"] = "1.0.0"
        doc["status"] = "draft"
        doc["domain"] = domain
    else:
        doc.update({"id": port, "name": port, "version": "1.0.0", "status": "draft"})
    doc["description"] = {"purpose": f"Imported from {source.name}."}
    doc["schema"] = [schema_object(t) for t in tables]
    return doc


def schema_object(table: Table) -> dict[str, Any]:
    """One table as an ODCS schema object."""
    out: dict[str, Any] = {"name": table.name, "physicalType": "table"}
    if table.description:
        out["description"] = table.description
    props: list[dict[str, Any]] = []
    for col in table.columns:
        prop: dict[str, Any] = {"name": col.name, "logicalType": col.logical_type}
        if col.physical_type:  # "" when the source format has no physical type (JSON Schema)
            prop["physicalType"] = col.physical_type
        if col.description:
            prop["description"] = col.description
        if col.required is not None:
            prop["required"] = col.required
        if col.key_position is not None:
            prop["primaryKey"] = True
            prop["primaryKeyPosition"] = col.key_position
        if col.unique:
            prop["unique"] = True
        if col.quality:
            prop["quality"] = [dict(rule) for rule in col.quality]
        props.append(prop)
    out["properties"] = props
    return out


__all__ = [
    "ODCS_VERSION",
    "Column",
    "ExportOptions",
    "Exported",
    "ImportOptions",
    "Imported",
    "InteropError",
    "Table",
    "contract_document",
    "export_contract",
    "exporter_modules",
    "import_source",
    "importer_modules",
    "schema_object",
]
