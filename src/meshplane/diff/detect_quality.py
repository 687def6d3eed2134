"""Raw changes of quality rules (object and property level).

Rules are paired by ``id`` (when both have one), then ``name``, then identical definition, then
what they measure (library metric and argument names, SQL query, custom engine, text), then kind
alone, in list order. A paired rule is compared field by field; thresholds are compared by the
set of measured values their operator accepts (see :func:`meshplane.diff.measures.compare_thresholds`).
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from typing import Any

from meshplane.diff.aspects import Aspect
from meshplane.diff.collect import (
    Collector,
    Doc,
    FieldTable,
    KeyFn,
    Where,
    canonical,
    changed,
    compare_fields,
    documentation,
    element_id,
    labels,
    pair_items,
    segment,
)
from meshplane.diff.measures import (
    DEFAULT_QUALITY_SEVERITY,
    QUALITY_SEVERITY_ORDER,
    compare_thresholds,
    rank_in,
    render,
    shift_by_order,
)
from meshplane.diff.model import Shift
from meshplane.spec.odcs import OPERATORS

DEFINITION_KEYS: tuple[str, ...] = (
    "type",
    "metric",
    "rule",
    "arguments",
    "query",
    "engine",
    "implementation",
    "unit",
    "method",
    "customProperties",
)
"""Keys that define *what* a rule checks (a change is a different check)."""


def kind_of(rule: Doc) -> str:
    """The rule's type with the standard's default applied (as :attr:`DataQuality.kind`)."""
    if rule.get("type"):
        return str(rule["type"])
    return "sql" if rule.get("query") is not None else "library"


def metric_of(rule: Doc) -> str | None:
    """The library metric (``metric``, or the deprecated ``rule``)."""
    value = rule.get("metric") or rule.get("rule")
    return str(value) if value is not None else None


def operator_of(rule: Doc) -> tuple[str, Any] | None:
    """The first comparison operator set on the rule, as ``(name, value)``."""
    for name in OPERATORS:
        if name in rule:
            return name, rule[name]
    return None


def valid_values_of(rule: Doc) -> list[Any] | None:
    """The allowed values of the rule (``arguments.validValues``, or a top-level ``validValues``)."""
    arguments = rule.get("arguments")
    if isinstance(arguments, dict) and isinstance(arguments.get("validValues"), list):
        return list(arguments["validValues"])
    if isinstance(rule.get("validValues"), list):
        return list(rule["validValues"])
    return None


def _normalized_query(rule: Doc) -> str | None:
    query = rule.get("query")
    return re.sub(r"\s+", " ", str(query)).strip().lower() if query is not None else None


def _definition(rule: Doc) -> Doc:
    """What the rule checks, normalized: kind, metric, arguments without validValues, ..."""
    arguments = rule.get("arguments")
    if isinstance(arguments, dict):
        arguments = {k: v for k, v in arguments.items() if k != "validValues"} or None
        if arguments and isinstance(arguments.get("properties"), list):
            # the columns a library metric spans (duplicateValues over (a, b)) form a set
            arguments["properties"] = sorted(map(str, arguments["properties"]))
    return {
        "type": kind_of(rule),
        "metric": metric_of(rule),
        "arguments": arguments,
        "query": _normalized_query(rule),
        "engine": rule.get("engine"),
        "implementation": rule.get("implementation"),
        "unit": rule.get("unit"),
        "method": rule.get("method"),
        "customProperties": sorted(canonical(p) for p in rule.get("customProperties") or []) or None,
    }


def _signature(rule: Doc) -> Hashable:
    operator = operator_of(rule)
    return canonical([_definition(rule), operator, valid_values_of(rule)])


def _measures(rule: Doc) -> Hashable:
    definition = _definition(rule)
    kind = definition["type"]
    if kind == "library":
        args = definition["arguments"] or {}
        return ("library", definition["metric"], tuple(sorted(args)), canonical(args.get("properties")))
    if kind == "sql":
        return ("sql", definition["query"])
    if kind == "custom":
        return ("custom", definition["engine"], canonical(definition["implementation"]))
    return ("text", rule.get("description"))


def _kind_and_metric(rule: Doc) -> Hashable:
    return (kind_of(rule), metric_of(rule) or rule.get("engine"))


MATCH_KEYS: tuple[KeyFn, ...] = (
    lambda r: r.get("name") or None,
    _signature,
    _measures,
    _kind_and_metric,
    kind_of,
)


def _label_candidates(rule: Doc) -> list[str | None]:
    return [rule.get("id"), rule.get("name"), metric_of(rule), kind_of(rule)]


def rule_labels(rules: list[Doc]) -> list[str]:
    """Readable labels for path segments: id, name, metric or kind when unique, else the index."""
    return labels(rules, _label_candidates)


def describe(rule: Doc) -> str:
    """Short words for a rule: ``rowCount mustBeGreaterThan 0``, ``sql mustBe 0``."""
    head = metric_of(rule) or kind_of(rule)
    operator = operator_of(rule)
    return f"{head} {render_threshold(operator)}" if operator else head


def render_threshold(operator: tuple[str, Any] | None) -> str:
    """``mustBeLessThan 10`` / ``(no threshold)``."""
    if operator is None:
        return "(no threshold)"
    return f"{operator[0]} {render(operator[1])}"


def compare_quality_lists(out: Collector, owner: Where, old: list[Doc], new: list[Doc]) -> None:
    """Pair the rules of one element (object or property) and report what changed."""
    pairing = pair_items(old, new, MATCH_KEYS)
    old_labels, new_labels = rule_labels(old), rule_labels(new)
    owner_words = owner.subject.split(" ", 1)[-1]

    def where(label: str, rule: Doc) -> Where:
        name = rule.get("name") or rule.get("id") or metric_of(rule) or f"{kind_of(rule)} check"
        return Where(
            f"{owner.path}.quality{segment(label)}",
            f"quality rule {name!r} on {owner_words}",
            owner.object,
            owner.property,
        )

    for i in pairing.removed:
        out.emit(Aspect.QUALITY, Shift.REMOVED, where(old_labels[i], old[i]), old=describe(old[i]))
    for j in pairing.added:
        out.emit(Aspect.QUALITY, Shift.ADDED, where(new_labels[j], new[j]), new=describe(new[j]))
    for i, j in pairing.pairs:
        compare_rule(out, where(old_labels[i], old[i]), old[i], new[j])


def compare_rule(out: Collector, where: Where, old: Doc, new: Doc) -> None:
    """Compare two versions of one quality rule."""
    compare_fields(out, where, old, new, _RULE_FIELDS)
    _compare_definition(out, where, old, new)
    _compare_threshold(out, where, old, new)
    _compare_valid_values(out, where, old, new)
    _compare_severity(out, where, old.get("severity"), new.get("severity"))


def _compare_definition(out: Collector, where: Where, old: Doc, new: Doc) -> None:
    before, after = _definition(old), _definition(new)
    for key in before:
        if canonical(before[key]) != canonical(after[key]):
            # compared normalized, shown as written (a query keeps its case and layout)
            as_written = key in ("query", "customProperties")
            out.emit(
                Aspect.QUALITY_DEFINITION,
                Shift.CHANGED,
                where,
                field=key,
                old=old.get(key) if as_written else before[key],
                new=new.get(key) if as_written else after[key],
                suffix=f".{key}",
            )


def _compare_threshold(out: Collector, where: Where, old: Doc, new: Doc) -> None:
    before, after = operator_of(old), operator_of(new)
    shift = compare_thresholds(before, after)
    if shift is None:
        return
    key = (after or before or ("threshold", None))[0]
    out.emit(
        Aspect.QUALITY_THRESHOLD,
        shift,
        where,
        field=key,
        old=render_threshold(before),
        new=render_threshold(after),
        suffix=f".{key}",
    )


def _compare_valid_values(out: Collector, where: Where, old: Doc, new: Doc) -> None:
    before, after = valid_values_of(old), valid_values_of(new)
    if before is None and after is None:
        return
    suffix = (
        ".arguments.validValues"
        if "validValues" in (new.get("arguments") or old.get("arguments") or {})
        else (".validValues")
    )
    compare_value_lists(out, where, before, after, field="validValues", suffix=suffix)


def compare_value_lists(
    out: Collector, where: Where, before: list[Any] | None, after: list[Any] | None, *, field: str, suffix: str
) -> None:
    """A list of allowed values (a rule's `validValues`, a property's `enum`): values added loosen it,
    values removed tighten it; a list appearing restricts the values, one disappearing lifts that."""
    if before is None and after is None:
        return
    if before is None or after is None:
        # a list appearing restricts the values (tightened); one disappearing lifts the restriction
        shift = Shift.TIGHTENED if before is None else Shift.LOOSENED
        out.emit(
            Aspect.ALLOWED_VALUES,
            shift,
            where,
            field=field,
            old=before,
            new=after,
            detail="list " + ("introduced: " + render(after) if before is None else "removed: any value allowed"),
            suffix=suffix,
        )
        return
    old_set = {canonical(v): v for v in before}
    new_set = {canonical(v): v for v in after}
    added = [new_set[k] for k in new_set if k not in old_set]
    removed = [old_set[k] for k in old_set if k not in new_set]
    if added:
        out.emit(
            Aspect.ALLOWED_VALUES,
            Shift.LOOSENED,
            where,
            field=field,
            old=before,
            new=after,
            detail=", ".join(render(v) for v in added),
            suffix=suffix,
        )
    if removed:
        out.emit(
            Aspect.ALLOWED_VALUES,
            Shift.TIGHTENED,
            where,
            field=field,
            old=before,
            new=after,
            detail=", ".join(render(v) for v in removed),
            suffix=suffix,
        )


def _compare_severity(out: Collector, where: Where, old: Any, new: Any) -> None:
    a = str(old if old is not None else DEFAULT_QUALITY_SEVERITY)
    b = str(new if new is not None else DEFAULT_QUALITY_SEVERITY)
    if a.strip().lower() == b.strip().lower():
        return
    ra, rb = rank_in(QUALITY_SEVERITY_ORDER, a), rank_in(QUALITY_SEVERITY_ORDER, b)
    shift = Shift.CHANGED if ra is None or rb is None else shift_by_order(ra, rb, greater_is_tighter=True)
    if shift is not None:
        out.emit(Aspect.QUALITY_SEVERITY, shift, where, field="severity", old=a, new=b, suffix=".severity")


_RULE_FIELDS: FieldTable = {
    "id": element_id,
    "name": documentation,
    "description": documentation,
    "dimension": documentation,
    "businessImpact": documentation,
    "tags": documentation,
    "authoritativeDefinitions": documentation,
    "schedule": changed(Aspect.SCHEDULE),
    "scheduler": changed(Aspect.SCHEDULE),
    "severity": None,
    "validValues": None,
    **dict.fromkeys(DEFINITION_KEYS),
    **dict.fromkeys(OPERATORS),
}
"""How each key of a quality rule is compared (None: by a composite comparison above)."""
# The custom properties of a quality rule are part of its definition (ODCS: "additional properties
# required for rule execution"), so `customProperties` is compared by _compare_definition.
