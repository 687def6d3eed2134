"""Library metrics of ODCS quality rules (``type: library``, the default): counted in the object's scan.

| metric            | counted                                                                   |
|-------------------|---------------------------------------------------------------------------|
| `nullValues`      | NULL values of the property                                               |
| `missingValues`   | NULLs and values listed in `arguments.missingValues`                      |
| `invalidValues`   | non-NULL values outside `arguments.validValues` and/or not matching `arguments.pattern` |
| `duplicateValues` | values (or `arguments.properties` tuples) repeating an earlier one (no NULL counts) |
| `rowCount`        | rows                                                                      |

`unit: percent` divides by the row count (0 for an empty dataset). A rule without an operator
gets the metric's natural one: ``mustBe: 0`` (``mustBeGreaterThan: 0`` for rowCount). The v3.0
spelling `rule:` is read too (``duplicateCount``, ``validValues``, ``nullCount``). An `invalidValues`
rule with neither argument, on a property with an `enum` (ODCS v3.2.0), takes the enum's values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from sqlglot import exp

from meshplane.checks.kinds.unique import duplicated
from meshplane.checks.model import CheckSpec, Outcome
from meshplane.checks.operators import Threshold, threshold_of
from meshplane.checks.plan import (
    Aggregates,
    Immediate,
    ObjectTarget,
    Plan,
    count_where,
    is_null,
    not_null,
    percent,
    row_count,
)
from meshplane.checks.registry import CheckType

if TYPE_CHECKING:
    from meshplane.checks.compiler import RuleScope

METRIC_ALIASES: dict[str, str] = {
    "duplicateCount": "duplicateValues",
    "duplicates": "duplicateValues",
    "validValues": "invalidValues",
    "nullCount": "nullValues",
    "nullCheck": "nullValues",
    "missingCount": "missingValues",
    "rowcount": "rowCount",
}
"""Earlier (v3.0 `rule`) spellings -> v3.1 metric names."""

DEFAULT_THRESHOLDS: dict[str, tuple[str, Any]] = {
    "nullValues": ("mustBe", 0),
    "missingValues": ("mustBe", 0),
    "invalidValues": ("mustBe", 0),
    "duplicateValues": ("mustBe", 0),
    "rowCount": ("mustBeGreaterThan", 0),
}
"""The threshold of a rule that sets no operator."""


@dataclass(frozen=True, kw_only=True)
class MetricSpec(CheckSpec):
    """A library metric rule on a property (`column` set) or on an object."""

    metric: str
    threshold: Threshold | None
    unit: str = "rows"
    column: tuple[str, ...] | None = None
    logical_type: str | None = None
    arguments: Mapping[str, Any] = field(default_factory=dict)
    problem: str | None = None
    """Why the rule cannot run as written (unknown metric, bad arguments)."""


@dataclass(frozen=True)
class Counted:
    """What a metric counts: the offending-row predicate (None for rowCount) and its expressions."""

    expressions: dict[str, exp.Expr]
    count: Callable[[Mapping[str, Any]], int]
    violations: exp.Expr | None = None


def _value(spec: MetricSpec, target: ObjectTarget) -> exp.Expr:
    if spec.column is None:
        raise ValueError(f"metric {spec.metric} needs a property: put the rule under a property")
    return target.value(spec.column, spec.logical_type)


def _literals(values: list[Any], target: ObjectTarget, logical: str | None) -> list[exp.Expr]:
    return [target.literal(v, logical) for v in values if v is not None]


def _null_values(spec: MetricSpec, target: ObjectTarget) -> Counted:
    nulls = is_null(_value(spec, target))
    return Counted({"n": count_where(nulls)}, lambda v: int(v["n"] or 0), nulls)


def _missing_values(spec: MetricSpec, target: ObjectTarget) -> Counted:
    value = _value(spec, target)
    listed = _literals(list(spec.arguments.get("missingValues") or []), target, spec.logical_type)
    missing = exp.or_(is_null(value), exp.In(this=value, expressions=listed)) if listed else is_null(value)
    return Counted({"n": count_where(missing)}, lambda v: int(v["n"] or 0), missing)


def _invalid_values(spec: MetricSpec, target: ObjectTarget) -> Counted:
    value = _value(spec, target)
    valid = spec.arguments.get("validValues")
    pattern = spec.arguments.get("pattern")
    if valid is None and pattern is None:
        raise ValueError("invalidValues needs arguments.validValues and/or arguments.pattern")
    rules: list[exp.Expr] = []
    if valid is not None:
        listed = _literals(list(valid), target, spec.logical_type)
        rules.append(exp.not_(exp.In(this=value, expressions=listed)) if listed else exp.true())
    if pattern is not None:
        rules.append(exp.not_(target.engine.regex_match(value, str(pattern))))
    invalid = exp.and_(not_null(value), exp.or_(*rules))
    return Counted({"n": count_where(invalid)}, lambda v: int(v["n"] or 0), invalid)


def _duplicate_values(spec: MetricSpec, target: ObjectTarget) -> Counted:
    names = spec.arguments.get("properties")
    if names:
        obj = target.schema_object
        columns = []
        for name in names:
            prop = obj.property_named(str(name))
            columns.append(target.column((prop.column if prop else str(name),)))
        complete = exp.and_(*(not_null(c) for c in columns))
        return Counted(
            {"complete": count_where(complete), "distinct": target.engine.count_distinct(columns)},
            lambda v: int(v["complete"] or 0) - int(v["distinct"] or 0),
            duplicated(columns, target),
        )
    value = _value(spec, target)
    return Counted(
        {"values": exp.Count(this=value), "distinct": target.engine.count_distinct([value])},
        lambda v: int(v["values"] or 0) - int(v["distinct"] or 0),
        duplicated([value], target),
    )


def _row_count(spec: MetricSpec, target: ObjectTarget) -> Counted:
    return Counted({"rows": row_count()}, lambda v: int(v["rows"] or 0))


METRICS: dict[str, Callable[[MetricSpec, ObjectTarget], Counted]] = {
    "nullValues": _null_values,
    "missingValues": _missing_values,
    "invalidValues": _invalid_values,
    "duplicateValues": _duplicate_values,
    "rowCount": _row_count,
}
"""Metric -> what it counts."""

_DIMENSIONS = {
    "nullValues": "completeness",
    "missingValues": "completeness",
    "invalidValues": "conformity",
    "duplicateValues": "uniqueness",
    "rowCount": "completeness",
}


class LibraryMetricCheck(CheckType):
    """Library metrics with their operators and units."""

    order: ClassVar[int] = 60
    spec_types = (MetricSpec,)

    def for_rule(self, scope: RuleScope) -> list[CheckSpec] | None:
        rule = scope.rule
        if rule.kind != "library":
            return None
        raw = rule.metric or rule.rule or ""
        metric = METRIC_ALIASES.get(raw, raw)
        unit = (rule.unit or "rows").lower()
        problem = None
        if metric not in METRICS:
            problem = f"unknown metric '{raw}' (known: {', '.join(METRICS)})"
        elif unit not in ("rows", "percent"):
            problem = f"unit '{rule.unit}' is not supported (rows or percent)"
        arguments = dict(rule.arguments or {})
        if rule.valid_values is not None and "validValues" not in arguments:
            arguments["validValues"] = rule.valid_values
        if metric == "invalidValues" and "validValues" not in arguments and not arguments.get("pattern"):
            listed = scope.prop.prop.enum_values() if scope.prop is not None else []
            if listed:  # ODCS v3.2.0: the property's `enum` is its list of valid values
                arguments["validValues"] = [value for value in listed if value is not None]
        pair = rule.operator() or DEFAULT_THRESHOLDS.get(metric)
        try:
            threshold = threshold_of(pair, unit)
        except ValueError as exc:
            threshold, problem = None, str(exc)
        common = scope.common(f"library.{metric or 'unknown'}", metric or None)
        common["dimension"] = common["dimension"] or _DIMENSIONS.get(metric)
        return [
            MetricSpec(
                **common,
                metric=metric,
                threshold=threshold,
                unit=unit,
                column=scope.prop.column if scope.prop else None,
                logical_type=scope.prop.prop.logical_type if scope.prop else None,
                arguments=arguments,
                problem=problem,
            )
        ]

    def plan(self, spec: CheckSpec, target: ObjectTarget) -> Plan:
        assert isinstance(spec, MetricSpec)
        if spec.problem or spec.threshold is None:
            return Immediate(Outcome.error(spec.problem or "no threshold"))
        try:
            counted = METRICS[spec.metric](spec, target)
        except ValueError as exc:
            return Immediate(Outcome.error(str(exc)))
        threshold = spec.threshold
        by_percent = spec.unit == "percent" and spec.metric != "rowCount"
        expressions = dict(counted.expressions)
        if by_percent:
            expressions.setdefault("rows", row_count())
        noun = spec.metric[0].lower() + "".join(" " + c.lower() if c.isupper() else c for c in spec.metric[1:])

        def judge(values: Mapping[str, Any]) -> Outcome:
            count = counted.count(values)
            observed: float | int = percent(count, values["rows"]) if by_percent else count
            shown = f"{observed} %" if by_percent else f"{observed}"
            detail = f" ({count} of {int(values['rows'] or 0)} rows)" if by_percent else ""
            ok = threshold.holds(observed)
            verdict = "within" if ok else "outside"
            return Outcome.judged(
                ok,
                observed,
                str(threshold),
                f"{noun}: {shown}{detail}, {verdict} {threshold}",
                f"{noun}: {shown}{detail}, {verdict} {threshold}",
            )

        return Aggregates(expressions, judge, violations=counted.violations)


CHECK_TYPE = LibraryMetricCheck()
