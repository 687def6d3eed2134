"""Every official ODCS and ODPS example loads, and parse -> dump -> parse gives the same thing.

The examples are read from ../shared/standards (never copied into the repository).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest

from meshplane.diagnostics import Severity
from meshplane.spec.loader import FileKind, LoadedFile, dump_document, load_file, load_text
from meshplane.spec.odcs import Contract
from meshplane.spec.odps import DataProduct

STANDARDS = Path(__file__).resolve().parents[2].parent / "shared" / "standards"
ODCS_EXAMPLES = sorted((STANDARDS / "odcs" / "examples").rglob("*.odcs.yaml"))
ODPS_EXAMPLES = sorted((STANDARDS / "odps" / "examples").rglob("*.odps.yaml"))

# Examples that declare an older apiVersion than the fields they use need (warning, not error).
NEEDS_NEWER_VERSION = {
    "data-types/all-data-types.odcs.yaml",
    "quality/column-completeness.odcs.yaml",
    "stakeholders/basic-four-dpo.odcs.yaml",
}


@cache
def _load(path: Path) -> LoadedFile[Any]:
    """Each example is loaded once per session (the big ones take a while to validate)."""
    return load_file(path)


def _ids(paths: list[Path]) -> list[str]:
    return [p.relative_to(p.parents[1]).as_posix() for p in paths]


def test_all_official_examples_are_found(standards_dir: Path) -> None:
    assert len(list((standards_dir / "odcs" / "examples").rglob("*.odcs.yaml"))) == 18
    assert len(ODCS_EXAMPLES) == 18
    assert [p.name for p in ODPS_EXAMPLES] == ["customer-data-product.odps.yaml", "simple-data-product.odps.yaml"]


@pytest.mark.parametrize("path", ODCS_EXAMPLES, ids=_ids(ODCS_EXAMPLES))
def test_odcs_example_loads(path: Path) -> None:
    loaded = _load(path)
    assert loaded.ok, [str(d) for d in loaded.diagnostics]
    assert isinstance(loaded.model, Contract)
    assert loaded.kind is FileKind.CONTRACT
    assert all(d.severity is not Severity.ERROR for d in loaded.diagnostics)
    key = path.relative_to(path.parents[1]).as_posix()
    codes = [d.code for d in loaded.diagnostics]
    if key in NEEDS_NEWER_VERSION:
        assert codes == ["api-version-too-old"]
        (warning,) = loaded.diagnostics
        assert warning.severity is Severity.WARNING
        assert warning.path == "$.apiVersion"
        assert warning.line is not None
        assert "v3.1.0" in warning.message
    else:
        assert codes == []
    assert loaded.model.id == loaded.document.data["id"]  # type: ignore[union-attr]


@pytest.mark.parametrize("path", ODPS_EXAMPLES, ids=_ids(ODPS_EXAMPLES))
def test_odps_example_loads(path: Path) -> None:
    loaded = _load(path)
    assert loaded.ok, [str(d) for d in loaded.diagnostics]
    assert isinstance(loaded.model, DataProduct)
    assert loaded.diagnostics == []
    assert loaded.model.api_version == loaded.document.data["apiVersion"]  # type: ignore[union-attr]


@pytest.mark.parametrize("path", ODCS_EXAMPLES + ODPS_EXAMPLES, ids=_ids(ODCS_EXAMPLES + ODPS_EXAMPLES))
def test_official_example_round_trips(path: Path) -> None:
    first = _load(path)
    assert first.model is not None and first.document is not None
    text = dump_document(first.model)
    second = load_text(text, path.name, first.kind)
    assert second.ok, [str(d) for d in second.diagnostics]
    assert second.model == first.model
    assert second.document is not None
    assert second.document.data == first.document.data
    # and the dump is stable: dumping the re-read model gives the same text
    assert dump_document(second.model) == text
