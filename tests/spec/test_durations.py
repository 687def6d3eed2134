"""SLA durations: one reader for contract tests and diffs (value + unit, unit in the value, ISO 8601).

The table merges the cases the two former readers (`checks/durations.py`, `diff/measures.py`) were
tested with; where they disagreed (`ms`, the length of a month) the row says which answer holds now.
"""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction

import pytest

from meshplane.spec.durations import (
    MONTH,
    UNITS,
    DurationError,
    duration_seconds,
    in_unit,
    parse_duration,
    read_duration,
    unit_seconds,
)

S, MIN, H, D = 1, 60, 3600, 86400

READABLE: list[tuple[object, str | None, Fraction | int]] = [
    # value + unit, every spelling
    (500, "ms", Fraction(1, 2)),  # refused by contract tests before: now read everywhere
    (250, "msec", Fraction(1, 4)),
    (2, "milliseconds", Fraction(1, 500)),
    (45, "s", 45 * S),
    (45, "sec", 45 * S),
    (45, "seconds", 45 * S),
    (30, "m", 30 * MIN),
    (30, "min", 30 * MIN),
    (30, "minutes", 30 * MIN),
    (3, "h", 3 * H),
    (4, "hr", 4 * H),
    (3, "hours", 3 * H),
    (4, "d", 4 * D),
    (1, "day", D),
    (2, "days", 2 * D),
    (1, "D", D),  # case-insensitive ...
    (2, "M", 2 * MONTH),  # ... except M alone: a month (was 60 days in contract tests)
    (1, "w", 7 * D),
    (2, "weeks", 14 * D),
    (12, "mo", 365 * D),  # a month is a twelfth of a 365-day year
    (36, "months", 3 * 365 * D),
    (1, "y", 365 * D),
    (3, "yr", 3 * 365 * D),
    (2, "years", 2 * 365 * D),
    (1.5, "d", 36 * H),
    (1.5, "h", 5400 * S),
    ("4", "d", 4 * D),
    ("3", " Hours ", 3 * H),
    # a unit inside the value
    ("36h", None, 36 * H),
    ("4h", None, 4 * H),
    ("1 day", None, D),
    ("2 days", None, 2 * D),
    ("500 ms", None, Fraction(1, 2)),
    # ISO 8601
    ("PT6H", None, 6 * H),
    ("PT4H", None, 4 * H),
    ("P1D", None, D),
    ("P1DT12H", None, 36 * H),
    ("PT30M", None, 30 * MIN),
    ("PT90M", None, 90 * MIN),
    ("P1W", None, 7 * D),
    ("P2W", None, 14 * D),
    ("P1M", None, MONTH),
    ("P1Y", None, 365 * D),
    ("P3Y", None, 3 * 365 * D),
    ("PT0.5S", None, Fraction(1, 2)),
    ("PT0,5S", None, Fraction(1, 2)),
    ("pt6h", None, 6 * H),
]

UNREADABLE: list[tuple[object, str | None, str]] = [
    (4, None, "has no unit"),
    (4, "", "has no unit"),
    (4, "fortnights", "unknown duration unit 'fortnights'"),
    ("4", "fortnights", "unknown duration unit 'fortnights'"),
    ("soon", None, "not a duration: 'soon'"),
    ("4 fortnights", None, "unknown duration unit 'fortnights'"),
    ("P", None, "not a duration"),
    ("PT", None, "not a duration"),
    ("P1DT", None, "not a duration"),
    (True, "d", "not a duration"),
    (None, "d", "not a duration"),
    (float("inf"), "d", "not a duration"),
]


@pytest.mark.parametrize(("value", "unit", "seconds"), READABLE)
def test_readable_durations(value: object, unit: str | None, seconds: Fraction | int) -> None:
    assert read_duration(value, unit) == seconds
    assert duration_seconds(value, unit) == seconds
    assert parse_duration(value, unit) == timedelta(microseconds=round(Fraction(seconds) * 1_000_000))


@pytest.mark.parametrize(("value", "unit", "reason"), UNREADABLE)
def test_unreadable_durations(value: object, unit: str | None, reason: str) -> None:
    assert duration_seconds(value, unit) is None
    with pytest.raises(DurationError, match=reason):
        parse_duration(value, unit)


def test_one_unit_table() -> None:
    assert MONTH * 12 == unit_seconds("y") == 365 * D
    assert unit_seconds("M") == unit_seconds("months") and unit_seconds("m") == 60
    assert all(unit_seconds(name) is not None for names in UNITS.values() for name in names)
    assert issubclass(DurationError, ValueError)


def test_too_long_for_a_timedelta() -> None:
    with pytest.raises(DurationError, match="too long"):
        parse_duration(10**12, "y")
    assert duration_seconds(10**12, "y") == 10**12 * 365 * D


def test_in_unit() -> None:
    assert in_unit(timedelta(hours=36), "d") == 1.5
    assert in_unit(timedelta(minutes=90), "h") == 1.5
    assert in_unit(timedelta(milliseconds=1500), "ms") == 1500.0
    assert in_unit(timedelta(seconds=5), None) == 5.0
    assert in_unit(timedelta(seconds=5), "fortnights") == 5.0
