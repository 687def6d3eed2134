"""SLA durations: value + unit (short, long, plural) and ISO 8601."""

from __future__ import annotations

from datetime import timedelta

import pytest

from meshplane.checks.durations import in_unit, parse_duration

CASES = [
    (4, "d", timedelta(days=4)),
    (1, "day", timedelta(days=1)),
    (2, "days", timedelta(days=2)),
    (3, "h", timedelta(hours=3)),
    (3, "hours", timedelta(hours=3)),
    (30, "m", timedelta(minutes=30)),
    (30, "min", timedelta(minutes=30)),
    (45, "s", timedelta(seconds=45)),
    (45, "seconds", timedelta(seconds=45)),
    (1, "w", timedelta(days=7)),
    (3, "y", timedelta(days=3 * 365)),
    (3, "yr", timedelta(days=3 * 365)),
    (2, "M", timedelta(days=60)),
    (1.5, "d", timedelta(hours=36)),
    ("4", "d", timedelta(days=4)),
    ("PT6H", None, timedelta(hours=6)),
    ("P1DT12H", None, timedelta(hours=36)),
    ("P2W", None, timedelta(days=14)),
    ("PT90M", None, timedelta(minutes=90)),
    ("P1Y", None, timedelta(days=365)),
    ("36h", None, timedelta(hours=36)),
    ("2 days", None, timedelta(days=2)),
]


@pytest.mark.parametrize(("value", "unit", "expected"), CASES)
def test_durations(value, unit, expected) -> None:
    assert parse_duration(value, unit) == expected


@pytest.mark.parametrize(("value", "unit"), [(4, None), (4, "fortnights"), ("soon", None), (True, "d"), ("P", None)])
def test_bad_durations(value, unit) -> None:
    with pytest.raises(ValueError):
        parse_duration(value, unit)


def test_in_unit() -> None:
    assert in_unit(timedelta(hours=36), "d") == 1.5
    assert in_unit(timedelta(minutes=90), "h") == 1.5
    assert in_unit(timedelta(seconds=5), None) == 5.0
