"""Rules meshplane reports but cannot execute: ``type: text``, ``type: custom``, unknown types.

This type claims every rule the other types did not, so a rule is never dropped: it appears in
the result as `skipped` with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from meshplane.checks.model import CheckSpec, Outcome
from meshplane.checks.plan import Immediate, ObjectTarget, Plan
from meshplane.checks.registry import CheckType

if TYPE_CHECKING:
    from meshplane.checks.compiler import RuleScope


@dataclass(frozen=True, kw_only=True)
class NotExecutableSpec(CheckSpec):
    """A rule reported with the reason it does not run."""

    reason: str


def _reason(scope: RuleScope) -> tuple[str, str]:
    rule = scope.rule
    kind = rule.kind
    if kind == "text":
        text = (rule.description or rule.name or "").strip()
        return "text", "text rule (for people, not executable)" + (f": {text}" if text else "")
    if kind == "custom":
        engine = rule.engine or "unknown"
        return "custom", f"custom rule for engine '{engine}': meshplane cannot execute {engine} rules"
    return "unsupported", f"rule type '{kind}' is not supported"


class NotExecutableRule(CheckType):
    """Catch-all for rules no other check type runs."""

    order: ClassVar[int] = 10_000
    spec_types = (NotExecutableSpec,)

    def for_rule(self, scope: RuleScope) -> list[CheckSpec] | None:
        kind, reason = _reason(scope)
        return [NotExecutableSpec(**scope.common(kind), reason=reason)]

    def plan(self, spec: CheckSpec, target: ObjectTarget) -> Plan:
        assert isinstance(spec, NotExecutableSpec)
        return Immediate(Outcome.skipped(spec.reason))


CHECK_TYPE = NotExecutableRule()
