"""Type checks on foreign contracts: physicalType names read through the physical type table, and
nested JSON types (the engine conformance case `json_nested.yaml` runs the same data on Spark)."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
from checks_support import check, contract_doc, run_doc


def test_physical_type_names_no_dialect_reads(tmp_path) -> None:
    table = pa.table(
        {
            "at": pa.array([datetime(2026, 1, 1, tzinfo=UTC)], pa.timestamp("us", tz="UTC")),
            "raw": pa.array([b"\x00\x01"], pa.binary()),
            "n": pa.array([1], pa.int64()),
            "x": pa.array([1.5], pa.float64()),
            "s": pa.array(["a"], pa.string()),
            "odd": pa.array(["a"], pa.string()),
            "wrong": pa.array([b"\x00"], pa.binary()),
        }
    )
    props = [
        {"name": "at", "logicalType": "timestamp", "physicalType": "timestamp_tz"},
        {"name": "raw", "physicalType": "bytes"},
        {"name": "n", "logicalType": "integer", "physicalType": "int64"},
        {"name": "x", "logicalType": "number", "physicalType": "float64"},
        {"name": "s", "logicalType": "string", "physicalType": "text"},
        {"name": "odd", "logicalType": "string", "physicalType": "frobnicated_text"},
        {"name": "wrong", "physicalType": "int64"},
    ]
    run = run_doc(tmp_path, contract_doc([{"name": "t", "properties": props}]), {"t": table})
    for name in ("at", "raw", "n", "x", "s"):
        assert check(run, f"t.{name}.schema.type").status.value == "passed", check(run, f"t.{name}.schema.type")
    odd = check(run, "t.odd.schema.type")
    assert odd.status.value == "warning"
    assert "'frobnicated_text' is not a type name known on duckdb" in odd.message
    wrong = check(run, "t.wrong.schema.type")
    assert wrong.status.value == "failed" and "physicalType int64 declared, stored as BLOB" in wrong.message


def _ndjson_run(tmp_path, lines: list[str], props: list[dict]) -> object:
    (tmp_path / "items.ndjson").write_text("\n".join(lines) + "\n", encoding="utf-8")
    doc = contract_doc([{"name": "items", "properties": props}], path="items.ndjson", fmt="ndjson")
    return run_doc(tmp_path, doc)


def test_json_date_like_text_inside_arrays_of_objects_is_a_string(tmp_path) -> None:
    lines = [f'{{"arr": [{{"d": "2021-02-{day:02d}"}}, {{"d": null}}]}}' for day in range(1, 17)]
    props = [{"name": "arr", "logicalType": "array",
              "items": {"logicalType": "object", "properties": [{"name": "d", "logicalType": "string"}]}}]  # fmt: skip
    run = _ndjson_run(tmp_path, lines, props)
    result = check(run, "items.arr[].d.schema.type")
    assert result.status.value == "passed", result.message
    assert result.observed == 0 and "read as DATE" in result.message
    assert run.result.value == "passed"


def test_json_arrays_empty_in_every_row(tmp_path) -> None:
    lines = [f'{{"id": {i}, "tags": []}}' for i in range(50)]
    props = [{"name": "id", "logicalType": "integer"},
             {"name": "tags", "logicalType": "array", "items": {"logicalType": "string"}}]  # fmt: skip
    run = _ndjson_run(tmp_path, lines, props)
    assert check(run, "items.tags[].schema.type").status.value == "passed"
    assert run.result.value == "passed"


def test_json_items_that_contradict_the_contract_are_counted(tmp_path) -> None:
    lines = ['{"codes": [1, "x", null]}', '{"codes": [[2]]}', '{"codes": null}']
    props = [{"name": "codes", "logicalType": "array", "items": {"logicalType": "integer"}}]
    result = check(_ndjson_run(tmp_path, lines, props), "items.codes[].schema.type")
    assert result.status.value == "failed"
    assert result.observed == 2  # "x" and [2]
