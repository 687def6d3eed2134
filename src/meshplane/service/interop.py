"""The `meshplane import` and `meshplane export` use cases: a source to a linted ODCS contract, a contract to a format.

Nothing is written unless the whole conversion succeeded: an imported contract is linted before
its file is written (a contract that would not lint clean is an error, exit 2), an export is
computed before its file is opened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from meshplane.diagnostics import Diagnostic, MeshplaneError, has_errors
from meshplane.interop import (
    Exported,
    ExportOptions,
    Imported,
    ImportOptions,
    export_contract,
    exporter_modules,
    import_source,
    importer_modules,
)
from meshplane.service.linting import lint_path
from meshplane.spec.loader import load_contract


@dataclass
class ImportResult:
    """An imported contract: its YAML text, where it was written (None: not written), notes and drops."""

    text: str
    imported: Imported
    written: Path | None = None
    warnings: list[Diagnostic] = field(default_factory=list)


def import_kinds() -> dict[str, str]:
    """Every import kind with its description."""
    return {kind: str(module.DESCRIPTION) for kind, module in importer_modules().items()}


def export_formats() -> dict[str, str]:
    """Every export format with its description."""
    return {name: str(module.DESCRIPTION) for name, module in exporter_modules().items()}


def import_contract(
    kind: str,
    source: str | Path,
    *,
    product: str | None = None,
    port: str | None = None,
    dialect: str | None = None,
    table: str | None = None,
    output: Path | None = None,
    overwrite: bool = False,
) -> ImportResult:
    """Import `source` as `kind` into an ODCS contract, lint it, and write it to `output` when given."""
    if output is not None and output.exists() and not overwrite:
        raise MeshplaneError(f"{output} exists: choose another --output or pass --force")
    imported = import_source(kind, source, ImportOptions(product=product, port=port, dialect=dialect, table=table))
    text = yaml.safe_dump(imported.document, sort_keys=False, allow_unicode=True)
    report = _lint_text(text, output.name if output else "imported.odcs.yaml")
    if has_errors(report):
        raise MeshplaneError(f"the contract imported ({kind}) does not lint clean", report)
    written = None
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        written = output
    return ImportResult(text, imported, written, report)


def _lint_text(text: str, name: str) -> list[Diagnostic]:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="meshplane-import-") as folder:
        path = Path(folder) / (name if name.endswith(".odcs.yaml") else f"{Path(name).stem}.odcs.yaml")
        path.write_text(text, encoding="utf-8")
        report = lint_path(path)
    return [d for d in report.diagnostics if d.severity.value != "info"]


def export_contract_file(output_format: str, contract: Path, *, dialect: str | None = None) -> Exported:
    """Export the contract file `contract` as `output_format` (the contract must load without errors)."""
    if output_format not in exporter_modules():
        raise MeshplaneError(f"unknown export format {output_format!r}: use one of {', '.join(exporter_modules())}")
    if not contract.is_file():
        raise MeshplaneError(f"{contract}: no such file")
    loaded = load_contract(contract)
    if loaded.document is None or not loaded.ok:
        errors = [d for d in loaded.diagnostics if d.severity.value == "error"]
        raise MeshplaneError(f"{contract} is not a valid ODCS contract", errors)
    return export_contract(output_format, dict(loaded.document.data), ExportOptions(dialect=dialect))


__all__ = ["ImportResult", "export_contract_file", "export_formats", "import_contract", "import_kinds"]
