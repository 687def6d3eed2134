"""SLA properties (``slaProperties``) checked against the data, with the run's clock.

- ``latency`` and ``freshness``: the newest value of `element` is at most `value` `unit` old.
- ``retention``: the oldest value of `element` is at most `value` `unit` old (data older than the
  retention period must have been removed).

`element` is ``object.column`` (or ``column`` when the contract has one object), falling back to
``slaDefaultElement``. Durations are read by `meshplane.spec.durations` (ms/s/m/h/d/w/mo/y, long
and plural forms, or ISO 8601), as the diff reads them. Values without a zone are read as UTC;
dates as midnight UTC; text through a safe cast. An element that cannot be measured (a column of
another type, or text none of whose values reads as a timestamp) is an `error`, not a failure;
an element without any value (empty data) fails. Other SLA properties (availability, frequency, support dates, ...) are
reported as skipped: they are not observable in the data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from sqlglot import exp

from meshplane.checks.model import CheckSpec, Outcome
from meshplane.checks.plan import Aggregates, Immediate, ObjectTarget, Plan
from meshplane.checks.registry import CheckType
from meshplane.spec.durations import in_unit, parse_duration
from meshplane.spec.odcs import Contract, SlaProperty

if TYPE_CHECKING:
    from meshplane.checks.compiler import ContractScope

CHECKED = {"latency": "newest", "freshness": "newest", "retention": "oldest"}
"""SLA property -> which end of the element's values is measured."""


@dataclass(frozen=True, kw_only=True)
class SlaSpec(CheckSpec):
    """One SLA property; `column` is set when its element resolves to a column of `object`."""

    sla_property: str
    value: Any
    unit: str | None
    element: str | None
    column: tuple[str, ...] | None = None
    limit: timedelta | None = None
    problem: str | None = None
    checkable: bool = True


def resolve_element(contract: Contract, element: str) -> tuple[str, tuple[str, ...]] | str:
    """``object.column`` -> (object name, column path); a reason string when it does not resolve."""
    objects = contract.objects
    head, _, rest = element.strip().partition(".")
    obj = contract.object_named(head) if rest else None
    column_name = rest if obj is not None else element.strip()
    if obj is None:
        if len(objects) != 1:
            return f"element '{element}' names no schema object (write object.column)"
        obj = objects[0]
    prop = obj.property_named(column_name)
    return obj.name, (prop.column if prop else column_name,)


def _as_utc(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=UTC)
    return None


class SlaCheck(CheckType):
    """Freshness, latency and retention; every other SLA property reported as not checkable."""

    order: ClassVar[int] = 80
    spec_types = (SlaSpec,)

    def for_contract(self, scope: ContractScope) -> Iterable[CheckSpec]:
        contract = scope.contract
        for prop in contract.sla_properties or []:
            yield from self._specs(contract, prop)

    def _specs(self, contract: Contract, prop: SlaProperty) -> Iterable[SlaSpec]:
        name = prop.property
        key = name.lower()
        base: dict[str, Any] = {
            "id": f"sla.{name}",
            "kind": f"sla.{name}",
            "object": None,
            "sla_property": name,
            "value": prop.value,
            "unit": prop.unit,
            "element": prop.element or contract.sla_default_element,
            "dimension": "timeliness",
            "description": prop.description,
        }
        if key not in CHECKED:
            yield SlaSpec(**base, checkable=False, problem=f"SLA property '{name}' is not observable in the data")
            return
        try:
            base["limit"] = parse_duration(prop.value, prop.unit)
        except ValueError as exc:
            yield SlaSpec(**base, problem=str(exc))
            return
        elements = [e.strip() for e in (base["element"] or "").split(",") if e.strip()]
        if not elements:
            yield SlaSpec(**base, problem="no `element` (and no slaDefaultElement) says which column to measure")
            return
        for element in elements:
            resolved = resolve_element(contract, element)
            if isinstance(resolved, str):
                yield SlaSpec(**{**base, "element": element}, problem=resolved)
                continue
            obj_name, column = resolved
            yield SlaSpec(**{**base, "element": element, "object": obj_name, "property": column[0]}, column=column)

    def detached(self, spec: CheckSpec) -> Outcome:
        assert isinstance(spec, SlaSpec)
        if not spec.checkable:
            return Outcome.skipped(str(spec.problem), threshold=f"{spec.value} {spec.unit or ''}".strip())
        return Outcome.error(spec.problem or "SLA element not resolved")

    def plan(self, spec: CheckSpec, target: ObjectTarget) -> Plan:
        assert isinstance(spec, SlaSpec)
        if spec.problem or spec.column is None or spec.limit is None:
            return Immediate(self.detached(spec))
        limit = spec.limit
        value = target.column(spec.column)
        dtype = target.column_type(spec.column)
        engine = target.engine
        temporal = dtype is not None and (engine.conforms("timestamp", dtype) or engine.conforms("date", dtype))
        textual = dtype is not None and engine.conforms("string", dtype)
        if not temporal and not textual:
            shown = target.shown_type(spec.column)
            return Immediate(
                Outcome.error(f"element {spec.element} is a {shown} column, not a date or timestamp: not measurable")
            )
        expressions: dict[str, exp.Expr] = {}
        if textual:
            # text is read through a safe cast; values that all fail it leave nothing to measure
            expressions["present"] = exp.Count(this=value.copy())
            cast_to = engine.cast_target("timestamp")
            value = engine.safe_cast(value, cast_to) if cast_to is not None else value
        end = CHECKED[spec.sla_property.lower()]
        expressions["edge"] = exp.Max(this=value) if end == "newest" else exp.Min(this=value)
        unit = spec.unit or "s"
        threshold = f"<= {spec.value} {spec.unit}" if spec.unit else f"<= {spec.value}"
        now = target.now

        def judge(values: Mapping[str, Any]) -> Outcome:
            moment = _as_utc(values["edge"])
            if moment is None:
                present = int(values.get("present") or 0)
                if present:
                    return Outcome.error(
                        f"none of the {present} value(s) of {spec.element} reads as a timestamp: not measurable",
                        None,
                        threshold,
                    )
                return Outcome.failed(f"no {end} value: {spec.element} has no timestamps", None, threshold)
            age = now - moment
            shown = in_unit(age, unit)
            ok = age <= limit
            text = f"{end} {spec.element} is {moment.isoformat()}, {shown} {unit} old"
            return Outcome.judged(ok, shown, threshold, f"{text}, within {threshold}", f"{text}, beyond {threshold}")

        return Aggregates(expressions, judge)


CHECK_TYPE = SlaCheck()
