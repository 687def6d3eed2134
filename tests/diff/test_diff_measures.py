"""The orderings behind the rules: SLA durations, thresholds, classifications, bounds, times of day.

Reading a duration is tested in tests/spec/test_durations.py; here, how two SLAs compare.
"""

from __future__ import annotations

import pytest

from meshplane.diff.detect_contract import compare_sla_values
from meshplane.diff.measures import (
    Bound,
    compare_bounds,
    compare_classification,
    compare_thresholds,
    compare_values,
    time_of_day_minutes,
)
from meshplane.diff.model import Shift

LOOSE, TIGHT, CHANGED, SAME, RESTATED = Shift.LOOSENED, Shift.TIGHTENED, Shift.CHANGED, None, Shift.RESTATED


@pytest.mark.parametrize(
    ("prop", "old", "new", "shift"),
    [
        ("latency", (1, "d"), (3, "d"), LOOSE),  # the example
        ("latency", (1, "d"), ("P3D", None), LOOSE),
        ("latency", (4, "h"), (1, "d"), LOOSE),
        ("latency", (1, "d"), (4, "h"), TIGHT),
        ("latency", (1, "d"), (24, "hours"), RESTATED),
        ("latency", (1, "d"), ("P1D", None), RESTATED),
        ("freshness", (30, "m"), (1, "h"), LOOSE),
        ("frequency", (1, "h"), (1, "d"), LOOSE),
        ("Time_To_Repair", (2, "h"), (1, "h"), TIGHT),
        ("retention", (3, "y"), (1, "y"), LOOSE),  # retention shortened: relaxed
        ("retention", (1, "y"), (18, "months"), TIGHT),
        ("retention", (3, "y"), (36, "months"), RESTATED),
        ("availability", (99.9, "%"), (99.5, "%"), LOOSE),
        ("availability", (99.5, "percent"), (99.9, "%"), TIGHT),
        ("availability", (99.5, "%"), (99.5, "nines"), CHANGED),
        ("timeOfAvailability", ("09:00", None), ("10:00", None), LOOSE),
        ("timeOfAvailability", ("09:00-08:00", None), ("16:00Z", None), TIGHT),
        ("endOfSupport", ("2030-01-01", None), ("2029-01-01", None), LOOSE),
        ("endOfLife", ("2030-01-01", None), ("2031-01-01", None), TIGHT),
        ("generalAvailability", ("2025-01-01", None), ("2025-06-01", None), LOOSE),
        ("latency", (1, "d"), (1, "sprint"), CHANGED),
        ("someCustomLevel", (1, None), (2, None), CHANGED),
        ("latency", (1, "d"), (1, "d"), SAME),
    ],
)
def test_sla_values(prop: str, old: tuple[object, str | None], new: tuple[object, str | None], shift: Shift) -> None:
    def doc(value: tuple[object, str | None]) -> dict[str, object]:
        return {"property": prop, "value": value[0], **({"unit": value[1]} if value[1] else {})}

    assert compare_sla_values(prop, doc(old), doc(new)) == shift


def test_sla_value_ext_change_is_incomparable() -> None:
    old = {"property": "frequency", "value": 1, "valueExt": 1, "unit": "d"}
    new = {"property": "frequency", "value": 1, "valueExt": 2, "unit": "d"}
    assert compare_sla_values("frequency", old, new) is CHANGED


