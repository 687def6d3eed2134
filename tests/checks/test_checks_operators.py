"""Operator semantics, as a table: (operator, value, observed) -> holds."""

from __future__ import annotations

from decimal import Decimal

import pytest

from meshplane.checks.operators import OPERATORS, Threshold, threshold_of
from meshplane.spec.odcs import OPERATORS as ODCS_OPERATORS

CASES = [
    ("mustBe", 0, 0, True),
    ("mustBe", 0, 1, False),
    ("mustBe", 0, 0.0, True),
    ("mustBe", 5, Decimal("5.00"), True),
    ("mustBe", "ok", "ok", True),
    ("mustBe", "ok", "OK", False),
    ("mustBe", None, None, True),
    ("mustNotBe", 0, 1, True),
    ("mustNotBe", 0, 0, False),
    ("mustNotBe", "a", "b", True),
    ("mustBeGreaterThan", 10, 11, True),
    ("mustBeGreaterThan", 10, 10, False),
    ("mustBeGreaterThan", 10, None, False),
    ("mustBeGreaterThan", 10, float("nan"), False),
    ("mustBeGreaterOrEqualTo", 10, 10, True),
    ("mustBeGreaterOrEqualTo", 10, 9.999, False),
    ("mustBeGreaterOrEqualTo", 0.5, Decimal("0.5"), True),
    ("mustBeLessThan", 5, 4, True),
    ("mustBeLessThan", 5, 5, False),
    ("mustBeLessOrEqualTo", 5, 5, True),
    ("mustBeLessOrEqualTo", 5, 5.0001, False),
    ("mustBeLessOrEqualTo", 5, Decimal("NaN"), False),
    ("mustBeBetween", [1, 10], 1, True),
    ("mustBeBetween", [1, 10], 10, True),
    ("mustBeBetween", [1, 10], 0, False),
    ("mustBeBetween", [1, 10], 10.5, False),
    ("mustBeBetween", [10, 1], 5, True),  # bounds in either order
    ("mustBeBetween", [1, 10], None, False),
    ("mustNotBeBetween", [1, 10], 0, True),
    ("mustNotBeBetween", [1, 10], 11, True),
    ("mustNotBeBetween", [1, 10], 1, False),
    ("mustNotBeBetween", [1, 10], 5, False),
    ("mustNotBeBetween", [1, 10], None, False),
]


@pytest.mark.parametrize(("operator", "value", "observed", "holds"), CASES)
def test_operator_semantics(operator, value, observed, holds) -> None:
    assert Threshold(operator, value).holds(observed) is holds


def test_table_covers_every_odcs_operator() -> None:
    assert set(OPERATORS) == set(ODCS_OPERATORS)
    assert {case[0] for case in CASES} == set(ODCS_OPERATORS)


@pytest.mark.parametrize(
    ("threshold", "text"),
    [
        (Threshold("mustBe", 0), "= 0"),
        (Threshold("mustBeLessOrEqualTo", 5, "percent"), "<= 5 %"),
        (Threshold("mustBeBetween", [1, 3], "rows"), "between 1 and 3"),
        (Threshold("mustNotBe", "x"), "!= 'x'"),
    ],
)
def test_threshold_text(threshold, text) -> None:
    assert str(threshold) == text


def test_bad_operators_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown operator"):
        Threshold("mustBeAwesome", 1)
    with pytest.raises(ValueError, match="two bounds"):
        Threshold("mustBeBetween", 3)
    assert threshold_of(None) is None


@pytest.mark.parametrize(
    ("operator", "value", "observed"),
    [
        ("mustBeLessThan", 5, "4"),  # text never compares with a number
        ("mustBe", "zero", 0),
        ("mustBe", 1, True),
        ("mustBeBetween", [1, "10"], 5),
    ],
)
def test_values_that_cannot_be_compared_are_not_a_verdict(operator, value, observed) -> None:
    with pytest.raises(TypeError, match="cannot be compared with"):
        Threshold(operator, value).holds(observed)
