"""Durations of SLA properties: ``value`` + ``unit`` (d, h, m, s, long and plural forms) or ISO 8601.

Examples that parse: ``(4, "d")``, ``(2, "hours")``, ``(30, "min")``, ``(3, "y")``, ``("PT6H", None)``,
``("P1DT12H", None)``, ``("36h", None)``. Months count 30 days and years 365 days.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

_SECONDS: dict[str, float] = {}
for _names, _seconds in (
    (("s", "sec", "secs", "second", "seconds"), 1),
    (("m", "min", "mins", "minute", "minutes"), 60),
    (("h", "hr", "hrs", "hour", "hours"), 3600),
    (("d", "day", "days"), 86400),
    (("w", "wk", "wks", "week", "weeks"), 7 * 86400),
    (("mo", "mon", "month", "months"), 30 * 86400),
    (("y", "yr", "yrs", "year", "years"), 365 * 86400),
):
    for _name in _names:
        _SECONDS[_name] = float(_seconds)

_ISO = re.compile(
    r"^P(?:(?P<y>\d+(?:\.\d+)?)Y)?(?:(?P<mo>\d+(?:\.\d+)?)M)?(?:(?P<w>\d+(?:\.\d+)?)W)?(?:(?P<d>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<mi>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$",
    re.IGNORECASE,
)
_ISO_UNITS = {"y": "y", "mo": "mo", "w": "w", "d": "d", "h": "h", "mi": "m", "s": "s"}
_TEXT = re.compile(r"^\s*(?P<n>\d+(?:\.\d+)?)\s*(?P<u>[A-Za-z]+)\s*$")


def unit_seconds(unit: str) -> float | None:
    """Seconds in one `unit` (None when unknown). ``M`` alone means month, ``m`` minute."""
    if unit == "M":
        return _SECONDS["mo"]
    return _SECONDS.get(unit.strip().lower())


def parse_duration(value: Any, unit: str | None) -> timedelta:
    """The duration of an SLA `value`/`unit`; `ValueError` with a readable reason otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, int | float):
        if not unit:
            raise ValueError(f"duration {value} has no unit (d, h, m, s or an ISO 8601 duration)")
        seconds = unit_seconds(unit)
        if seconds is None:
            raise ValueError(f"unknown duration unit '{unit}'")
        return timedelta(seconds=float(value) * seconds)
    if isinstance(value, str):
        text = value.strip()
        if unit and re.fullmatch(r"\d+(?:\.\d+)?", text):
            return parse_duration(float(text), unit)
        iso = _ISO.match(text)
        if iso and text.upper() not in ("P", "PT"):
            total = 0.0
            for group, key in _ISO_UNITS.items():
                if iso.group(group):
                    total += float(iso.group(group)) * _SECONDS[key]
            return timedelta(seconds=total)
        plain = _TEXT.match(text)
        if plain:
            return parse_duration(float(plain.group("n")), plain.group("u"))
    raise ValueError(f"not a duration: {value!r}" + (f" {unit}" if unit else ""))


def in_unit(delta: timedelta, unit: str | None) -> float:
    """A duration expressed in `unit` (seconds when the unit is unknown), rounded for display."""
    seconds = unit_seconds(unit) if unit else None
    return round(delta.total_seconds() / (seconds or 1.0), 3)
