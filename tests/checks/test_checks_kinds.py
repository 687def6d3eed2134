"""Each check type, passing and failing, on real data through DuckDB.

Every case is one property `v` of object `t` with its declaration, the column's values, the check
id suffix and the expected status and observed value. A failing case is the passing one with
data (or a declaration) that breaks it: the tests can fail.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest
from checks_support import NOW, check, contract_doc, run_doc

S = pa.string()
I64 = pa.int64()
F64 = pa.float64()
TS = pa.timestamp("us", tz="UTC")

# (case id, property declaration, values, arrow type, check suffix, status, observed)
PROPERTY_CASES: list[tuple[str, dict[str, Any], list[Any], pa.DataType, str, str, Any]] = [
    ("exists", {"logicalType": "integer"}, [1, 2], I64, "schema.property", "passed", "BIGINT"),
    ("type-ok", {"logicalType": "integer", "physicalType": "bigint"}, [1], I64, "schema.type", "passed", "BIGINT"),
    ("type-int-for-number", {"logicalType": "number"}, [1], I64, "schema.type", "passed", "BIGINT"),
    ("type-bad", {"logicalType": "integer"}, ["1"], S, "schema.type", "failed", "VARCHAR"),
    ("type-date-bad", {"logicalType": "date"}, [1.5], F64, "schema.type", "failed", "DOUBLE"),
    ("type-physical-family", {"logicalType": "integer", "physicalType": "int"}, [1], I64, "schema.type", "passed",
     "BIGINT"),
    ("type-physical-bad", {"logicalType": "string", "physicalType": "date"}, ["x"], S, "schema.type", "failed",
     "VARCHAR"),
    ("type-decimal", {"logicalType": "number", "physicalType": "decimal(10,2)"}, [Decimal("1.50")],
     pa.decimal128(10, 2), "schema.type", "passed", "DECIMAL(10,2)"),
    ("type-timestamp-tz", {"logicalType": "timestamp"}, [NOW], TS, "schema.type", "passed",
     "TIMESTAMP WITH TIME ZONE"),
    ("required-ok", {"required": True}, [1, 2], I64, "required", "passed", 0),
    ("required-bad", {"required": True}, [1, None, None], I64, "required", "failed", 2),
    ("required-nan-is-a-value", {"required": True}, [float("nan"), 1.0], F64, "required", "passed", 0),
    ("unique-ok", {"unique": True}, ["a", "b", None, None], S, "unique", "passed", 0),
    ("unique-bad", {"unique": True}, ["a", "a", "a", "b"], S, "unique", "failed", 2),
    ("unique-unicode", {"unique": True}, ["é", "e\u0301", "日本", "日本"], S, "unique", "failed", 1),
    ("minLength-ok", {"logicalType": "string", "logicalTypeOptions": {"minLength": 2}}, ["ab", None], S,
     "minLength", "passed", 0),
    ("minLength-bad", {"logicalType": "string", "logicalTypeOptions": {"minLength": 3}}, ["ab", "abc"], S,
     "minLength", "failed", 1),
    ("maxLength-unicode", {"logicalType": "string", "logicalTypeOptions": {"maxLength": 2}}, ["日本", "ée"], S,
     "maxLength", "passed", 0),
    ("maxLength-bad", {"logicalType": "string", "logicalTypeOptions": {"maxLength": 2}}, ["日本語"], S,
     "maxLength", "failed", 1),
    ("pattern-ok", {"logicalType": "string", "logicalTypeOptions": {"pattern": "^[A-Z]{2}$"}}, ["FR", None], S,
     "pattern", "passed", 0),
    ("pattern-bad", {"logicalType": "string", "logicalTypeOptions": {"pattern": "^[A-Z]{2}$"}}, ["FR", "fr", "FRA"],
     S, "pattern", "failed", 2),
    ("pattern-search", {"logicalType": "string", "logicalTypeOptions": {"pattern": "[0-9]"}}, ["a1b"], S,
     "pattern", "passed", 0),
    ("email-ok", {"logicalType": "string", "logicalTypeOptions": {"format": "email"}}, ["a.b@c.org"], S,
     "format", "passed", 0),
    ("email-bad", {"logicalType": "string", "logicalTypeOptions": {"format": "email"}}, ["a@b", "x y@z.com"], S,
     "format", "failed", 2),
    ("uuid-ok", {"logicalType": "string", "logicalTypeOptions": {"format": "uuid"}},
     ["123e4567-e89b-12d3-a456-426614174000"], S, "format", "passed", 0),
    ("uuid-bad", {"logicalType": "string", "logicalTypeOptions": {"format": "uuid"}}, ["123e4567"], S, "format",
     "failed", 1),
    ("uri-ok", {"logicalType": "string", "logicalTypeOptions": {"format": "uri"}}, ["https://x.org/a?b=c"], S,
     "format", "passed", 0),
    ("uri-bad", {"logicalType": "string", "logicalTypeOptions": {"format": "uri"}}, ["not a uri"], S, "format",
     "failed", 1),
    ("hostname-ok", {"logicalType": "string", "logicalTypeOptions": {"format": "hostname"}}, ["db-1.example.com"], S,
     "format", "passed", 0),
    ("hostname-bad", {"logicalType": "string", "logicalTypeOptions": {"format": "hostname"}}, ["-bad-.com"], S,
     "format", "failed", 1),
    ("ipv4-ok", {"logicalType": "string", "logicalTypeOptions": {"format": "ipv4"}}, ["192.168.0.1"], S, "format",
     "passed", 0),
    ("ipv4-bad", {"logicalType": "string", "logicalTypeOptions": {"format": "ipv4"}}, ["256.1.1.1", "1.2.3"], S,
     "format", "failed", 2),
    ("ipv6-ok", {"logicalType": "string", "logicalTypeOptions": {"format": "ipv6"}}, ["2001:db8::1", "::1"], S,
     "format", "passed", 0),
    ("ipv6-bad", {"logicalType": "string", "logicalTypeOptions": {"format": "ipv6"}}, ["2001:db8:::1:z"], S,
     "format", "failed", 1),
    ("password-format", {"logicalType": "string", "logicalTypeOptions": {"format": "password"}}, ["x"], S, "format",
     "skipped", None),
    ("minimum-ok", {"logicalType": "number", "logicalTypeOptions": {"minimum": 0}}, [0.0, 1.0, None], F64, "minimum",
     "passed", 0),
    ("minimum-bad", {"logicalType": "number", "logicalTypeOptions": {"minimum": 0}}, [-0.01, 1.0], F64, "minimum",
     "failed", 1),
    ("maximum-nan", {"logicalType": "number", "logicalTypeOptions": {"maximum": 10}}, [float("nan"), 1.0], F64,
     "maximum", "failed", 1),  # NaN sorts above every number, as in DuckDB, PostgreSQL and Spark
    ("exclusiveMinimum-bad", {"logicalType": "integer", "logicalTypeOptions": {"exclusiveMinimum": 0}}, [0, 1], I64,
     "exclusiveMinimum", "failed", 1),
    ("exclusiveMaximum-ok", {"logicalType": "integer", "logicalTypeOptions": {"exclusiveMaximum": 10}}, [9], I64,
     "exclusiveMaximum", "passed", 0),
    ("decimal-maximum", {"logicalType": "number", "logicalTypeOptions": {"maximum": 9.99}},
     [Decimal("9.99"), Decimal("10.00")], pa.decimal128(6, 2), "maximum", "failed", 1),
    ("multipleOf-int", {"logicalType": "integer", "logicalTypeOptions": {"multipleOf": 5}}, [0, 5, -10, 7], I64,
     "multipleOf", "failed", 1),
    ("multipleOf-float", {"logicalType": "number", "logicalTypeOptions": {"multipleOf": 0.25}}, [0.5, 0.75, 1.1], F64,
     "multipleOf", "failed", 1),
    ("int-format", {"logicalType": "integer", "logicalTypeOptions": {"format": "i8"}}, [127, 128, -129], I64,
     "format", "failed", 2),
    ("date-min-ok", {"logicalType": "date", "logicalTypeOptions": {"minimum": "2020-01-01"}},
     [date(2020, 1, 1), date(2024, 5, 1)], pa.date32(), "minimum", "passed", 0),
    ("date-max-bad", {"logicalType": "date", "logicalTypeOptions": {"maximum": "2020-01-01"}},
     [date(2020, 1, 2)], pa.date32(), "maximum", "failed", 1),
    ("timestamp-tz-bound", {"logicalType": "timestamp", "logicalTypeOptions": {"maximum": "2026-03-02T12:00:00+01:00"}},
     [datetime(2026, 3, 2, 11, 0, tzinfo=UTC), datetime(2026, 3, 2, 11, 30, tzinfo=UTC)], TS, "maximum", "failed", 1),
    ("timezone-ok", {"logicalType": "timestamp", "logicalTypeOptions": {"timezone": True}}, [NOW], TS, "timezone",
     "passed", "TIMESTAMP WITH TIME ZONE"),
    ("timezone-bad", {"logicalType": "timestamp", "logicalTypeOptions": {"timezone": True}}, [datetime(2026, 1, 1)],
     pa.timestamp("us"), "timezone", "failed", "TIMESTAMP"),
    ("date-format-typed", {"logicalType": "date", "logicalTypeOptions": {"format": "yyyy-MM-dd"}},
     [date(2026, 1, 1)], pa.date32(), "format", "passed", "yyyy-MM-dd"),
    ("minItems-bad", {"logicalType": "array", "logicalTypeOptions": {"minItems": 2}, "items": {"logicalType": "string"}},
     [["a"], ["a", "b"]], pa.list_(S), "minItems", "failed", 1),
    ("maxItems-ok", {"logicalType": "array", "logicalTypeOptions": {"maxItems": 2}, "items": {"logicalType": "string"}},
     [["a"], ["a", "b"]], pa.list_(S), "maxItems", "passed", 0),
    ("uniqueItems-bad", {"logicalType": "array", "logicalTypeOptions": {"uniqueItems": True},
                         "items": {"logicalType": "integer"}}, [[1, 2], [3, 3]], pa.list_(I64), "uniqueItems",
     "failed", 1),
    ("object-required-bad", {"logicalType": "object", "logicalTypeOptions": {"required": ["a", "z"]}},
     [{"a": 1, "b": 2}], pa.struct([("a", I64), ("b", I64)]), "required", "failed", ["z"]),
    ("object-maxProperties-ok", {"logicalType": "object", "logicalTypeOptions": {"maxProperties": 2}},
     [{"a": 1, "b": 2}], pa.struct([("a", I64), ("b", I64)]), "maxProperties", "passed", 2),
]  # fmt: skip


def _quality(rule: dict[str, Any]) -> dict[str, Any]:
    return {"quality": [rule]}


METRIC_CASES: list[tuple[str, dict[str, Any], list[Any], pa.DataType, str, str, Any]] = [
    ("nullValues-ok", _quality({"metric": "nullValues", "mustBe": 0}), ["a"], S, "nullValues", "passed", 0),
    ("nullValues-bad", _quality({"metric": "nullValues", "mustBe": 0}), ["a", None], S, "nullValues", "failed", 1),
    ("nullValues-percent", _quality({"metric": "nullValues", "mustBeLessThan": 30, "unit": "percent"}),
     ["a", None, "b", "c"], S, "nullValues", "passed", 25.0),
    ("nullValues-percent-bad", _quality({"metric": "nullValues", "mustBeLessThan": 20, "unit": "percent"}),
     ["a", None, "b", "c"], S, "nullValues", "failed", 25.0),
    ("nullValues-warning", _quality({"metric": "nullValues", "mustBe": 0, "severity": "warning"}), [None], S,
     "nullValues", "warning", 1),
    ("nullValues-info", _quality({"metric": "nullValues", "mustBe": 0, "severity": "info"}), [None], S,
     "nullValues", "warning", 1),
    ("missingValues", _quality({"metric": "missingValues", "arguments": {"missingValues": ["", "N/A"]},
                                "mustBeLessOrEqualTo": 1}), ["x", "", "N/A", None], S, "missingValues", "failed", 3),
    ("missingValues-percent", _quality({"metric": "missingValues", "arguments": {"missingValues": [""]},
                                        "mustBeBetween": [0, 50], "unit": "percent"}), ["x", "", "y", "z"], S,
     "missingValues", "passed", 25.0),
    ("invalidValues-valid", _quality({"metric": "invalidValues", "arguments": {"validValues": ["a", "b"]},
                                      "mustBe": 0}), ["a", "b", None, "c"], S, "invalidValues", "failed", 1),
    ("invalidValues-int", _quality({"metric": "invalidValues", "arguments": {"validValues": [1, 2]}, "mustBe": 0}),
     [1, 2, 2], I64, "invalidValues", "passed", 0),
    ("invalidValues-pattern", _quality({"metric": "invalidValues", "arguments": {"pattern": "^[0-9]+$"},
                                        "mustBeLessThan": 2}), ["12", "1a", "x"], S, "invalidValues", "failed", 2),
    ("invalidValues-odcs-example", _quality({"metric": "invalidValues", "arguments": {"validValues": ["", None, "n/a"]},
                                             "mustBeLessOrEqualTo": 5, "unit": "percent"}), ["", "n/a", "x"], S,
     "invalidValues", "failed", 33.333333),
    ("duplicateValues", _quality({"metric": "duplicateValues", "mustBe": 0}), [1, 1, 2, None, None], I64,
     "duplicateValues", "failed", 1),
    ("duplicateValues-percent", _quality({"metric": "duplicateValues", "mustBeLessThan": 30, "unit": "percent"}),
     [1, 1, 2, 3], I64, "duplicateValues", "passed", 25.0),
    ("sql-property", _quality({"type": "sql", "query": "SELECT COUNT(*) FROM {object} WHERE {property} < 0",
                               "mustBe": 0}), [1, -1, -2], I64, "sql", "failed", 2),
    ("sql-dollar", _quality({"type": "sql", "query": "SELECT MAX(${column}) FROM ${table}",
                             "mustBeLessOrEqualTo": 10}), [1, 10], I64, "sql", "passed", 10),
    ("sql-own-query", _quality({"type": "sql", "query": "SELECT COUNT(*) FROM (SELECT {property} FROM {object} "
                                                        "GROUP BY 1 HAVING COUNT(*) > 1)", "mustBe": 0}),
     [1, 1, 2, 2, 3], I64, "sql", "failed", 2),
    ("sql-between", _quality({"type": "sql", "query": "SELECT AVG(v) FROM t", "mustBeBetween": [1, 3]}),
     [1, 2, 3], I64, "sql", "passed", 2.0),
    ("sql-not-select", _quality({"type": "sql", "query": "DELETE FROM t", "mustBe": 0}), [1], I64, "sql", "error",
     None),
    ("sql-two-statements", _quality({"type": "sql", "query": "SELECT 1; SELECT 2", "mustBe": 1}), [1], I64, "sql",
     "error", None),
    ("sql-bad-column", _quality({"type": "sql", "query": "SELECT COUNT(nope) FROM t", "mustBe": 0}), [1], I64, "sql",
     "error", None),
    ("sql-rows", _quality({"type": "sql", "query": "SELECT v FROM t", "mustBe": 0}), [1, 2], I64, "sql", "error",
     None),
    ("text", _quality({"type": "text", "description": "Values are plausible."}), [1], I64, "text", "skipped", None),
    ("custom", _quality({"type": "custom", "engine": "soda", "implementation": "checks: []"}), [1], I64, "custom",
     "skipped", None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("declaration", "values", "arrow_type", "suffix", "status", "observed"),
    [pytest.param(*case[1:], id=case[0]) for case in PROPERTY_CASES + METRIC_CASES],
)
def test_property_checks(tmp_path, declaration, values, arrow_type, suffix, status, observed) -> None:
    prop = {"name": "v", **declaration}
    table = pa.table({"v": pa.array(values, arrow_type)})
    run = run_doc(tmp_path, contract_doc([{"name": "t", "properties": [prop]}]), {"t": table})
    result = check(run, f"t.v.{suffix}")
    assert result.status.value == status, result.message
    if isinstance(observed, float):
        assert result.observed == pytest.approx(observed, rel=1e-6)
    else:
        assert result.observed == observed, result.message
    assert result.message


OBJECT_CASES: list[tuple[str, dict[str, Any], str, str, Any]] = [
    ("rowCount-ok", {"metric": "rowCount", "mustBeGreaterOrEqualTo": 4}, "rowCount", "passed", 4),
    ("rowCount-bad", {"metric": "rowCount", "mustBeLessThan": 4}, "rowCount", "failed", 4),
    ("rowCount-not-between", {"metric": "rowCount", "mustNotBeBetween": [1, 3]}, "rowCount", "passed", 4),
    ("duplicate-tuples", {"metric": "duplicateValues", "arguments": {"properties": ["a", "b"]}, "mustBe": 0},
     "duplicateValues", "failed", 1),
    ("sql-object", {"type": "sql", "query": "SELECT COUNT(*) FROM {object} WHERE a > b", "mustBe": 0}, "sql",
     "failed", 3),
    ("sql-named", {"type": "sql", "name": "no negative b", "query": "SELECT COUNT(*) FROM t WHERE b < 0",
                   "mustBe": 0}, "no_negative_b", "passed", 0),
    ("unknown-metric", {"metric": "rowCount", "rule": "x", "mustBe": 1}, "rowCount", "failed", 4),
]  # fmt: skip


@pytest.mark.parametrize(
    ("rule", "suffix", "status", "observed"), [pytest.param(*c[1:], id=c[0]) for c in OBJECT_CASES]
)
def test_object_checks(tmp_path, rule, suffix, status, observed) -> None:
    table = pa.table({"a": [1, 1, 2, 3], "b": [0, 0, 5, 1]})
    obj = {"name": "t", "properties": [{"name": "a"}, {"name": "b"}], "quality": [rule]}
    run = run_doc(tmp_path, contract_doc([obj]), {"t": table})
    result = check(run, f"t.{suffix}")
    assert (result.status.value, result.observed) == (status, observed), result.message


@pytest.mark.parametrize(
    ("positions", "rows", "status", "observed"),
    [
        ((1, 2), [(1, "x"), (1, "y"), (2, "x")], "passed", 0),
        ((1, 2), [(1, "x"), (1, "x"), (2, "x")], "failed", 1),
        ((1, 2), [(1, None), (1, "x")], "failed", 1),
        ((2, 1), [(1, "x"), (2, "x")], "passed", 0),
    ],
)
def test_composite_primary_key(tmp_path, positions, rows, status, observed) -> None:
    table = pa.table({"k1": [r[0] for r in rows], "k2": pa.array([r[1] for r in rows], S)})
    props = [
        {"name": "k1", "primaryKey": True, "primaryKeyPosition": positions[0]},
        {"name": "k2", "primaryKey": True, "primaryKeyPosition": positions[1]},
    ]
    run = run_doc(tmp_path, contract_doc([{"name": "t", "properties": props}]), {"t": table})
    result = check(run, "t.primaryKey")
    assert (result.status.value, result.observed) == (status, observed), result.message
    expected_order = "k1, k2" if positions == (1, 2) else "k2, k1"
    assert result.spec.property == expected_order


def test_missing_and_undeclared_columns(tmp_path) -> None:
    table = pa.table({"a": [1], "extra": ["x"]})
    props = [{"name": "a"}, {"name": "gone", "logicalType": "string", "required": True}]
    run = run_doc(tmp_path, contract_doc([{"name": "t", "properties": props}]), {"t": table})
    assert check(run, "t.gone.schema.property").status.value == "failed"
    assert check(run, "t.gone.schema.type").status.value == "skipped"
    assert check(run, "t.gone.required").status.value == "skipped"
    assert "missing" in check(run, "t.gone.required").message
    undeclared = check(run, "t.schema.undeclared")
    assert (undeclared.status.value, undeclared.observed) == ("warning", ["extra"])
    assert run.result.value == "failed"


def test_nested_properties(tmp_path) -> None:
    address = pa.struct([("city", S), ("zip", S)])
    table = pa.table(
        {
            "address": pa.array([{"city": "Lyon", "zip": "69001"}, {"city": None, "zip": "1"}], address),
            "tags": pa.array([["a"], ["b", "c"]], pa.list_(S)),
        }
    )
    props = [
        {
            "name": "address",
            "logicalType": "object",
            "properties": [
                {"name": "city", "logicalType": "string", "required": True},
                {"name": "zip", "logicalType": "string", "logicalTypeOptions": {"pattern": "^[0-9]{5}$"}},
                {"name": "country", "logicalType": "string"},
            ],
        },
        {"name": "tags", "logicalType": "array", "items": {"logicalType": "string", "required": True}},
    ]
    run = run_doc(tmp_path, contract_doc([{"name": "t", "properties": props}]), {"t": table})
    assert check(run, "t.address.schema.type").status.value == "passed"
    assert check(run, "t.address.city.schema.property").status.value == "passed"
    assert check(run, "t.address.city.required").observed == 1
    assert check(run, "t.address.zip.pattern").observed == 1
    assert check(run, "t.address.country.schema.property").status.value == "failed"
    assert check(run, "t.tags[].schema.type").status.value == "passed"
    items_required = check(run, "t.tags[].required")
    assert items_required.status.value == "skipped" and "arrays" in items_required.message


@pytest.mark.parametrize(
    ("sla", "newest", "status", "observed"),
    [
        ({"property": "freshness", "value": 1, "unit": "d"}, NOW - timedelta(hours=12), "passed", 0.5),
        ({"property": "freshness", "value": 1, "unit": "d"}, NOW - timedelta(hours=36), "failed", 1.5),
        ({"property": "latency", "value": "PT6H"}, NOW - timedelta(hours=3), "passed", 10800.0),
        ({"property": "latency", "value": 2, "unit": "hours"}, NOW - timedelta(hours=3), "failed", 3.0),
        ({"property": "latency", "value": 4000, "unit": "ms"}, NOW - timedelta(seconds=3), "passed", 3000.0),
        ({"property": "Freshness", "value": 30, "unit": "minutes"}, NOW - timedelta(minutes=10), "passed", 10.0),
    ],
)
def test_sla_freshness(tmp_path, sla, newest, status, observed) -> None:
    table = pa.table({"ts": pa.array([newest - timedelta(days=400), newest], TS)})
    doc = contract_doc([{"name": "t", "properties": [{"name": "ts"}]}], slaProperties=[{**sla, "element": "t.ts"}])
    run = run_doc(tmp_path, doc, {"t": table})
    result = check(run, f"sla.{sla['property']}")
    assert (result.status.value, result.observed) == (status, observed), result.message


@pytest.mark.parametrize(
    ("arrow_type", "values"),
    [
        (pa.timestamp("us"), [datetime(2026, 3, 2, 11, 0)]),  # naive = UTC
        (pa.timestamp("ms", tz="Europe/Paris"), [datetime(2026, 3, 2, 11, 0, tzinfo=UTC)]),
        (pa.date32(), [date(2026, 3, 2)]),
        (S, ["2026-03-02T11:00:00Z"]),
        (S, ["2026-03-02 12:00:00+01:00"]),
    ],
)
def test_sla_time_zones_and_types(tmp_path, arrow_type, values) -> None:
    table = pa.table({"ts": pa.array(values, arrow_type)})
    doc = contract_doc(
        [{"name": "t", "properties": [{"name": "ts"}]}],
        slaDefaultElement="t.ts",
        slaProperties=[{"property": "freshness", "value": 1, "unit": "d"}],
    )
    result = check(run_doc(tmp_path, doc, {"t": table}), "sla.freshness")
    assert result.status.value == "passed", result.message
    # 11:00 UTC however written is 1 h before NOW; a date counts from midnight UTC
    assert result.observed == (0.5 if arrow_type == pa.date32() else 0.042)


def test_sla_retention_and_unobservable(tmp_path) -> None:
    table = pa.table({"ts": pa.array([NOW - timedelta(days=800), NOW], TS)})
    doc = contract_doc(
        [{"name": "t", "properties": [{"name": "ts"}]}],
        slaProperties=[
            {"property": "retention", "value": 1, "unit": "y", "element": "t.ts"},
            {"property": "retention", "value": 3, "unit": "years", "element": "ts"},
            {"property": "frequency", "value": 1, "unit": "d", "element": "t.ts"},
            {"property": "latency", "value": 1, "unit": "d"},
            {"property": "latency", "value": 1, "unit": "d", "element": "nope.ts"},
            {"property": "freshness", "value": "soon", "element": "t.ts"},
        ],
    )
    run = run_doc(tmp_path, doc, {"t": table})
    assert check(run, "sla.retention").status.value == "failed"
    assert check(run, "sla.retention#2").status.value == "passed"
    assert check(run, "sla.frequency").status.value == "skipped"
    assert check(run, "sla.latency").status.value == "error"  # no element
    assert check(run, "sla.latency#2").status.value == "skipped"  # the column is missing in object t
    assert check(run, "sla.freshness").status.value == "error"  # not a duration


@pytest.mark.parametrize(
    ("rule", "values", "status", "observed"),
    [
        ({"rule": "duplicateCount", "mustBe": 0}, [1, 1], "failed", 1),
        ({"rule": "nullValues"}, [None], "failed", 1),  # no operator: the metric's natural one (= 0)
        ({"rule": "rowCount"}, [1], "passed", 1),  # no operator: > 0
        ({"rule": "validValues", "arguments": {"validValues": [1]}, "mustBe": 0}, [1, 2], "failed", 1),
    ],
)
def test_odcs_v30_rule_spelling(tmp_path, rule, values, status, observed) -> None:
    prop = {"name": "v", "quality": [rule]}
    doc = contract_doc([{"name": "t", "properties": [prop]}], apiVersion="v3.0.2")
    run = run_doc(tmp_path, doc, {"t": pa.table({"v": pa.array(values, I64)})})
    (result,) = [c for c in run.checks if c.spec.kind.startswith("library.")]
    assert (result.status.value, result.observed) == (status, observed), result.message


def test_empty_table(tmp_path) -> None:
    table = pa.table({"v": pa.array([], I64), "ts": pa.array([], TS)})
    props = [
        {"name": "v", "required": True, "unique": True, "logicalTypeOptions": {"minimum": 0}, "logicalType": "integer",
         "quality": [{"metric": "nullValues", "unit": "percent", "mustBe": 0}]},
        {"name": "ts"},
    ]  # fmt: skip
    obj = {"name": "t", "properties": props, "quality": [{"metric": "rowCount", "mustBeGreaterThan": 0}]}
    doc = contract_doc([obj], slaProperties=[{"property": "freshness", "value": 1, "unit": "d", "element": "t.ts"}])
    run = run_doc(tmp_path, doc, {"t": table})
    assert check(run, "t.v.required").status.value == "passed"
    assert check(run, "t.v.unique").status.value == "passed"
    assert check(run, "t.v.nullValues").observed == 0.0
    assert check(run, "t.rowCount").status.value == "failed"
    freshness = check(run, "sla.freshness")
    assert freshness.status.value == "failed" and "no newest value" in freshness.message


@pytest.mark.parametrize(
    ("column", "status", "reason"),
    [
        (pa.array([1, 2], pa.int64()), "error", "is a BIGINT column, not a date or timestamp"),
        (pa.array([True, None], pa.bool_()), "error", "not a date or timestamp"),
        (pa.array(["soon", "later"], S), "error", "none of the 2 value(s) of t.ts reads as a timestamp"),
        (pa.array(["soon", "2026-03-02T11:00:00Z"], S), "passed", "newest t.ts"),
        (pa.array([None, None], S), "failed", "has no timestamps"),
    ],
)
def test_sla_on_a_column_that_is_not_time_is_an_error(tmp_path, column, status, reason) -> None:
    doc = contract_doc(
        [{"name": "t", "properties": [{"name": "ts"}]}],
        slaProperties=[{"property": "freshness", "value": 1, "unit": "d", "element": "t.ts"}],
    )
    result = check(run_doc(tmp_path, doc, {"t": pa.table({"ts": column})}), "sla.freshness")
    assert result.status.value == status and reason in result.message, result.message


def test_a_rule_that_cannot_be_evaluated_is_an_error_not_a_failure(tmp_path) -> None:
    rules = [{"metric": "nullValues", "mustBe": "none"}]
    sql = [{"type": "sql", "query": "SELECT 'many' FROM {object} LIMIT 1", "mustBeGreaterThan": 1}]
    doc = contract_doc([{"name": "t", "properties": [{"name": "x", "quality": rules}], "quality": sql}])
    run = run_doc(tmp_path, doc, {"t": pa.table({"x": pa.array([1, None], pa.int64())})})
    for check_id in ("t.x.nullValues", "t.sql"):
        result = check(run, check_id)
        assert result.status.value == "error", result.message
        assert "cannot be compared with" in result.message
