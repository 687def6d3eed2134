"""The compiled validator (jsonschema-rs) and python-jsonschema must give the same verdict.

meshplane trusts the fast verdict for valid documents and asks python-jsonschema to explain
invalid ones; if the two ever disagreed, an invalid file could pass silently.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from meshplane.spec.loader import FileKind, detect_kind
from meshplane.spec.validation import (
    DOMAIN_SCHEMA,
    MESH_SCHEMA,
    ODCS_SCHEMAS,
    ODPS_SCHEMAS,
    _validator,
    is_valid_against,
)
from meshplane.spec.yamlsource import read_yaml_file

REPO = Path(__file__).resolve().parents[2]
STANDARDS = REPO.parent / "shared" / "standards"


def _documents() -> list[Path]:
    roots = [
        REPO / "tests" / "corpus",
        REPO / "examples",
        STANDARDS / "odcs" / "examples",
        STANDARDS / "odps" / "examples",
    ]
    return sorted(p for root in roots if root.is_dir() for p in root.rglob("*.y*ml"))


def _schema_for(path: Path, data: object) -> str | None:
    kind = detect_kind(path, data)
    version = data.get("apiVersion") if isinstance(data, dict) else None
    if kind is FileKind.CONTRACT:
        return ODCS_SCHEMAS.get(version, ODCS_SCHEMAS["v3.1.0"]) if isinstance(version, str) else ODCS_SCHEMAS["v3.1.0"]
    if kind is FileKind.PRODUCT:
        return ODPS_SCHEMAS["v1.0.0"]
    if kind is FileKind.DOMAIN:
        return DOMAIN_SCHEMA
    if kind is FileKind.MESH:
        return MESH_SCHEMA
    return None


def _comparable() -> list[tuple[Path, str]]:
    """Documents that reach schema validation (parseable YAML of a known kind) and their schema."""
    out = []
    for path in _documents():
        doc, _ = read_yaml_file(path)
        schema = _schema_for(path, doc.data) if doc is not None else None
        if schema is not None:
            out.append((path, schema))
    return out


COMPARABLE = _comparable()


def test_there_are_valid_and_invalid_documents_to_compare() -> None:
    assert len(COMPARABLE) > 100


@pytest.mark.parametrize(("path", "schema"), COMPARABLE, ids=[str(p.relative_to(p.parents[2])) for p, _ in COMPARABLE])
def test_fast_and_reference_validators_agree(path: Path, schema: str) -> None:
    doc, _ = read_yaml_file(path)
    assert doc is not None
    assert is_valid_against(doc.data, schema) == _validator(schema).is_valid(doc.data)
