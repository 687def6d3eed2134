"""Semantic versioning for contract versions: parse, order, and check a required bump.

Policy (documented in ``docs/diff-rules.md``):

* versions are SemVer 2.0.0 as :mod:`meshplane.spec.versions` reads them
  (``MAJOR.MINOR.PATCH[-pre][+build]``, a leading ``v`` tolerated); anything else is *unparsable*
  and never satisfies a required bump;
* the bump a new version *carries* is the most significant core number that went up
  (``1.2.3`` → ``2.0.0`` carries major, → ``1.3.0`` minor, → ``1.2.4`` patch);
  a new version that is not higher than the old one carries nothing;
* pre-1.0 (old major is 0): the minor number plays the role of the major, as in Cargo and npm's
  caret ranges: ``0.2.x`` → ``0.3.0`` (or ``1.0.0``) carries major, ``0.2.3`` → ``0.2.4`` carries
  minor (and so allows additions);
* from a pre-release to a later version with the same core (``2.0.0-rc.1`` → ``2.0.0``) any bump
  is carried: a pre-release promises no compatibility (SemVer §9), and the core bump was already
  taken by the pre-release;
* a required bump of ``none`` is always satisfied (nothing changed, nothing to carry).
"""

from __future__ import annotations

from meshplane.diff.model import Bump
from meshplane.spec.versions import Version, VersionError, parse_version

BUMP_RANK: dict[Bump, int] = {Bump.NONE: 0, Bump.PATCH: 1, Bump.MINOR: 2, Bump.MAJOR: 3}
"""Bumps from weakest to strongest."""


def carried_bump(old: Version, new: Version) -> Bump:
    """The strongest bump that going from ``old`` to ``new`` carries (pre-1.0 rules applied)."""
    if new <= old:
        return Bump.NONE
    if old.prerelease and new.to_tuple()[:3] == old.to_tuple()[:3]:
        return Bump.MAJOR
    if new.major != old.major:
        return Bump.MAJOR
    if old.major == 0:
        return Bump.MAJOR if new.minor != old.minor else Bump.MINOR
    if new.minor != old.minor:
        return Bump.MINOR
    return Bump.PATCH


def check_bump(old_version: str, new_version: str, bump: Bump | str) -> tuple[bool, str]:
    """Whether ``new_version`` carries at least ``bump`` over ``old_version``, and why in words."""
    required = Bump(bump)
    if required is Bump.NONE:
        return True, "no change, so no version bump is required"
    old = parse_version(old_version)
    new = parse_version(new_version)
    for label, text, parsed in (("old", old_version, old), ("new", new_version, new)):
        if parsed is None:
            problem = VersionError(f"the {label} version", text)
            return False, f"{problem}, so the required {required.value} bump cannot be verified"
    assert old is not None and new is not None  # for mypy: both parsed above
    carried = carried_bump(old, new)
    ok = BUMP_RANK[carried] >= BUMP_RANK[required]
    if carried is Bump.NONE:
        what = f"{new_version} is not higher than {old_version}"
    else:
        what = f"{old_version} → {new_version} is a {carried.value} bump"
        if old.major == 0 and not old.prerelease:
            what += " (pre-1.0: the minor number counts as major)"
    verdict = "enough" if ok else "not enough"
    return ok, f"the changes require a {required.value} bump; {what}: {verdict}"


def required_bump_satisfied(old_version: str, new_version: str, bump: Bump | str) -> bool:
    """True when ``new_version`` carries at least ``bump`` (major|minor|patch|none) over ``old_version``.

    An unparsable version never satisfies a required bump other than ``none``.
    """
    return check_bump(old_version, new_version, bump)[0]


__all__ = ["BUMP_RANK", "Version", "carried_bump", "check_bump", "parse_version", "required_bump_satisfied"]
