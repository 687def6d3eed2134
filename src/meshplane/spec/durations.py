"""Durations of SLA properties (``latency``, ``freshness``, ``retention``, ...): one reader for all.

ODCS writes a duration as ``value`` + ``unit`` ("**d**, day, days for days; **y**, yr, years for
years, etc."). meshplane reads, in every place that needs a duration (contract tests and diffs):

* a number with a unit: ``4`` + ``d``, ``2`` + ``hours``, ``500`` + ``ms``;
* a string with its own unit: ``36h``, ``2 days``, ``500 ms``;
* an ISO 8601 duration: ``PT6H``, ``P1DT12H``, ``P2W``, ``PT0.5S``.

Units (case-insensitive, except ``M`` alone, which is a month as in ISO 8601 ``P1M``; ``m`` is a
minute) are listed in :data:`UNITS`. A year counts 365 days and a month a twelfth of a year
(30.4166… days, exactly 2,628,000 s), so ``12 mo`` equals ``1 y`` and ``36 months`` equals ``3 y``.
Amounts are kept exact (:class:`fractions.Fraction` seconds).
"""

from __future__ import annotations

import re
from datetime import timedelta
from fractions import Fraction
from typing import Any

DAY = Fraction(86400)
YEAR = 365 * DAY
MONTH = YEAR / 12
"""A month is a twelfth of a 365-day year."""

UNITS: dict[str, tuple[str, ...]] = {
    "ms": ("ms", "msec", "msecs", "millisecond", "milliseconds"),
    "s": ("s", "sec", "secs", "second", "seconds"),
    "m": ("m", "min", "mins", "minute", "minutes"),
    "h": ("h", "hr", "hrs", "hour", "hours"),
    "d": ("d", "day", "days"),
    "w": ("w", "wk", "wks", "week", "weeks"),
    "mo": ("mo", "mos", "mon", "mth", "mths", "month", "months"),
    "y": ("y", "yr", "yrs", "year", "years"),
}
"""Each unit meshplane reads, under its short name, with every spelling accepted for it."""

UNIT_SECONDS: dict[str, Fraction] = {
    "ms": Fraction(1, 1000),
    "s": Fraction(1),
    "m": Fraction(60),
    "h": Fraction(3600),
    "d": DAY,
    "w": 7 * DAY,
    "mo": MONTH,
    "y": YEAR,
}
"""Seconds in one of each unit (by short name)."""

_SPELLINGS = {name: short for short, names in UNITS.items() for name in names}

_NUMBER = r"\d+(?:[.,]\d+)?"
_ISO = re.compile(
    rf"^P(?!$)(?:(?P<y>{_NUMBER})Y)?(?:(?P<mo>{_NUMBER})M)?(?:(?P<w>{_NUMBER})W)?(?:(?P<d>{_NUMBER})D)?"
    rf"(?:T(?!$)(?:(?P<h>{_NUMBER})H)?(?:(?P<m>{_NUMBER})M)?(?:(?P<s>{_NUMBER})S)?)?$",
    re.IGNORECASE,
)
_AMOUNT = re.compile(r"^\d+(?:\.\d+)?$")
_AMOUNT_UNIT = re.compile(r"^(?P<n>\d+(?:\.\d+)?)\s*(?P<u>[A-Za-z]+)$")
_HINT = "a number with a unit (ms, s, m, h, d, w, mo, y) or an ISO 8601 duration such as PT4H"


class DurationError(ValueError):
    """A value that is not a duration; the message says why, for the user."""


def unit_seconds(unit: str) -> Fraction | None:
    """Seconds in one `unit` (any spelling of :data:`UNITS`), None when the unit is unknown."""
    text = unit.strip()
    if text == "M":
        return MONTH
    short = _SPELLINGS.get(text.lower())
    return UNIT_SECONDS[short] if short else None


def read_duration(value: Any, unit: str | None = None) -> Fraction:
    """The exact number of seconds of a duration; :class:`DurationError` saying why otherwise."""
    if isinstance(value, bool) or value is None:
        raise DurationError(f"not a duration: {value!r} ({_HINT})")
    text = str(value).strip()
    if isinstance(value, int | float) or (unit and _AMOUNT.match(text)):
        if not unit or not unit.strip():
            raise DurationError(f"duration {value} has no unit ({_HINT})")
        seconds = unit_seconds(unit)
        if seconds is None:
            raise DurationError(f"unknown duration unit '{unit}' (known: {', '.join(UNITS)})")
        try:
            return Fraction(text) * seconds
        except ValueError:  # inf, nan
            raise DurationError(f"not a duration: {value!r} {unit}") from None
    iso = _ISO.match(text)
    if iso:
        parts = ((iso.group(key), UNIT_SECONDS[key]) for key in ("y", "mo", "w", "d", "h", "m", "s"))
        return sum((Fraction(part.replace(",", ".")) * size for part, size in parts if part), Fraction(0))
    amount_unit = _AMOUNT_UNIT.match(text)
    if amount_unit:
        return read_duration(amount_unit.group("n"), amount_unit.group("u"))
    shown = f"{value!r} {unit}" if unit else repr(value)
    raise DurationError(f"not a duration: {shown} ({_HINT})")


def duration_seconds(value: Any, unit: str | None = None) -> Fraction | None:
    """The exact seconds of a duration, or None when it cannot be read (see :func:`read_duration`)."""
    try:
        return read_duration(value, unit)
    except (DurationError, OverflowError):
        return None


def parse_duration(value: Any, unit: str | None = None) -> timedelta:
    """A duration as a `timedelta` (to the microsecond); :class:`DurationError` saying why otherwise."""
    seconds = read_duration(value, unit)
    try:
        return timedelta(microseconds=round(seconds * 1_000_000))
    except OverflowError:
        raise DurationError(f"duration {value}{f' {unit}' if unit else ''} is too long") from None


def in_unit(delta: timedelta, unit: str | None) -> float:
    """A duration expressed in `unit` (seconds when the unit is unknown), rounded for display."""
    seconds = unit_seconds(unit) if unit else None
    return round(delta.total_seconds() / float(seconds or 1), 3)


__all__ = [
    "MONTH",
    "UNITS",
    "UNIT_SECONDS",
    "YEAR",
    "DurationError",
    "duration_seconds",
    "in_unit",
    "parse_duration",
    "read_duration",
    "unit_seconds",
]
