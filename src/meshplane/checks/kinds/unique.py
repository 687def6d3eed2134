"""``unique: true``: no non-NULL value occurs twice. Observed: rows beyond the first of each value."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from sqlglot import exp

from meshplane.checks.model import CheckSpec, Outcome, PropertySpec
from meshplane.checks.plan import Aggregates, ObjectTarget, Plan, not_null
from meshplane.checks.registry import CheckType

if TYPE_CHECKING:
    from meshplane.checks.compiler import PropertyScope


@dataclass(frozen=True, kw_only=True)
class UniqueSpec(PropertySpec):
    """Values of the column are distinct."""


def duplicated(values: list[exp.Expr], target: ObjectTarget) -> exp.Expr:
    """Row predicate: the (tuple of) values occurs more than once (for samples)."""
    key: exp.Expr = values[0] if len(values) == 1 else exp.Tuple(expressions=values)
    repeated = (
        exp.select(*values)
        .from_(target.table)
        .where(exp.and_(*(not_null(v) for v in values)))
        .group_by(*values)
        .having(exp.Count(this=exp.Star()) > 1)
    )
    return exp.In(this=key, query=exp.Subquery(this=repeated))


class UniqueCheck(CheckType):
    """Compares the count of values with the count of distinct values, in the object's scan."""

    order: ClassVar[int] = 30
    spec_types = (UniqueSpec,)

    def for_property(self, scope: PropertyScope) -> Iterable[CheckSpec]:
        if scope.prop.unique:
            yield UniqueSpec(**scope.common("unique"), dimension="uniqueness")

    def plan(self, spec: CheckSpec, target: ObjectTarget) -> Plan:
        assert isinstance(spec, UniqueSpec)
        column = target.column(spec.column)

        def judge(values: Mapping[str, Any]) -> Outcome:
            extra = int(values["values"] or 0) - int(values["distinct"] or 0)
            return Outcome.judged(extra == 0, extra, "= 0", "all values are distinct", f"{extra} duplicate value(s)")

        return Aggregates(
            {"values": exp.Count(this=column), "distinct": target.engine.count_distinct([column])},
            judge,
            violations=duplicated([column], target),
        )


CHECK_TYPE = UniqueCheck()
