"""What pages show of stored documents: a contract's columns and quality rules, small SVG charts."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ColumnRow:
    """One property of a contract's schema object, as the schema table shows it."""

    object: str
    path: str
    type: str
    required: bool
    unique: bool
    key: bool
    classification: str | None
    description: str | None


def _walk(props: Any, obj: str, prefix: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for prop in props if isinstance(props, list) else []:
        if isinstance(prop, Mapping) and isinstance(prop.get("name"), str):
            here = f"{prefix}{prop['name']}"
            yield here, prop
            yield from _walk(prop.get("properties"), obj, f"{here}.")
            items = prop.get("items")
            if isinstance(items, Mapping):
                yield from _walk(items.get("properties"), obj, f"{here}[].")


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def columns(document: Mapping[str, Any]) -> list[ColumnRow]:
    """Every property of every schema object of a contract document."""
    out = []
    for obj in document.get("schema") or []:
        if not isinstance(obj, Mapping):
            continue
        name = str(obj.get("name", "?"))
        for path, prop in _walk(obj.get("properties"), name, ""):
            kind = prop.get("physicalType") or prop.get("logicalType") or ""
            out.append(
                ColumnRow(
                    name,
                    path,
                    str(kind),
                    bool(prop.get("required")),
                    bool(prop.get("unique")),
                    bool(prop.get("primaryKey")),
                    _text(prop.get("classification")),
                    _text(prop.get("description")),
                )
            )
    return out


def quality_rules(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Quality rules of a contract: where each applies, its kind and what it says."""
    out: list[dict[str, Any]] = []

    def add(where: str, rules: Any) -> None:
        for rule in rules if isinstance(rules, list) else []:
            if isinstance(rule, Mapping):
                said = rule.get("description") or rule.get("metric") or rule.get("rule") or rule.get("query") or ""
                bounds = {k: rule[k] for k in rule if str(k).startswith("must")}
                out.append({"where": where, "type": rule.get("type", "library"), "says": str(said), "bounds": bounds})

    add("contract", document.get("quality"))
    for obj in document.get("schema") or []:
        if isinstance(obj, Mapping):
            name = str(obj.get("name", "?"))
            add(name, obj.get("quality"))
            for path, prop in _walk(obj.get("properties"), name, ""):
                add(f"{name}.{path}", prop.get("quality"))
    return out


def freshness_sla(document: Mapping[str, Any]) -> str | None:
    """The contract's freshness (or latency) SLA in words, e.g. ``1 d on orders.order_ts``; None without one."""
    for sla in document.get("slaProperties") or []:
        if isinstance(sla, Mapping) and sla.get("property") in ("freshness", "latency"):
            element = f" on {sla['element']}" if sla.get("element") else ""
            return f"{sla.get('value')} {sla.get('unit', '')}{element}".strip()
    return None


RESULT_COLOURS = {"passed": "#2f855a", "warning": "#b7791f", "failed": "#c53030", "error": "#742a2a"}


def run_bars(runs: Sequence[Mapping[str, Any]], *, width: int = 480, height: int = 60) -> dict[str, Any]:
    """Bars of test runs (oldest left), one per run, coloured by result: values for the chart template."""
    shown = list(reversed(runs))
    step = width / max(len(shown), 1)
    bars = [
        {
            "x": round(i * step, 1),
            "w": max(round(step - 2, 1), 1),
            "colour": RESULT_COLOURS.get(str(r.get("result")), "#718096"),
            "run": r,
            "h": height if r.get("result") in ("failed", "error") else height * 0.6,
        }
        for i, r in enumerate(shown)
    ]
    return {"bars": bars, "width": width, "height": height}


__all__ = ["RESULT_COLOURS", "ColumnRow", "columns", "freshness_sla", "quality_rules", "run_bars"]
