"""Helpers for the check tests: write a contract and its data, run meshplane on it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from meshplane.checks import CheckResult, TestRun
from meshplane.service.testing import run_contract
from meshplane.spec.loader import load_contract

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[2]
RESULT_SCHEMA = json.loads((REPO / "docs" / "schemas" / "test-result.schema.json").read_text(encoding="utf-8"))


def contract_doc(objects: list[dict[str, Any]], *, path: str = "{model}.parquet", fmt: str = "parquet",
                 **extra: Any) -> dict[str, Any]:  # fmt: skip
    """A minimal valid ODCS v3.1 contract with one local server."""
    doc: dict[str, Any] = {
        "apiVersion": "v3.1.0",
        "kind": "DataContract",
        "id": "test-contract",
        "version": "1.0.0",
        "status": "active",
        "servers": [{"server": "local", "type": "local", "path": path, "format": fmt}],
        "schema": objects,
    }
    doc.update(extra)
    return doc


def write_contract(folder: Path, doc: dict[str, Any], name: str = "contract.odcs.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def run_doc(folder: Path, doc: dict[str, Any], tables: dict[str, pa.Table] | None = None, **kwargs: Any) -> TestRun:
    """Write parquet files for `tables` (one per object) and the contract, then test it."""
    for name, table in (tables or {}).items():
        pq.write_table(table, folder / f"{name}.parquet")
    path = write_contract(folder, doc)
    loaded = load_contract(path)
    assert loaded.ok, [str(d) for d in loaded.diagnostics]
    assert loaded.model is not None
    kwargs.setdefault("clock", lambda: NOW)
    return run_contract(loaded.model, base_dir=folder, file=str(path), **kwargs)


def check(run: TestRun, check_id: str) -> CheckResult:
    """The result of one check by id (a clear failure listing the ids otherwise)."""
    for result in run.checks:
        if result.spec.id == check_id:
            return result
    raise AssertionError(f"no check {check_id!r}; have {[c.spec.id for c in run.checks]}")


def statuses(run: TestRun) -> dict[str, str]:
    return {c.spec.id: c.status.value for c in run.checks}
