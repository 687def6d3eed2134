"""Contract diff: what changed between two versions of an ODCS contract, and what it breaks.

Contract A → B gives raw changes (what changed, where); ONE table of rules
(:mod:`meshplane.diff.rules`) classifies each as breaking, non-breaking or info for a consumer or a
producer; the required semver bump follows, and whether the new version carries it. The rules,
perspectives and the semver policy are documented in ``docs/diff-rules.md``.

Public API (used by the registry, ``plan``/``apply`` and impact analysis)::

    diff = diff_contracts(old, new)                   # Perspective.CONSUMER by default
    diff.level, diff.required_bump, diff.semver_ok    # "breaking", "major", False
    for change in diff.breaking_changes():
        change.rule, change.path, change.object, change.property, change.message
    diff.to_dict()                                    # the `diff --format json` shape
"""

from __future__ import annotations

from meshplane.diff.differ import classify_changes, detect_changes, diff_contract_files, diff_contracts, load_contracts
from meshplane.diff.model import Bump, Change, ContractDiff, Level, Perspective, RawChange, Severity, Shift
from meshplane.diff.rules import ALL_RULES, RULES, UNCLASSIFIED, Rule, rule_by_id, rule_for
from meshplane.diff.semver import check_bump, parse_version, required_bump_satisfied

__all__ = [
    "ALL_RULES",
    "RULES",
    "UNCLASSIFIED",
    "Bump",
    "Change",
    "ContractDiff",
    "Level",
    "Perspective",
    "RawChange",
    "Rule",
    "Severity",
    "Shift",
    "check_bump",
    "classify_changes",
    "detect_changes",
    "diff_contract_files",
    "diff_contracts",
    "load_contracts",
    "parse_version",
    "required_bump_satisfied",
    "rule_by_id",
    "rule_for",
]
