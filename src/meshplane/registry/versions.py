"""Semantic version numbers of contracts and ports, and canonical hashing of documents."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

_SEMVER = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")


@dataclass(frozen=True, order=True)
class SemVer:
    """MAJOR.MINOR.PATCH[-prerelease]; orders as semver does (a pre-release sorts before its release)."""

    major: int
    minor: int
    patch: int
    release_rank: int  # 1 for a release, 0 for a pre-release (sorts first)
    prerelease: str

    def __str__(self) -> str:
        pre = f"-{self.prerelease}" if self.prerelease else ""
        return f"{self.major}.{self.minor}.{self.patch}{pre}"


def parse_version(text: str | None) -> SemVer | None:
    """Parse ``1``, ``1.2``, ``1.2.3``, ``v1.2.3-rc.1``; None when it is not a version number."""
    if text is None:
        return None
    match = _SEMVER.match(text.strip())
    if match is None:
        return None
    major, minor, patch, pre = match.groups()
    return SemVer(int(major), int(minor or 0), int(patch or 0), 0 if pre else 1, pre or "")


def major_of(text: str | None) -> int | None:
    """The major version of a version string (None when it does not parse)."""
    parsed = parse_version(text)
    return parsed.major if parsed else None


def canonical_json(document: Any) -> str:
    """The JSON text a document is hashed in: sorted keys, no whitespace, UTF-8."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def document_sha256(document: Any) -> str:
    """SHA-256 of the canonical JSON of a document (YAML formatting and comments do not count)."""
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()
