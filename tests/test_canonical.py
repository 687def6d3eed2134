"""`meshplane.canonical`: the one canonical JSON text, table by table."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import hashlib
import json
from typing import Any

import pytest

from meshplane.canonical import (
    MAX_DEPTH,
    CanonicalJSONError,
    canonical_bytes,
    canonical_bytes_of_decoded,
    canonical_json,
    canonical_sha256,
)


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"d": value}
    return value


TEXTS: list[tuple[str, Any, str]] = [
    ("keys sorted at every level", {"b": 1, "a": {"d": [], "c": None}}, '{"a":{"c":null,"d":[]},"b":1}'),
    ("keys sorted by code point", {"é": 1, "z": 2, "A": 3, "😀": 4}, '{"A":3,"z":2,"é":1,"😀":4}'),
    ("UTF-8 kept, controls escaped", {"k": "é€\u2028\x00\n\"\\/"}, '{"k":"é€\u2028\\u0000\\n\\"\\\\/"}'),
    ("booleans and null", [True, False, None], "[true,false,null]"),
    ("a tuple is an array", {"t": (1, "x")}, '{"t":[1,"x"]}'),
    ("64-bit integers", [2**64 - 1, -(2**63)], "[18446744073709551615,-9223372036854775808]"),
    ("integers beyond 64 bits, exactly", {"n": 2**70, "m": -(2**63) - 1}, '{"m":-9223372036854775809,"n":1180591620717411303424}'),
    ("floats as repr writes them", [1.5, 100.0, 0.1 + 0.2, 1e16, 1e22, 5e-324, -0.0, 1e-4], "[1.5,100.0,0.30000000000000004,1e+16,1e+22,5e-324,-0.0,0.0001]"),
    ("exponent -5 in decimal form", [1e-5, 2.5e-5], "[0.00001,0.000025]"),
    ("exponents -6 to -9 unpadded", [1e-6, 1e-7, 1.5e-9, 1e-10], "[1e-6,1e-7,1.5e-9,1e-10]"),
    ("deepest nesting written", _nested(MAX_DEPTH - 1), json.dumps(_nested(MAX_DEPTH - 1), separators=(",", ":"))),
]  # fmt: skip


@pytest.mark.parametrize(("case", "value", "text"), TEXTS, ids=[t[0] for t in TEXTS])
def test_canonical_text(case: str, value: Any, text: str) -> None:
    assert canonical_json(value) == text, case
    assert canonical_bytes(value) == text.encode("utf-8")
    assert canonical_sha256(value) == hashlib.sha256(text.encode("utf-8")).hexdigest()
    if "beyond 64 bits" not in case and "tuple" not in case:
        decoded = json.loads(text)
        assert canonical_bytes_of_decoded(decoded) == text.encode("utf-8")


def test_equal_documents_have_one_text_whatever_their_order_or_number_spelling() -> None:
    spellings = ['{"a":1e-5,"b":[1E2]}', '{"b":[100.0],"a":0.00001}', '{ "b" : [ 1.00e2 ] , "a" : 10e-6 }']
    assert len({canonical_json(json.loads(text)) for text in spellings}) == 1


@dataclasses.dataclass
class Point:
    x: int


WITH_DEFAULT: list[tuple[str, Any, str]] = [
    ("date as str() writes it", {"d": datetime.date(2024, 1, 2)}, '{"d":"2024-01-02"}'),
    ("datetime as str() writes it", {"t": datetime.datetime(2024, 1, 2, 3, 4, tzinfo=datetime.UTC)}, '{"t":"2024-01-02 03:04:00+00:00"}'),
    ("decimal as a string", {"n": decimal.Decimal("1.50")}, '{"n":"1.50"}'),
    ("dataclass as str()", {"p": Point(1)}, '{"p":"Point(x=1)"}'),
]  # fmt: skip


@pytest.mark.parametrize(("case", "value", "text"), WITH_DEFAULT, ids=[t[0] for t in WITH_DEFAULT])
def test_values_that_are_not_json_data_go_through_default_as_json_dumps_default_str_did(
    case: str, value: Any, text: str
) -> None:
    assert canonical_json(value, default=str) == text, case
    assert json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str) == text
    with pytest.raises(CanonicalJSONError, match="not JSON data"):
        canonical_json(value)


REFUSED: list[tuple[str, Any, str, str]] = [
    ("NaN", {"a": [1, float("nan")]}, "$.a[1]", "not a JSON number"),
    ("infinity", {"a": {"b": float("-inf")}}, "$.a.b", "not a JSON number"),
    ("lone surrogate", {"a": ["x", "b\ud800c"]}, "$.a[1]", "lone surrogate"),
    ("key not a string", {"a": {1: "x"}}, "$.a", "object key must be a string"),
    ("nesting too deep", _nested(MAX_DEPTH + 1), "$" + ".d" * MAX_DEPTH, f"nested deeper than {MAX_DEPTH} levels"),
    ("other types", {"s": {1, 2}}, "$.s", "not JSON data: set"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "value", "path", "reason"), REFUSED, ids=[r[0] for r in REFUSED])
def test_what_has_no_canonical_text_is_refused_naming_the_place(case: str, value: Any, path: str, reason: str) -> None:
    with pytest.raises(CanonicalJSONError) as caught:
        canonical_bytes(value)
    assert str(caught.value).startswith(f"{path}: "), case
    assert reason in caught.value.reason
    assert isinstance(caught.value, ValueError)
