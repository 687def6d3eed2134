"""Value objects of a contract diff: raw changes, classified changes and the diff itself.

Two stages, kept apart on purpose (as a check spec is kept apart from its result):

* a :class:`RawChange` says *what* changed and *where*, with the direction of the change
  (:class:`Shift`) but no judgement;
* a :class:`Change` is a raw change classified by one rule of the table in
  :mod:`meshplane.diff.rules`, with a severity for the chosen :class:`Perspective`.

:class:`ContractDiff` carries the classified changes, the overall level, the semver bump they
require, and whether the new version number carries it. Its :meth:`ContractDiff.to_dict` is the
``diff --format json`` shape of ARCHITECTURE.md §3.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Perspective(enum.StrEnum):
    """Whose guarantees a diff judges.

    ``consumer``: can a consumer that relies on the old contract keep running unchanged?
    ``producer``: can the producer's pipeline, which satisfies the old contract, keep running
    unchanged and satisfy the new one?
    """

    CONSUMER = "consumer"
    PRODUCER = "producer"


class Severity(enum.StrEnum):
    """How a single change is classified."""

    BREAKING = "breaking"
    NON_BREAKING = "non-breaking"
    INFO = "info"


class Level(enum.StrEnum):
    """The overall level of a diff: its most severe change, or ``none``."""

    BREAKING = "breaking"
    NON_BREAKING = "non-breaking"
    INFO = "info"
    NONE = "none"


class Bump(enum.StrEnum):
    """A semantic-versioning bump."""

    MAJOR = "major"
    MINOR = "minor"
    PATCH = "patch"
    NONE = "none"


class Shift(enum.StrEnum):
    """The direction of a raw change, as judged by the comparators (before any rule applies).

    ``loosened``/``tightened`` are always meant from the consumer's side: *loosened* means the
    contract now promises less (a wider range, a nullable column, a slower SLA), *tightened* that
    it promises more. ``changed`` means the two values cannot be ordered; ``restated`` that the
    spelling changed but the meaning did not (``24 h`` → ``1 d``).
    """

    ADDED = "added"
    REMOVED = "removed"
    LOOSENED = "loosened"
    TIGHTENED = "tightened"
    CHANGED = "changed"
    RESTATED = "restated"


LEVEL_OF: dict[Severity, Level] = {
    Severity.BREAKING: Level.BREAKING,
    Severity.NON_BREAKING: Level.NON_BREAKING,
    Severity.INFO: Level.INFO,
}
"""The diff level a single change of a severity gives."""

BUMP_FOR: dict[Level, Bump] = {
    Level.BREAKING: Bump.MAJOR,
    Level.NON_BREAKING: Bump.MINOR,
    Level.INFO: Bump.PATCH,
    Level.NONE: Bump.NONE,
}
"""The semver bump each level requires."""

SEVERITY_RANK: dict[Severity, int] = {Severity.BREAKING: 0, Severity.NON_BREAKING: 1, Severity.INFO: 2}
"""Sort rank: the most severe first."""


def level_of(changes: list[Change]) -> Level:
    """The level of a list of classified changes: the most severe one's, or ``none``."""
    if not changes:
        return Level.NONE
    worst = min(changes, key=lambda c: SEVERITY_RANK[c.severity])
    return LEVEL_OF[worst.severity]


@dataclass(frozen=True)
class RawChange:
    """One difference between two contracts, before classification.

    ``aspect`` names what changed (``property.required``, ``sla.value``, ...); together with
    ``shift`` it selects the rule. ``subject`` (``column orders.customer_id``), ``field``, ``old``,
    ``new`` and ``detail`` are display texts for the rule's message template. ``object`` and
    ``property`` locate the change for impact analysis (old-side names; for nested properties
    ``property`` is the top-level column).
    """

    aspect: str
    shift: Shift
    path: str
    subject: str
    object: str | None = None
    property: str | None = None
    field: str = ""
    old: str = ""
    new: str = ""
    detail: str = ""

    def message_fields(self) -> dict[str, str]:
        """The placeholders a rule's message template may use."""
        return {
            "subject": self.subject,
            "field": self.field,
            "old": self.old,
            "new": self.new,
            "detail": self.detail,
            "shift": self.shift.value,
        }


@dataclass(frozen=True)
class Change:
    """One classified change: which rule matched, how severe it is, where, and why in words.

    ``path`` is JSONPath-like with list items addressed by name
    (``$.schema[orders].properties[customer_id].required``; see ``docs/diff-rules.md``).
    ``object`` is the schema object's name and ``property`` the top-level property's name (both
    as in the *old* contract when the element exists there), or None when the change is not about
    one, so that impact analysis can find the consumers reading a changed column.
    """

    rule: str
    severity: Severity
    path: str
    message: str
    object: str | None = None
    property: str | None = None

    def sort_key(self) -> tuple[int, str, str, str]:
        """Deterministic order: most severe first, then by path, rule and message."""
        return (SEVERITY_RANK[self.severity], self.path, self.rule, self.message)

    def to_dict(self) -> dict[str, Any]:
        """The change as in ``diff --format json``."""
        return {
            "rule": self.rule,
            "severity": self.severity.value,
            "path": self.path,
            "message": self.message,
            "object": self.object,
            "property": self.property,
        }


@dataclass(frozen=True)
class ContractDiff:
    """The classified difference between two versions of a contract.

    ``semver_ok`` tells whether ``to_version`` carries at least ``required_bump`` relative to
    ``from_version`` (see :func:`meshplane.diff.semver.required_bump_satisfied`);
    ``semver_reason`` says why in words (e.g. an unparsable version).
    """

    from_version: str
    to_version: str
    perspective: Perspective
    changes: list[Change] = field(default_factory=list)
    semver_ok: bool = True
    semver_reason: str = ""
    contract_id: str | None = None

    @property
    def level(self) -> Level:
        """The most severe change's level, or ``none`` without changes."""
        return level_of(self.changes)

    @property
    def required_bump(self) -> Bump:
        """The semver bump the changes require: major, minor, patch or none."""
        return BUMP_FOR[self.level]

    def breaking_changes(self) -> list[Change]:
        """The changes classified as breaking (in this diff's perspective)."""
        return [c for c in self.changes if c.severity is Severity.BREAKING]

    def to_dict(self) -> dict[str, Any]:
        """The ``diff --format json`` shape of ARCHITECTURE.md §3."""
        return {
            "from": self.from_version,
            "to": self.to_version,
            "level": self.level.value,
            "requiredBump": self.required_bump.value,
            "semverOk": self.semver_ok,
            "changes": [c.to_dict() for c in self.changes],
        }
