"""``enum`` (ODCS v3.2.0, RFC 0033): every non-null value of the property is one of the listed values."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from sqlglot import exp

from meshplane.checks.model import CheckSpec, Outcome, PropertySpec
from meshplane.checks.plan import Aggregates, Immediate, ObjectTarget, Plan, count_where, not_null
from meshplane.checks.registry import CheckType

if TYPE_CHECKING:
    from meshplane.checks.compiler import PropertyScope


@dataclass(frozen=True, kw_only=True)
class EnumSpec(PropertySpec):
    """The values a property's `enum` allows (a null entry allows NULL, which is never counted)."""

    values: tuple[Any, ...]


class EnumCheck(CheckType):
    """Counts the values of a property that its `enum` does not list."""

    order: ClassVar[int] = 55
    spec_types = (EnumSpec,)

    def for_property(self, scope: PropertyScope) -> Iterable[CheckSpec]:
        if scope.prop.enum:
            yield EnumSpec(**scope.common("enum"), dimension="conformity", values=tuple(scope.prop.enum_values()))

    def plan(self, spec: CheckSpec, target: ObjectTarget) -> Plan:
        assert isinstance(spec, EnumSpec)
        if target.column_type(spec.column) is None:
            column = ".".join(spec.column)
            return Immediate(Outcome.skipped(f"not run: column {column} is missing (see schema.property)"))
        value = target.value(spec.column, spec.logical_type)
        listed = [target.literal(v, spec.logical_type) for v in spec.values if v is not None]
        outside = exp.and_(not_null(value), exp.not_(exp.In(this=value, expressions=listed)) if listed else exp.true())
        shown = ", ".join(str(v) for v in spec.values)
        rule = f"in [{shown}]"

        def judge(values: Mapping[str, Any]) -> Outcome:
            count = int(values["bad"] or 0)
            return Outcome.judged(count == 0, count, rule, "every value is listed", f"{count} value(s) not listed")

        return Aggregates({"bad": count_where(outside)}, judge, violations=outside)


CHECK_TYPE = EnumCheck()
