"""The diff use case: two contracts → raw changes → classified by the rule table → a ContractDiff.

:func:`diff_contracts` is the entry point for the registry, ``plan``/``apply`` and impact analysis;
:func:`diff_contract_files` adds loading for the CLI and the API.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from meshplane.diagnostics import Diagnostic, MeshplaneError
from meshplane.diagnostics import Severity as DiagnosticSeverity
from meshplane.diff.collect import Collector
from meshplane.diff.detect_contract import compare_contract
from meshplane.diff.model import BUMP_FOR, Change, ContractDiff, Perspective, RawChange, level_of
from meshplane.diff.rules import rule_for
from meshplane.diff.semver import check_bump
from meshplane.spec.loader import load_contract
from meshplane.spec.odcs import Contract


def detect_changes(old: Contract, new: Contract) -> list[RawChange]:
    """Every difference between two contracts, unclassified (in no particular order)."""
    out = Collector()
    compare_contract(out, old.to_document(), new.to_document())
    return out.changes


def classify_changes(raw: Iterable[RawChange], perspective: Perspective = Perspective.CONSUMER) -> list[Change]:
    """Classify raw changes with the rule table; the result is sorted deterministically
    (most severe first, then by path, rule and message) and free of duplicates."""
    seen: set[Change] = set()
    for change in raw:
        rule = rule_for(change.aspect, change.shift)
        seen.add(
            Change(
                rule=rule.id,
                severity=rule.severity(perspective),
                path=change.path,
                message=rule.message.format_map(change.message_fields()),
                object=change.object,
                property=change.property,
            )
        )
    return sorted(seen, key=Change.sort_key)


def diff_contracts(old: Contract, new: Contract, perspective: Perspective = Perspective.CONSUMER) -> ContractDiff:
    """Compare two versions of a contract from ``perspective`` (consumer by default).

    The result lists the classified changes, the overall level, the semver bump they require and
    whether ``new.version`` carries it relative to ``old.version``.
    """
    perspective = Perspective(perspective)
    changes = classify_changes(detect_changes(old, new), perspective)
    ok, reason = check_bump(old.version, new.version, BUMP_FOR[level_of(changes)])
    return ContractDiff(
        from_version=old.version,
        to_version=new.version,
        perspective=perspective,
        changes=changes,
        semver_ok=ok,
        semver_reason=reason,
        contract_id=new.id,
    )


def load_contracts(*paths: Path) -> list[Contract]:
    """Load contract files, or raise one :class:`MeshplaneError` (exit 2) with the diagnostics of
    every file that is missing or invalid."""
    problems: list[str] = []
    diagnostics: list[Diagnostic] = []
    models: list[Contract] = []
    for path in paths:
        if not path.is_file():
            problems.append(f"{path}: no such file")
            continue
        loaded = load_contract(path)
        if not loaded.ok or loaded.model is None:
            problems.append(f"{path} is not a valid ODCS contract")
            diagnostics.extend(d for d in loaded.diagnostics if d.severity is DiagnosticSeverity.ERROR)
            continue
        models.append(loaded.model)
    if problems:
        raise MeshplaneError("; ".join(problems), diagnostics, exit_code=2)
    return models


def diff_contract_files(old: Path, new: Path, perspective: Perspective = Perspective.CONSUMER) -> ContractDiff:
    """Load two contract files and diff them; missing or invalid files raise :class:`MeshplaneError`."""
    before, after = load_contracts(old, new)
    return diff_contracts(before, after, perspective)
