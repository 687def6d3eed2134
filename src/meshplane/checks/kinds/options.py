"""``logicalTypeOptions``: one check per option, counting the values that break it.

Strings: minLength, maxLength, pattern (search semantics, as in JSON Schema), format (email, uuid,
uri, hostname, ipv4, ipv6, byte). Numbers and integers: minimum, maximum, exclusiveMinimum,
exclusiveMaximum, multipleOf, integer format (i8 ... u128 ranges). Dates, timestamps, times: the
same bounds, given as ISO text; timestamp `timezone`. Arrays: minItems, maxItems, uniqueItems.
Objects: required, minProperties, maxProperties (from the struct's metadata).

Options that describe rather than constrain (a JDK date `format` of a typed column, `f32`,
`defaultTimezone`, `password`) are reported as skipped with the reason, never dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from sqlglot import exp

from meshplane.checks.model import CheckSpec, Outcome, PropertySpec
from meshplane.checks.plan import Aggregates, Immediate, ObjectTarget, Plan, count_where, not_null
from meshplane.checks.registry import CheckType
from meshplane.engines.base import DType

if TYPE_CHECKING:
    from meshplane.checks.compiler import PropertyScope

FORMAT_PATTERNS: dict[str, str] = {
    "email": r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
    "uuid": r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
    "uri": r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+$",
    "hostname": r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$",
    "ipv4": r"^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$",
    "ipv6": (
        r"^(([0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}"
        r"|(([0-9A-Fa-f]{1,4}:){0,6}[0-9A-Fa-f]{1,4})?::(([0-9A-Fa-f]{1,4}:){0,6}[0-9A-Fa-f]{1,4})?"
        r"|::[fF]{4}:((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9]))$"
    ),
    "byte": r"^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$",
}
"""String `format` -> anchored regular expression (RE2/POSIX compatible, for every engine)."""

INTEGER_FORMATS: dict[str, tuple[int, int]] = {
    **{f"i{b}": (-(2 ** (b - 1)), 2 ** (b - 1) - 1) for b in (8, 16, 32, 64, 128)},
    **{f"u{b}": (0, 2**b - 1) for b in (8, 16, 32, 64, 128)},
}
"""Integer `format` -> the range of values it can hold."""

_DESCRIPTIVE = {
    "defaultTimezone": "describes how to read timestamps without a zone; nothing to check",
    "password": "a password format describes content that cannot be verified",
    "binary": "a binary format describes content that cannot be verified",
}
_TEMPORAL = ("date", "timestamp", "time")
_BOUNDS: dict[str, tuple[str, Callable[[exp.Expr, exp.Expr], exp.Expr]]] = {
    "minimum": (">=", lambda v, b: v < b),
    "exclusiveMinimum": (">", lambda v, b: v <= b),
    "maximum": ("<=", lambda v, b: v > b),
    "exclusiveMaximum": ("<", lambda v, b: v >= b),
}
"""Bound option -> (symbol of the rule, predicate of a violating value)."""


@dataclass(frozen=True, kw_only=True)
class OptionSpec(PropertySpec):
    """One logicalTypeOptions entry of a property."""

    option: str
    value: Any
    exclusive: bool = False
    """JSON Schema draft-4 form: a boolean exclusiveMinimum/Maximum makes minimum/maximum strict."""


Planner = Callable[[OptionSpec, ObjectTarget], Plan]


def _violations(spec: OptionSpec, value: exp.Expr, bad: exp.Expr, rule: str) -> Aggregates:
    """Count non-null values for which `bad` holds."""
    offending = exp.and_(not_null(value), bad)

    def judge(values: Mapping[str, Any]) -> Outcome:
        count = int(values["bad"] or 0)
        good, bad_text = f"every value satisfies {rule}", f"{count} value(s) break {rule}"
        return Outcome.judged(count == 0, count, rule, good, bad_text)

    return Aggregates({"bad": count_where(offending)}, judge, violations=offending)


def _length(spec: OptionSpec, target: ObjectTarget) -> Plan:
    value = target.value(spec.column, "string")
    length = target.engine.text_length(value)
    limit = exp.Literal.number(int(spec.value))
    bad = length < limit if spec.option == "minLength" else length > limit
    return _violations(spec, value, bad, f"{spec.option} {spec.value}")


def _pattern(spec: OptionSpec, target: ObjectTarget) -> Plan:
    value = target.value(spec.column, "string")
    bad = exp.not_(target.engine.regex_match(value, str(spec.value)))
    return _violations(spec, value, bad, f"pattern {spec.value}")


def _format(spec: OptionSpec, target: ObjectTarget) -> Plan:
    fmt = str(spec.value)
    logical = spec.logical_type
    if logical in _TEMPORAL:
        dtype = target.column_type(spec.column)
        if dtype is not None and target.engine.conforms(str(logical), dtype):
            return Immediate(Outcome.passed(f"stored as {dtype.sql()}; format {fmt} applies to text only", fmt, fmt))
        return Immediate(Outcome.skipped(f"checking text {logical}s against the JDK format {fmt} is not supported"))
    if logical == "integer":
        if fmt not in INTEGER_FORMATS:
            return Immediate(Outcome.error(f"unknown integer format '{fmt}' (known: {', '.join(INTEGER_FORMATS)})"))
        low, high = INTEGER_FORMATS[fmt]
        value = target.value(spec.column, "integer")
        bad = exp.or_(value < exp.Literal.number(low), value > exp.Literal.number(high))
        return _violations(spec, value, bad, f"format {fmt} ({low} .. {high})")
    if logical == "number":
        return Immediate(Outcome.skipped(f"format {fmt} describes storage precision; not checked on values"))
    if fmt in _DESCRIPTIVE:
        return Immediate(Outcome.skipped(_DESCRIPTIVE[fmt]))
    pattern = FORMAT_PATTERNS.get(fmt)
    if pattern is None:
        return Immediate(Outcome.skipped(f"format '{fmt}' is not known (known: {', '.join(FORMAT_PATTERNS)})"))
    value = target.value(spec.column, "string")
    return _violations(spec, value, exp.not_(target.engine.regex_match(value, pattern)), f"format {fmt}")


def _bound(spec: OptionSpec, target: ObjectTarget) -> Plan:
    logical = spec.logical_type or "number"
    option = spec.option
    if isinstance(spec.value, bool):
        return Immediate(Outcome.passed(f"{option}: {spec.value} applies to the matching bound", spec.value))
    if logical not in ("number", "integer", *_TEMPORAL):
        return Immediate(Outcome.skipped(f"{option} applies to numbers, dates and times, not {logical}"))
    if spec.exclusive:
        option = {"minimum": "exclusiveMinimum", "maximum": "exclusiveMaximum"}.get(option, option)
    symbol, breaks = _BOUNDS[option]
    value = target.value(spec.column, logical)
    bound = target.literal(spec.value, logical if logical in _TEMPORAL else None)
    # NaN sorts above every number (DuckDB, PostgreSQL and Spark agree): it breaks upper bounds
    return _violations(spec, value, breaks(value, bound), f"{symbol} {spec.value}")


def _multiple_of(spec: OptionSpec, target: ObjectTarget) -> Plan:
    step = spec.value
    value = target.value(spec.column, spec.logical_type or "number")
    dtype = target.column_type(spec.column)
    integral = dtype is not None and target.engine.conforms("integer", dtype) and float(step).is_integer()
    if integral:
        bad: exp.Expr = exp.Mod(this=value, expression=exp.Literal.number(int(step))).neq(0)
    else:
        ratio = exp.Div(this=exp.Cast(this=value, to=exp.DataType.build("DOUBLE")), expression=exp.Literal.number(step))
        drift = exp.Abs(this=exp.Sub(this=ratio, expression=exp.Round(this=ratio.copy())))
        bad = drift > exp.Literal.number(1e-9)
    return _violations(spec, value, bad, f"multipleOf {step}")


def _timezone(spec: OptionSpec, target: ObjectTarget) -> Plan:
    dtype = target.column_type(spec.column)
    if dtype is None or target.dataset.types_inferred:
        return Immediate(Outcome.skipped("time zone of values cannot be told from inferred types"))
    has_zone = dtype.this in (DType.TIMESTAMPTZ, DType.TIMESTAMPLTZ, DType.TIMETZ)
    wanted = bool(spec.value)
    shown = target.shown_type(spec.column)
    return Immediate(
        Outcome.judged(
            has_zone == wanted,
            shown,
            f"timezone {str(wanted).lower()}",
            f"{shown} {'has' if has_zone else 'has no'} time zone as declared",
            f"{shown} {'has' if has_zone else 'has no'} time zone, contract says timezone: {str(wanted).lower()}",
        )
    )


def _items(spec: OptionSpec, target: ObjectTarget) -> Plan:
    value = target.column(spec.column)
    engine = target.engine
    size = engine.array_length(value)
    if spec.option == "uniqueItems":
        if not spec.value:
            return Immediate(Outcome.passed("uniqueItems: false allows repeated items", False))
        bad: exp.Expr = engine.array_distinct_length(value).neq(size)
        return _violations(spec, value, bad, "uniqueItems")
    limit = exp.Literal.number(int(spec.value))
    bad = size < limit if spec.option == "minItems" else size > limit
    return _violations(spec, value, bad, f"{spec.option} {spec.value}")


def _struct(spec: OptionSpec, target: ObjectTarget) -> Plan:
    dtype = target.column_type(spec.column)
    if dtype is None or dtype.this != DType.STRUCT:
        shown = dtype.sql() if dtype is not None else "missing"
        return Immediate(Outcome.skipped(f"{spec.option} is checked on struct columns only (column is {shown})"))
    fields = [m.name for m in dtype.expressions if isinstance(m, exp.ColumnDef)]
    if spec.option == "required":
        missing = [f for f in spec.value or [] if f not in fields]
        return Immediate(
            Outcome.judged(
                not missing,
                missing,
                f"required {spec.value}",
                "every required field exists",
                f"missing field(s): {', '.join(missing)}",
            )
        )
    limit = int(spec.value)
    ok = len(fields) >= limit if spec.option == "minProperties" else len(fields) <= limit
    rule = f"{spec.option} {limit}"
    shown = f"{len(fields)} field(s)"
    return Immediate(Outcome.judged(ok, len(fields), rule, shown, f"{shown} break {rule}"))


PLANNERS: dict[str, Planner] = {
    "minLength": _length,
    "maxLength": _length,
    "pattern": _pattern,
    "format": _format,
    "minimum": _bound,
    "maximum": _bound,
    "exclusiveMinimum": _bound,
    "exclusiveMaximum": _bound,
    "multipleOf": _multiple_of,
    "timezone": _timezone,
    "minItems": _items,
    "maxItems": _items,
    "uniqueItems": _items,
    "required": _struct,
    "minProperties": _struct,
    "maxProperties": _struct,
}
"""Option name -> how to check it. An option not listed here is reported as skipped."""


class LogicalTypeOptionsCheck(CheckType):
    """One check per `logicalTypeOptions` entry."""

    order: ClassVar[int] = 50
    spec_types = (OptionSpec,)

    def for_property(self, scope: PropertyScope) -> Iterable[CheckSpec]:
        options = scope.prop.logical_type_options or {}
        for name, value in options.items():
            if name in ("exclusiveMinimum", "exclusiveMaximum") and isinstance(value, bool):
                continue  # folded into minimum/maximum below
            exclusive = False
            if name in ("minimum", "maximum"):
                exclusive = options.get(f"exclusive{name[0].upper()}{name[1:]}") is True
            yield OptionSpec(
                **scope.common(f"logicalTypeOptions.{name}", name),
                dimension="conformity",
                option=name,
                value=value,
                exclusive=exclusive,
            )

    def plan(self, spec: CheckSpec, target: ObjectTarget) -> Plan:
        assert isinstance(spec, OptionSpec)
        if spec.option in _DESCRIPTIVE:
            return Immediate(Outcome.skipped(_DESCRIPTIVE[spec.option]))
        planner = PLANNERS.get(spec.option)
        if planner is None:
            return Immediate(Outcome.skipped(f"logicalTypeOptions.{spec.option} is not a checkable option"))
        return planner(spec, target)


CHECK_TYPE = LogicalTypeOptionsCheck()
