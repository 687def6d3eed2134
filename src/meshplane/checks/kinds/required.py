"""``required: true``: the property holds no NULL (NaN is a value, not a NULL)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from meshplane.checks.model import CheckSpec, Outcome, PropertySpec
from meshplane.checks.plan import Aggregates, ObjectTarget, Plan, count_where, is_null
from meshplane.checks.registry import CheckType

if TYPE_CHECKING:
    from meshplane.checks.compiler import PropertyScope


@dataclass(frozen=True, kw_only=True)
class RequiredSpec(PropertySpec):
    """The column has no NULL."""


class RequiredCheck(CheckType):
    """Counts NULLs of required properties."""

    order: ClassVar[int] = 20
    spec_types = (RequiredSpec,)

    def for_property(self, scope: PropertyScope) -> Iterable[CheckSpec]:
        if scope.prop.required:
            yield RequiredSpec(**scope.common("required"), dimension="completeness")

    def plan(self, spec: CheckSpec, target: ObjectTarget) -> Plan:
        assert isinstance(spec, RequiredSpec)
        # a CSV value that does not read as its type is present (its type check counts it)
        text = target.text(spec.column)
        nulls = is_null(text if text is not None else target.column(spec.column))

        def judge(values: Mapping[str, Any]) -> Outcome:
            count = int(values["nulls"] or 0)
            return Outcome.judged(count == 0, count, "= 0", "no null values", f"{count} null value(s)")

        return Aggregates({"nulls": count_where(nulls)}, judge, violations=nulls)


CHECK_TYPE = RequiredCheck()
