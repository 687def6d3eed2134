"""Orderings the diff needs: which of two values promises more.

Everything here answers one question for one kind of value: going from ``old`` to ``new``, does
the contract promise more (:attr:`Shift.TIGHTENED`), less (:attr:`Shift.LOOSENED`), the same thing
in other words (:attr:`Shift.RESTATED`), something incomparable (:attr:`Shift.CHANGED`), or exactly
the same (``None``)? The rule table then decides what that means per perspective.

Covered: classification levels, bounds (numbers, dates, timestamps, times), times of day and the
acceptance sets of ODCS quality operators. Durations (SLA latency, freshness, retention...) are
read by :func:`meshplane.spec.durations.duration_seconds`, the reader contract tests use too.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Any

from meshplane.diff.model import Shift

# ---------------------------------------------------------------------------------------------
# generic ordering

CLASSIFICATION_ORDER: tuple[str, ...] = ("public", "internal", "confidential", "pii", "restricted")
"""Classification levels from least to most sensitive (case-insensitive)."""

QUALITY_SEVERITY_ORDER: tuple[str, ...] = ("info", "warning", "error", "critical")
"""Quality rule severities from weakest to strongest; a rule without one counts as ``error``."""

DEFAULT_QUALITY_SEVERITY = "error"


def shift_by_order(old: Any, new: Any, *, greater_is_tighter: bool) -> Shift | None:
    """Compare two mutually ordered values; None when equal."""
    if old == new:
        return None
    greater = new > old
    return Shift.TIGHTENED if greater == greater_is_tighter else Shift.LOOSENED


def rank_in(order: tuple[str, ...], value: str | None) -> int | None:
    """The position of ``value`` (case-insensitive) in ``order``, or None if it is not there."""
    if value is None:
        return None
    try:
        return order.index(value.strip().lower())
    except ValueError:
        return None


def compare_classification(old: str | None, new: str | None) -> Shift | None:
    """Raised (tightened) or lowered (loosened) along :data:`CLASSIFICATION_ORDER`.

    A classification that appears counts as raised, one that disappears as lowered; two values
    outside the known order that differ are ``changed``.
    """
    if _norm(old) == _norm(new):
        return None
    if old is None:
        return Shift.TIGHTENED
    if new is None:
        return Shift.LOOSENED
    old_rank, new_rank = rank_in(CLASSIFICATION_ORDER, old), rank_in(CLASSIFICATION_ORDER, new)
    if old_rank is None or new_rank is None:
        return Shift.CHANGED
    return shift_by_order(old_rank, new_rank, greater_is_tighter=True)


def _norm(value: str | None) -> str | None:
    return value.strip().lower() if isinstance(value, str) else value


# ---------------------------------------------------------------------------------------------
# scalar values that can be ordered: numbers, dates, timestamps, times


def ordered_value(value: Any) -> tuple[str, Any] | None:
    """``(kind, comparable)`` for a number or an ISO date/timestamp/time string, else None.

    Only values of the same kind compare (a naive and an aware timestamp are different kinds).
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return ("number", float(value))
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        return ("number", float(text))
    except ValueError:
        pass
    for parse, kind in ((dt.date.fromisoformat, "date"), (dt.time.fromisoformat, "time")):
        try:
            parsed: Any = parse(text)
        except ValueError:
            continue
        if kind == "time":
            return ("time-aware" if parsed.tzinfo else "time", parsed)
        return (kind, parsed)
    try:
        stamp = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return ("timestamp-aware" if stamp.tzinfo else "timestamp", stamp)


def compare_values(old: Any, new: Any, *, greater_is_tighter: bool) -> Shift | None:
    """Order two scalars; equal → None, incomparable → ``changed``."""
    if old == new:
        return None
    a, b = ordered_value(old), ordered_value(new)
    if a is None or b is None or a[0] != b[0]:
        return Shift.CHANGED
    try:
        return shift_by_order(a[1], b[1], greater_is_tighter=greater_is_tighter)
    except TypeError:  # e.g. aware vs naive times
        return Shift.CHANGED


@dataclass(frozen=True)
class Bound:
    """One side of a range: ``minimum``/``exclusiveMinimum`` or ``maximum``/``exclusiveMaximum``."""

    key: str
    value: Any
    exclusive: bool

    def __str__(self) -> str:
        return f"{self.key} {render(self.value)}"


def bound_from(options: dict[str, Any], inclusive_key: str, exclusive_key: str, *, lower: bool) -> Bound | None:
    """The effective bound of one side; when both keys are set, the tighter one wins."""
    candidates = [
        Bound(key, options[key], key == exclusive_key) for key in (inclusive_key, exclusive_key) if key in options
    ]
    if not candidates:
        return None
    if len(candidates) == 1:
        return candidates[0]
    first, second = candidates
    shift = compare_bounds(first, second, lower=lower)
    return second if shift is Shift.TIGHTENED else first


