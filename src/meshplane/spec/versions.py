"""Version numbers of contracts and ports: one SemVer type (`semver.Version`), one set of rules.

What meshplane accepts (ODCS and ODPS write versions as SemVer strings):

* a **version** (a contract's ``version``, what the registry stores, orders and diffs) is SemVer
  2.0.0, ``MAJOR.MINOR.PATCH[-pre][+build]``; surrounding spaces and a leading ``v`` are tolerated;
  ``1.2``, ``01.2.3``, ``1.2.3.4`` and ``latest`` are refused;
* a **port's version** only binds the port to a contract's major version, so besides a full version
  it may be partial, as a consumer pinning a major writes it: ``2``, ``v2``, ``2.1``
  (``partial=True``, :func:`major_of`).

Versions order by SemVer precedence (a pre-release before its release, build metadata ignored).
"""

from __future__ import annotations

from functools import lru_cache

from semver import Version

FULL = "MAJOR.MINOR.PATCH, e.g. 1.2.0"
PARTIAL = "MAJOR, MAJOR.MINOR or MAJOR.MINOR.PATCH, e.g. 2 or 2.1.0"


class VersionError(ValueError):
    """A version string meshplane refuses; the message names the field it came from."""

    def __init__(self, field: str, text: object, *, partial: bool = False) -> None:
        self.field, self.text = field, text
        super().__init__(f"{field} {text!r} is not a semantic version ({PARTIAL if partial else FULL})")


@lru_cache(maxsize=4096)
def _parse(text: str, partial: bool) -> Version | None:
    stripped = text.strip()
    if stripped[:1] in ("v", "V"):
        stripped = stripped[1:]
    try:
        return Version.parse(stripped, optional_minor_and_patch=partial)
    except ValueError:
        return None


def parse_version(text: str | None, *, partial: bool = False) -> Version | None:
    """The version `text` names, None when meshplane does not accept it (see the module rules)."""
    return _parse(text, partial) if isinstance(text, str) else None


def require_version(text: str | None, field: str, *, partial: bool = False) -> Version:
    """The version `text` names; :class:`VersionError` naming `field` (``contract version``) otherwise."""
    parsed = parse_version(text, partial=partial)
    if parsed is None:
        raise VersionError(field, text, partial=partial)
    return parsed


def major_of(text: str | None) -> int | None:
    """The major number of a full or partial version (``1.2.0``, ``v2``, ``2.1``), None otherwise."""
    parsed = parse_version(text, partial=True)
    return parsed.major if parsed is not None else None


__all__ = ["Version", "VersionError", "major_of", "parse_version", "require_version"]
