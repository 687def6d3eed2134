"""A contract using every ODCS check feature: nothing silently skipped, output valid against its schema."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import jsonschema
import pyarrow as pa
import pyarrow.parquet as pq
from checks_support import NOW, RESULT_SCHEMA

from meshplane.checks import Status, junit_xml
from meshplane.checks.compiler import walk_properties
from meshplane.service.testing import run_tests

FIXTURE = Path(__file__).parent / "fixtures" / "every-feature.odcs.yaml"


def _orders(bad: bool) -> pa.Table:
    n = 6
    rows = {
        "order_id": [f"ORD-{i:04d}" for i in range(n)],
        "line": [1] * n,
        "email": [f"u{i}@shop.example" for i in range(n - 1)] + [None],
        "status": ["new", "paid", "shipped", "paid", "new", "paid"],
        "amount": [Decimal("10.00"), Decimal("25.50"), Decimal("99.99"), Decimal("1.00"), Decimal("5.25"),
                   Decimal("42.00")],
        "site": ["shop.example.com"] * n,
        "ip": ["10.0.0.1"] * n,
        "ip6": ["2001:db8::1"] * n,
        "ref": ["123e4567-e89b-12d3-a456-426614174000"] * n,
        "link": ["https://shop.example.com/o/1"] * n,
        "order_date": [date(2026, 1, 1) + timedelta(days=i) for i in range(n)],
        "updated_at": [NOW - timedelta(minutes=10 * i) for i in range(n)],
        "paid": [False, True, True, True, False, True],
        "tags": [["a"], ["a", "b"], ["c"], ["a"], ["b"], ["x", "y"]],
        "address": [{"city": "Lyon", "zip": "69001"}] * n,
    }  # fmt: skip
    if bad:
        rows["order_id"][1] = "ORD-0000"
        rows["status"][2] = "lost"
        rows["amount"][3] = Decimal("0.00")
        rows["email"][4] = "not-an-email"
        rows["tags"][5] = ["x", "x"]
    types = {
        "line": pa.int32(),
        "amount": pa.decimal128(10, 2),
        "updated_at": pa.timestamp("us", tz="UTC"),
        "address": pa.struct([("city", pa.string()), ("zip", pa.string())]),
    }
    return pa.table({k: pa.array(v, types.get(k)) for k, v in rows.items()})


def _run(tmp_path: Path, bad: bool):
    shutil.copy(FIXTURE, tmp_path / FIXTURE.name)
    pq.write_table(_orders(bad), tmp_path / "orders.parquet")
    (run,) = run_tests(tmp_path / FIXTURE.name, clock=lambda: NOW)
    return run


def test_every_feature_passes_on_good_data_and_nothing_is_silently_skipped(tmp_path) -> None:
    run = _run(tmp_path, bad=False)
    by_status = {s: [c.spec.id for c in run.checks if c.status is s] for s in Status}
    assert not by_status[Status.FAILED] and not by_status[Status.ERROR], by_status
    assert run.result is Status.PASSED
    skipped = {c.spec.id: c.message for c in run.checks if c.status is Status.SKIPPED}
    # only what cannot be executed is skipped, each with its reason
    assert set(skipped) == {"orders.text", "orders.custom", "sla.frequency"}, skipped
    assert "text rule" in skipped["orders.text"] and "soda" in skipped["orders.custom"]
    assert all(message for message in skipped.values())


def test_every_declared_element_has_a_result(tmp_path) -> None:
    run = _run(tmp_path, bad=False)
    from meshplane.spec.loader import load_contract

    contract = load_contract(FIXTURE).model
    assert contract is not None
    obj = contract.objects[0]
    for path, _column, prop in walk_properties(obj):
        mine = [c for c in run.checks if c.spec.property == path]
        assert any(c.spec.kind == "schema.property" for c in mine), path
        options = prop.logical_type_options or {}
        for option in options:
            assert any(c.spec.kind == f"logicalTypeOptions.{option}" for c in mine), f"{path}.{option}"
        rules = [c for c in mine if c.spec.kind.startswith(("library.", "sql", "text", "custom"))]
        assert len(rules) == len(prop.quality or []), path
    object_rules = [c for c in run.checks if c.spec.object == "orders" and c.spec.property is None
                    and c.spec.kind not in ("schema.object", "schema.undeclared", "primaryKey")]  # fmt: skip
    assert len(object_rules) == len(obj.quality or [])
    assert len([c for c in run.checks if c.spec.kind.startswith("sla.")]) == len(contract.sla_properties or [])


def test_every_feature_fails_where_the_data_breaks_it(tmp_path) -> None:
    run = _run(tmp_path, bad=True)
    statuses = {c.spec.id: c.status for c in run.checks}
    assert statuses["orders.order_id.unique"] is Status.FAILED
    assert statuses["orders.primaryKey"] is Status.FAILED
    assert statuses["orders.duplicateValues"] is Status.FAILED
    assert statuses["orders.status.invalidValues"] is Status.FAILED
    assert statuses["orders.amount.exclusiveMinimum"] is Status.FAILED
    assert statuses["orders.email.format"] is Status.FAILED
    assert statuses["orders.tags.uniqueItems"] is Status.FAILED
    assert statuses["orders.sql"] is Status.WARNING  # severity info: a paid order with amount 0
    assert statuses["orders.email.nullValues"] is Status.PASSED
    assert run.result is Status.FAILED


def test_json_output_is_valid_against_the_committed_schema(tmp_path) -> None:
    for bad in (False, True):
        folder = tmp_path / str(bad)
        folder.mkdir()
        document = _run(folder, bad).to_dict()
        jsonschema.Draft202012Validator(RESULT_SCHEMA).validate(document)
        assert document["contract"] == {"id": "every-feature", "version": "1.0.0"}
        assert (document["server"], document["engine"]) == ("local", "duckdb")
        failed = [c for c in document["checks"] if c["status"] == "failed"]
        assert all(c["samples"] for c in failed if c["kind"] != "sql")
        for check in failed:
            for row in check.get("samples", []):
                assert row["email"] == "***"


def test_junit_output(tmp_path) -> None:
    run = _run(tmp_path, bad=True)
    root = ET.fromstring(junit_xml([run]))
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    cases = suite.findall("testcase")
    assert len(cases) == len(run.checks) == int(suite.get("tests", "0"))
    assert int(suite.get("failures", "0")) == run.count(Status.FAILED) == len(root.findall(".//failure"))
    assert int(suite.get("skipped", "0")) == run.count(Status.SKIPPED) == len(root.findall(".//skipped"))
    assert all(case.get("name") and case.get("classname") for case in cases)
