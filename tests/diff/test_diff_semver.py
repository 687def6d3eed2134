"""The semver policy: what a new version number must carry for the changes it ships."""

from __future__ import annotations

import pytest

from meshplane.diff import Bump, check_bump, parse_version, required_bump_satisfied


@pytest.mark.parametrize(
    ("old", "new", "bump", "ok"),
    [
        # major
        ("1.2.3", "2.0.0", "major", True),
        ("1.2.3", "1.3.0", "major", False),
        ("1.2.3", "1.2.4", "major", False),
        ("1.2.3", "3.0.0", "major", True),
        # minor
        ("1.2.3", "1.3.0", "minor", True),
        ("1.2.3", "2.0.0", "minor", True),
        ("1.2.3", "1.2.4", "minor", False),
        # patch
        ("1.2.3", "1.2.4", "patch", True),
        ("1.2.3", "1.3.0", "patch", True),
        ("1.2.3", "1.2.3", "patch", False),
        ("1.2.3", "1.2.2", "patch", False),  # a downgrade carries nothing
        ("2.0.0", "1.9.9", "major", False),
        # none: nothing to carry
        ("1.2.3", "1.2.3", "none", True),
        ("1.2.3", "1.0.0", "none", True),
        ("not-a-version", "1.0.0", "none", True),
        # pre-1.0: the minor number plays the major's role
        ("0.2.3", "0.3.0", "major", True),
        ("0.2.3", "1.0.0", "major", True),
        ("0.2.3", "0.2.4", "major", False),
        ("0.2.3", "0.2.4", "minor", True),
        ("0.2.3", "0.2.4", "patch", True),
        # pre-releases: a pre-release promises nothing, its release may differ in any way
        ("2.0.0-rc.1", "2.0.0", "major", True),
        ("2.0.0-rc.1", "2.0.0-rc.2", "major", True),
        ("1.9.0", "2.0.0-rc.1", "major", True),
        ("1.0.0", "1.0.1-beta", "patch", True),
        ("1.0.0-rc.2", "1.0.0-rc.1", "patch", False),
        # build metadata is ignored for ordering; a leading v is tolerated
        ("1.0.0+build.1", "1.0.0+build.2", "patch", False),
        ("v1.2.3", "v2.0.0", "major", True),
        # unparsable: never satisfies a required bump
        ("1.2", "2.0.0", "major", False),
        ("1.2.3", "2.0", "major", False),
        ("latest", "2.0.0", "patch", False),
        ("1.2.3", "01.2.3", "patch", False),
    ],
)
def test_required_bump_satisfied(old: str, new: str, bump: str, ok: bool) -> None:
    assert required_bump_satisfied(old, new, bump) is ok
    assert required_bump_satisfied(old, new, Bump(bump)) is ok


def test_unparsable_version_says_why() -> None:
    ok, reason = check_bump("1.2", "2.0.0", Bump.MAJOR)
    assert not ok
    assert "'1.2' is not a semantic version" in reason


def test_reason_names_the_bumps() -> None:
    ok, reason = check_bump("1.2.0", "1.3.0", "major")
    assert not ok
    assert "require a major bump" in reason and "1.2.0 → 1.3.0 is a minor bump" in reason


def test_parse_version() -> None:
    version = parse_version("1.2.3-rc.1+sha.abc")  # the one reader, `meshplane.spec.versions`
    assert version is not None
    assert version.to_tuple() == (1, 2, 3, "rc.1", "sha.abc")
    assert str(version) == "1.2.3-rc.1+sha.abc"
    assert parse_version("1.2.3.4") is None
    assert parse_version("1.2") is None
