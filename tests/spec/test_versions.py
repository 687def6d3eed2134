"""Version numbers: what meshplane accepts, as a full version and as a port's (partial) version.

One table for every caller: the registry (plan, store, ordering), the diff (required bump) and the
mesh checks (input ports) all read versions through `meshplane.spec.versions`. Before, the
registry accepted ``1.2`` as a contract version that the diff then refused.
"""

from __future__ import annotations

import itertools

import pytest

from meshplane.spec.versions import Version, VersionError, major_of, parse_version, require_version

NO = None

# text, as a full version (major, minor, patch, prerelease, build), as a port's version (major)
CASES: list[tuple[str, tuple[int, int, int, str | None, str | None] | None, int | None]] = [
    ("1.2.3", (1, 2, 3, None, None), 1),
    ("0.0.0", (0, 0, 0, None, None), 0),
    ("10.20.30", (10, 20, 30, None, None), 10),
    ("v1.2.3", (1, 2, 3, None, None), 1),
    ("V2.0.0", (2, 0, 0, None, None), 2),
    (" 4.0.0 ", (4, 0, 0, None, None), 4),
    ("2.0.0-rc.1", (2, 0, 0, "rc.1", None), 2),
    ("1.2.3-rc.1+sha.abc", (1, 2, 3, "rc.1", "sha.abc"), 1),
    ("10.0.0+build", (10, 0, 0, None, "build"), 10),
    # partial: a port may pin a major, a contract version may not (the registry took these before)
    ("1.2", NO, 1),
    ("3.1", NO, 3),
    ("v2", NO, 2),
    ("2", NO, 2),
    # refused everywhere
    ("01.2.3", NO, NO),
    ("1.2.3.4", NO, NO),
    ("1.2.3-", NO, NO),
    ("latest", NO, NO),
    ("v", NO, NO),
    ("", NO, NO),
]


@pytest.mark.parametrize(("text", "full", "major"), CASES)
def test_versions(text: str, full: tuple[int, int, int, str | None, str | None] | None, major: int | None) -> None:
    parsed = parse_version(text)
    assert (parsed.to_tuple() if parsed is not None else None) == full
    assert major_of(text) == major
    partial = parse_version(text, partial=True)
    assert (partial.major if partial is not None else None) == major
    if full is None:
        with pytest.raises(VersionError, match=rf"contract version '{text}' is not a semantic version"):
            require_version(text, "contract version")
    else:
        assert require_version(text, "contract version") == parsed


def test_not_a_string() -> None:
    assert parse_version(None) is None and major_of(None) is None
    with pytest.raises(VersionError, match=r"version None is not a semantic version \(MAJOR.MINOR.PATCH, e.g. 1.2.0\)"):
        require_version(None, "version")
    with pytest.raises(VersionError, match=r"input port version 'x' .*\(MAJOR, MAJOR.MINOR or MAJOR.MINOR.PATCH"):
        require_version("x", "input port version", partial=True)


def test_precedence_follows_semver() -> None:
    ordered = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.1",
        "1.1.0",
        "2.0.0",
    ]
    parsed = [require_version(v, "version") for v in ordered]
    assert parsed == sorted(parsed) and all(a < b for a, b in itertools.pairwise(parsed))
    assert Version.parse("1.0.0+a") == Version.parse("1.0.0+b")  # build metadata is ignored
