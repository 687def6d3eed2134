"""Canonical hashing of documents; version numbers are `meshplane.spec.versions` (re-exported here)."""

from __future__ import annotations

from typing import Any

from meshplane import canonical

# version numbers have one reader, `meshplane.spec.versions`; re-exported for the registry's callers
from meshplane.spec.versions import major_of as major_of  # noqa: PLC0414 - explicit re-export
from meshplane.spec.versions import parse_version as parse_version  # noqa: PLC0414 - explicit re-export


def canonical_json(document: Any) -> str:
    """The JSON text a document is hashed in (`meshplane.canonical`; values that are not JSON data as ``str()``)."""
    return canonical.canonical_json(document, default=str)


def document_sha256(document: Any) -> str:
    """SHA-256 of the canonical JSON of a document (YAML formatting and comments do not count)."""
    return canonical.canonical_sha256(document, default=str)