def compare_bounds(old: Bound | None, new: Bound | None, *, lower: bool) -> Shift | None:
    """Compare two bounds of the same side; a removed bound is loosened, a new one tightened."""
    if old is None and new is None:
        return None
    if old is None:
        return Shift.TIGHTENED
    if new is None:
        return Shift.LOOSENED
    value_shift = compare_values(old.value, new.value, greater_is_tighter=lower)
    if value_shift is not None:
        return value_shift
    if old.exclusive == new.exclusive:
        return None
    # same value: the exclusive form is the tighter one on either side
    return Shift.TIGHTENED if new.exclusive else Shift.LOOSENED


# ---------------------------------------------------------------------------------------------
# times of day


def time_of_day_minutes(value: Any) -> float | None:
    """A time of day (``09:00``, ``09:00-08:00``, ``17:30Z``) as minutes after midnight UTC."""
    if not isinstance(value, str):
        return None
    match = re.match(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?\s*(Z|[+-]\d{2}:?\d{2})?$", value.strip())
    if not match:
        return None
    minutes = int(match.group(1)) * 60 + int(match.group(2)) + int(match.group(3) or 0) / 60
    offset = match.group(4)
    if offset and offset != "Z":
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        minutes -= sign * (int(digits[:2]) * 60 + int(digits[2:]))
    return minutes


# ---------------------------------------------------------------------------------------------
# quality thresholds: the set of measured values each operator accepts


@dataclass(frozen=True)
class Interval:
    """A real interval with open or closed ends (infinite ends are open)."""

    lo: float
    lo_closed: bool
    hi: float
    hi_closed: bool

    def within(self, other: Interval) -> bool:
        """True when every point of this interval lies in ``other``."""
        lo_ok = other.lo < self.lo or (other.lo == self.lo and (other.lo_closed or not self.lo_closed))
        hi_ok = other.hi > self.hi or (other.hi == self.hi and (other.hi_closed or not self.hi_closed))
        return lo_ok and hi_ok


_INF = math.inf


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def acceptance(operator: str, value: Any) -> tuple[Interval, ...] | None:
    """The measured values an ODCS operator accepts, as disjoint intervals (None if not numeric)."""
    if operator in ("mustBeBetween", "mustNotBeBetween"):
        if not isinstance(value, list | tuple) or len(value) != 2:
            return None
        low, high = _number(value[0]), _number(value[1])
        if low is None or high is None:
            return None
        low, high = min(low, high), max(low, high)
        if operator == "mustBeBetween":
            return (Interval(low, True, high, True),)
        return (Interval(-_INF, False, low, False), Interval(high, False, _INF, False))
    number = _number(value)
    if number is None:
        return None
    shapes: dict[str, tuple[Interval, ...]] = {
        "mustBe": (Interval(number, True, number, True),),
        "mustNotBe": (Interval(-_INF, False, number, False), Interval(number, False, _INF, False)),
        "mustBeGreaterThan": (Interval(number, False, _INF, False),),
        "mustBeGreaterOrEqualTo": (Interval(number, True, _INF, False),),
        "mustBeLessThan": (Interval(-_INF, False, number, False),),
        "mustBeLessOrEqualTo": (Interval(-_INF, False, number, True),),
    }
    return shapes.get(operator)


def _subset(inner: tuple[Interval, ...], outer: tuple[Interval, ...]) -> bool:
    # `outer`'s intervals are separated by gaps, so each inner interval must fit in one of them
    return all(any(piece.within(big) for big in outer) for piece in inner)


def compare_thresholds(old: tuple[str, Any] | None, new: tuple[str, Any] | None) -> Shift | None:
    """Compare two quality thresholds ``(operator, value)`` by the values they accept.

    Accepting more values is *loosened* (relaxed), fewer *tightened*; a threshold that appears is
    tightened, one that disappears loosened; overlapping but different sets are ``changed``.
    """
    if old is None and new is None:
        return None
    if old is None:
        return Shift.TIGHTENED
    if new is None:
        return Shift.LOOSENED
    if old[0] == new[0] and old[1] == new[1]:
        return None
    old_set, new_set = acceptance(*old), acceptance(*new)
    if old_set is None or new_set is None:
        return Shift.CHANGED
    grows = _subset(old_set, new_set)
    shrinks = _subset(new_set, old_set)
    if grows and shrinks:
        return None
    if grows:
        return Shift.LOOSENED
    if shrinks:
        return Shift.TIGHTENED
    return Shift.CHANGED


# ---------------------------------------------------------------------------------------------
# display


def render(value: Any) -> str:
    """A value as shown in messages: ``(none)`` for absent, lists comma-separated."""
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple):
        return "[" + ", ".join(render(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {render(v)}" for k, v in value.items()) + "}"
    return str(value)


def render_duration(value: Any, unit: str | None) -> str:
    """``4 h``, ``P1D``: the value as written, with its unit when it has one."""
    return f"{render(value)} {unit}" if unit else render(value)