@pytest.mark.parametrize(
    ("old", "new", "shift"),
    [
        # operator-aware: a threshold accepting more measured values is relaxed
        (("mustBeLessThan", 10), ("mustBeLessThan", 20), LOOSE),
        (("mustBeLessThan", 20), ("mustBeLessThan", 10), TIGHT),
        (("mustBeGreaterThan", 5), ("mustBeGreaterThan", 1), LOOSE),
        (("mustBeGreaterThan", 1), ("mustBeGreaterThan", 5), TIGHT),
        (("mustBeBetween", [0, 10]), ("mustBeBetween", [0, 20]), LOOSE),
        (("mustBeBetween", [0, 20]), ("mustBeBetween", [5, 10]), TIGHT),
        (("mustBeBetween", [0, 10]), ("mustBeBetween", [5, 15]), CHANGED),
        (("mustNotBeBetween", [0, 10]), ("mustNotBeBetween", [2, 8]), LOOSE),
        (("mustNotBeBetween", [2, 8]), ("mustNotBeBetween", [0, 10]), TIGHT),
        (("mustBe", 0), ("mustBeLessThan", 5), LOOSE),
        (("mustBe", 0), ("mustBeLessOrEqualTo", 0), LOOSE),
        (("mustBeLessOrEqualTo", 0), ("mustBe", 0), TIGHT),
        (("mustBeGreaterThan", 0), ("mustBeGreaterOrEqualTo", 0), LOOSE),
        (("mustBeGreaterOrEqualTo", 0), ("mustBeGreaterThan", 0), TIGHT),
        (("mustBeGreaterThan", 0), ("mustBeLessThan", 100), CHANGED),
        (("mustBeGreaterThan", 100), ("mustBeBetween", [50, 1000]), CHANGED),
        (("mustBeGreaterThan", 100), ("mustBeBetween", [200, 1000]), TIGHT),
        (("mustNotBe", 0), ("mustBeGreaterThan", 0), TIGHT),
        (("mustBe", 5), ("mustNotBe", 6), LOOSE),
        (("mustBe", 1), ("mustBe", 1.0), SAME),
        (("mustBe", "ok"), ("mustBe", "fine"), CHANGED),
        (None, ("mustBe", 0), TIGHT),
        (("mustBe", 0), None, LOOSE),
        (None, None, SAME),
    ],
)
def test_thresholds(old: tuple[str, object] | None, new: tuple[str, object] | None, shift: Shift | None) -> None:
    assert compare_thresholds(old, new) == shift


@pytest.mark.parametrize(
    ("old", "new", "shift"),
    [
        ("public", "internal", TIGHT),
        ("internal", "confidential", TIGHT),
        ("confidential", "pii", TIGHT),
        ("pii", "restricted", TIGHT),
        ("restricted", "public", LOOSE),
        ("PII", "confidential", LOOSE),
        ("Internal", "internal", SAME),
        (None, "public", TIGHT),
        ("public", None, LOOSE),
        ("1", "2", CHANGED),
        ("internal", "secret", CHANGED),
    ],
)
def test_classification_order(old: str | None, new: str | None, shift: Shift | None) -> None:
    assert compare_classification(old, new) == shift


@pytest.mark.parametrize(
    ("old", "new", "lower", "shift"),
    [
        (Bound("minimum", 0, False), Bound("minimum", -5, False), True, LOOSE),
        (Bound("minimum", 0, False), Bound("exclusiveMinimum", 0, True), True, TIGHT),
        (Bound("maximum", 10, False), Bound("exclusiveMaximum", 10, True), False, TIGHT),
        (Bound("maximum", 10, False), Bound("maximum", 11, False), False, LOOSE),
        (Bound("minimum", "2020-01-01", False), Bound("minimum", "2019-01-01", False), True, LOOSE),
        (Bound("maximum", "2021-01-01 00:00:00", False), Bound("maximum", "2021-06-01 00:00:00", False), False, LOOSE),
        (Bound("minimum", "00:00:00", False), Bound("minimum", "06:00:00", False), True, TIGHT),
        (Bound("minimum", "2020-01-01", False), Bound("minimum", "soon", False), True, CHANGED),
        (Bound("minimum", 0, False), None, True, LOOSE),
        (None, Bound("maximum", 3, False), False, TIGHT),
    ],
)
def test_bounds(old: Bound | None, new: Bound | None, lower: bool, shift: Shift | None) -> None:
    assert compare_bounds(old, new, lower=lower) == shift


def test_values_of_different_kinds_do_not_compare() -> None:
    assert compare_values(1, "2020-01-01", greater_is_tighter=True) is CHANGED
    assert compare_values("2020-01-01 00:00:00", "2020-01-01T00:00:00+01:00", greater_is_tighter=True) is CHANGED


@pytest.mark.parametrize(
    ("text", "minutes"), [("09:00", 540), ("09:30:30", 570.5), ("09:00-08:00", 1020), ("17:00Z", 1020), ("x", None)]
)
def test_time_of_day(text: str, minutes: float | None) -> None:
    assert time_of_day_minutes(text) == minutes
