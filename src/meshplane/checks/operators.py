"""The comparison operators of ODCS quality rules, as a table (data, not branches).

A rule compares one observed value (a count, a percentage, an age) with its threshold:
``mustBe``, ``mustNotBe``, ``mustBeGreaterThan``, ``mustBeGreaterOrEqualTo``, ``mustBeLessThan``,
``mustBeLessOrEqualTo``, ``mustBeBetween`` and ``mustNotBeBetween`` (bounds inclusive, as in the
standard's examples). A missing or NaN observed value satisfies no numeric comparison; values
that cannot be compared (text against a number) make the rule an `error`, never a failure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from meshplane.checks.values import is_nan


@dataclass(frozen=True)
class Operator:
    """One comparison: its ODCS name, a symbol for messages and the test."""

    name: str
    symbol: str
    test: Callable[[Any, Any], bool]
    numeric: bool = True
    """Numeric operators never hold for a missing (NULL) or NaN observed value."""
    range: bool = False
    """The value is a pair of bounds."""


def _between(observed: Any, bounds: Any) -> bool:
    low, high = sorted(bounds)
    return bool(low <= observed <= high)


OPERATORS: dict[str, Operator] = {
    op.name: op
    for op in (
        Operator("mustBe", "=", lambda o, v: bool(o == v), numeric=False),
        Operator("mustNotBe", "!=", lambda o, v: bool(o != v), numeric=False),
        Operator("mustBeGreaterThan", ">", lambda o, v: bool(o > v)),
        Operator("mustBeGreaterOrEqualTo", ">=", lambda o, v: bool(o >= v)),
        Operator("mustBeLessThan", "<", lambda o, v: bool(o < v)),
        Operator("mustBeLessOrEqualTo", "<=", lambda o, v: bool(o <= v)),
        Operator("mustBeBetween", "between", _between, range=True),
        Operator("mustNotBeBetween", "not between", lambda o, v: not _between(o, v), range=True),
    )
}


def _comparable(value: Any) -> Any:
    # Decimal compares with int and float, but not Decimal-vs-float NaN; keep numbers as they are
    if isinstance(value, Decimal) and value == value.to_integral_value() and value.is_finite():
        return int(value)
    return value


@dataclass(frozen=True)
class Threshold:
    """An operator with its value (and the rule's unit, for display)."""

    operator: str
    value: Any
    unit: str | None = None

    def __post_init__(self) -> None:
        if self.operator not in OPERATORS:
            raise ValueError(f"unknown operator '{self.operator}' (known: {', '.join(OPERATORS)})")
        op = OPERATORS[self.operator]
        if op.range and not (isinstance(self.value, list | tuple) and len(self.value) == 2):
            raise ValueError(f"{self.operator} needs two bounds, got {self.value!r}")

    def holds(self, observed: Any) -> bool:
        """Whether the observed value satisfies the threshold.

        Raises `TypeError` when the two cannot be compared (text against a number, a boolean
        against a count): the rule cannot be evaluated, which is an `error`, not a data failure.
        """
        op = OPERATORS[self.operator]
        if op.numeric and (observed is None or is_nan(observed)):
            return False
        bounds = self.value if op.range else [self.value]
        if observed is not None and any(b is not None and _family(b) != _family(observed) for b in bounds):
            raise TypeError(f"{_show(observed)} cannot be compared with {self}")
        try:
            return op.test(_comparable(observed), self.value)
        except TypeError as exc:
            raise TypeError(f"{_show(observed)} cannot be compared with {self}") from exc

    def __str__(self) -> str:
        op = OPERATORS[self.operator]
        value = f"{self.value[0]} and {self.value[1]}" if op.range else _show(self.value)
        unit = f" {self.unit}" if self.unit and self.unit not in ("rows",) else ""
        if self.unit == "percent":
            unit = " %"
        return f"{op.symbol} {value}{unit}"


def _family(value: Any) -> str:
    """What kind of value compares with what: numbers with numbers, text with text."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float | Decimal):
        return "number"
    return type(value).__name__


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if value is None:
        return "null"
    return str(value)


def threshold_of(pair: tuple[str, Any] | None, unit: str | None = None) -> Threshold | None:
    """A `Threshold` from `DataQuality.operator()` (None when the rule sets no operator)."""
    if pair is None:
        return None
    return Threshold(pair[0], pair[1], unit)
