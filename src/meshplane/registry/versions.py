"""Canonical hashing of documents; version numbers are `meshplane.spec.versions` (re-exported here)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

# version numbers have one reader, `meshplane.spec.versions`; re-exported for the registry's callers
from meshplane.spec.versions import major_of as major_of  # noqa: PLC0414 - explicit re-export
from meshplane.spec.versions import parse_version as parse_version  # noqa: PLC0414 - explicit re-export


def canonical_json(document: Any) -> str:
    """The JSON text a document is hashed in: sorted keys, no whitespace, UTF-8."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def document_sha256(document: Any) -> str:
    """SHA-256 of the canonical JSON of a document (YAML formatting and comments do not count)."""
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()
