"""Parsing and validating OpenLineage events: every upstream example, malformed events, fingerprints."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from lineage_support import ENVELOPES, EXAMPLES, ExampleEvent, example_events, load, require_standards, run_event

from meshplane.canonical import canonical_bytes
from meshplane.lineage import (
    DatasetIdentity,
    DatasetRole,
    EventKind,
    EventType,
    InvalidEventError,
    check_batch,
    check_event,
    event_fingerprint,
    parse_batch,
    parse_event,
    parse_event_time,
    spec_version_of,
)

EVENTS = example_events()


@pytest.fixture(autouse=True)
def _standards() -> None:
    require_standards()


def test_the_examples_are_there() -> None:
    assert len(EVENTS) >= 30
    assert {e.file.split("/")[0] for e in EVENTS} >= {
        "airflow",
        "complete",
        "dbt",
        "flink",
        "generated",
        "hive",
        "spark",
    }


@pytest.mark.parametrize("example", EVENTS, ids=lambda e: e.id)
def test_every_example_event_parses(example: ExampleEvent) -> None:
    event = parse_event(example.document, partial=not example.complete)
    assert event.kind in EventKind
    assert len(event.fingerprint) == 64
    assert event.to_dict() == example.document  # kept verbatim, unknown facets included
    for dataset in event.datasets:
        assert isinstance(dataset.identity, DatasetIdentity)


STRICTLY_VALID_MATCHERS = {"dbt/bigquery-tests-data-quality-assertions.json"}
"""Matchers whose placeholders sit only inside custom facets: valid events as they are."""


@pytest.mark.parametrize("example", [e for e in EVENTS if not e.complete], ids=lambda e: e.id)
def test_partial_examples_are_refused_by_the_strict_parse(example: ExampleEvent) -> None:
    """Matchers lack required fields (eventTime, producer, runId...): the receiver must refuse them."""
    if example.file in STRICTLY_VALID_MATCHERS:
        strict, partial = parse_event(example.document), parse_event(example.document, partial=True)
        assert (strict.kind, strict.run_id, strict.fingerprint) == (partial.kind, partial.run_id, partial.fingerprint)
        return
    with pytest.raises(InvalidEventError) as caught:
        parse_event(example.document)
    assert caught.value.path.startswith("$")


def test_strict_parse_of_a_matcher_names_every_missing_or_placeholder_field() -> None:
    with pytest.raises(InvalidEventError) as caught:
        parse_event(load("flink/kafka-streaming-start.json"))
    assert [str(i) for i in caught.value.issues] == [
        "$.eventTime: not an ISO 8601 date-time: '${json-unit.any-string}'",
        "$.producer: required field is missing",
        "$.run.runId: not a UUID: '${json-unit.any-string}'",
    ]


def test_near_complete_spark_example_lacks_only_the_event_producer_and_schema_url() -> None:
    document = load("complete/spark-serde-run-start.json")
    with pytest.raises(InvalidEventError) as caught:
        parse_event(document)
    assert [str(i) for i in caught.value.issues] == ["$.producer: required field is missing"]
    document["producer"] = "https://github.com/OpenLineage/OpenLineage/tree/1.0.0/integration/spark"
    event = parse_event(document)  # facets without _producer/_schemaURL are tolerated
    assert event.spec_version is None  # no schemaURL: tolerated, version unknown
    assert event.outputs[0].statistics is not None
    assert (event.outputs[0].statistics.row_count, event.outputs[0].statistics.bytes) == (10, 20)
    assert event.outputs[0].statistics.file_count == 5
    assert event.job_facets["sql"]["query"] == "SELECT * FROM test"


def test_the_http_envelope_carries_no_event_but_describes_the_client_request() -> None:
    """generated/http-request-envelope.json records what the client sent around the two generated events."""
    (file,) = ENVELOPES
    envelope = json.loads((EXAMPLES / file).read_text(encoding="utf-8"))
    assert not any(e.file == file for e in EVENTS)
    assert "body" not in envelope and "event" not in envelope
    assert (envelope["method"], envelope["path"]) == ("POST", "/api/v1/lineage")
    assert envelope["headers"]["Content-Type"] == "application/json"
    assert envelope["headers"]["Authorization"].startswith("Bearer ")
    for sibling in ("openlineage-python-1.54.0-run-start.json", "openlineage-python-1.54.0-run-complete.json"):
        assert parse_event((EXAMPLES / "generated" / sibling).read_bytes()).kind is EventKind.RUN


# --- what is read from the examples -------------------------------------------------------------


def test_run_event_fields_of_the_full_example() -> None:
    event = parse_event(load("complete/run-complete-full.json"))
    assert event.kind is EventKind.RUN and event.event_type is EventType.COMPLETE and event.is_terminal
    assert event.event_time == datetime(2020, 12, 28, 19, 51, 1, 641000, tzinfo=UTC)
    assert event.run_id == "ea041791-68bc-4ae1-bd89-4c8106a157e4"
    assert (event.job_namespace, event.job_name) == ("my-scheduler-namespace", "myjob.mytask")
    assert event.producer == "https://github.com/OpenLineage/OpenLineage/blob/v1-0-0/client"
    assert event.schema_url == "http://test.schema.url" and event.spec_version is None
    assert event.parent is not None
    assert event.parent.run_id == "3f5e83fa-3480-44ff-99c5-ff943904e5e8"
    assert (event.parent.job_namespace, event.parent.job_name) == ("my-scheduler-namespace", "myjob.mytask")
    (output,) = event.outputs
    assert output.role is DatasetRole.OUTPUT
    assert output.statistics is not None and (output.statistics.row_count, output.statistics.bytes) == (2000, 2097152)
    assert output.schema is not None and [(f.name, f.type) for f in output.schema] == [("column1", "VARCHAR")]
    (source,) = event.inputs
    assert source.input_facets["dataQualityAssertions"]["assertions"][1]["column"] == "id"  # kept verbatim
    assert "nominalTime" in event.run_facets and "documentation" in event.job_facets


@pytest.mark.parametrize(
    ("file", "kind", "version"),
    [
        ("complete/run-start-minimal.json", EventKind.RUN, "1.0.5"),
        ("complete/dataset-event.json", EventKind.DATASET, "2.0.0"),
        ("complete/job-event.json", EventKind.JOB, "2.0.0"),
        ("generated/openlineage-python-1.54.0-run-complete.json", EventKind.RUN, "2.0.2"),
    ],
)
def test_kinds_and_spec_versions(file: str, kind: EventKind, version: str) -> None:
    event = parse_event(load(file))
    assert (event.kind, event.spec_version, event.spec_major) == (kind, version, int(version[0]))
    assert event.event_time is not None and event.event_time.tzinfo is not None


def test_dataset_and_job_events() -> None:
    dataset_event = parse_event(load("complete/dataset-event.json"))
    assert dataset_event.run_id is None and dataset_event.job_name is None and not dataset_event.inputs
    assert dataset_event.dataset is not None and dataset_event.dataset.role is DatasetRole.STATIC
    assert [f.name for f in dataset_event.dataset.schema or ()] == ["a", "b"]
    assert dataset_event.event_time == datetime(2021, 11, 3, 10, 53, 52, 427343, tzinfo=UTC)  # no offset: UTC
    job_event = parse_event(load("complete/job-event.json"))
    assert job_event.run_id is None and job_event.event_type is None and job_event.dataset is None
    assert [d.name for d in job_event.inputs] == ["dataset_a"] and [d.name for d in job_event.outputs] == ["dataset_b"]


def test_generated_client_event_column_lineage_and_statistics() -> None:
    event = parse_event(load("generated/openlineage-python-1.54.0-run-complete.json"))
    (output,) = event.outputs
    assert output.identity == DatasetIdentity("postgres://analytics-db", "analytics.marketing.orders_by_customer")
    assert output.data_source is not None and output.data_source.uri == "postgres://analytics-db:5432"
    lineage = output.column_lineage
    assert lineage is not None
    (source,) = lineage.inputs_of("total_amount")
    assert (source.namespace, source.name, source.field) == ("s3://sales-raw", "orders/2024", "amount")
    assert source.identity == DatasetIdentity("s3://sales-raw", "orders")  # the 2024 folder is a partition
    assert [(t.type, t.subtype, t.description) for t in source.transformations] == [
        ("DIRECT", "AGGREGATION", "sum(amount)")
    ]
    assert set(lineage.as_dict()) == {"customer_id", "total_amount"}
    assert output.statistics is not None and (output.statistics.row_count, output.statistics.bytes) == (1234, 56789)
    assert "tags" in event.run_facets  # a facet meshplane does not interpret, kept


def test_matcher_facets_column_lineage_symlinks_ownership_lifecycle_job_type() -> None:
    hive = parse_event(load("hive/ctas-joins-column-lineage-complete.json"), partial=True)
    lineage = hive.outputs[0].column_lineage
    assert lineage is not None
    assert [(f.name, f.field) for f in lineage.inputs_of("name")] == [("test.t2", "name")]
    assert {t.type for f in lineage.dataset for t in f.transformations} == {"INDIRECT"}
    assert [s.type for s in hive.outputs[0].symlinks] == ["LOCATION"]

    spark = parse_event(load("spark/hive-insert-complete-catalog-symlinks.json"), partial=True)
    (out,) = spark.outputs
    assert out.identity == DatasetIdentity("file", "/tmp/warehouse/test")
    assert out.identities[1] == DatasetIdentity("file:///tmp/warehouse", "default.test")
    assert out.data_source is not None and out.data_source.name == "file"
    assert "catalog" in out.facets and "spark_unknown" in spark.run_facets  # not interpreted, kept

    airflow = parse_event(load("airflow/postgres-sql-column-lineage.json", 0), partial=True)
    assert [o.name for o in airflow.job_ownership] == ["datascience"]
    assert airflow.run_facets["airflow_runArgs"] == {"externalTrigger": False}
    airflow_done = parse_event(load("airflow/postgres-sql-column-lineage.json", 3), partial=True)
    assert airflow_done.kind is EventKind.RUN  # partial: an eventType makes a RunEvent although run is left out
    assert airflow_done.outputs[0].column_lineage is not None

    rename = parse_event(load("spark/alter-table-rename-lifecycle.json"), partial=True)
    lifecycle = rename.outputs[0].lifecycle
    assert lifecycle is not None
    assert (lifecycle.state, lifecycle.previous_name) == ("RENAME", "/tmp/alter_test/alter_table_test")

    flink = parse_event(load("flink/kafka-streaming-start.json"), partial=True)
    assert flink.job_type is not None and flink.job_type.processing_type == "STREAMING"
    assert flink.event_time is None and flink.run_id is None  # placeholders dropped in partial mode

    rdd = parse_event(load("spark/rdd-input-output-statistics.json"), partial=True)
    assert rdd.inputs[0].statistics is not None and rdd.inputs[0].statistics.row_count == 4
    assert rdd.inputs[0].statistics.bytes is None  # "${json-unit.any-number}" is a placeholder


def test_dbt_parent_and_output_statistics() -> None:
    test_run = parse_event(load("dbt/bigquery-tests-data-quality-assertions.json", 0), partial=True)
    assert test_run.parent is not None and (test_run.parent.job_namespace, test_run.parent.job_name) == (
        "dbt",
        "dbt-job-name",
    )
    model = parse_event(load("dbt/bigquery-model-start-complete-output-statistics.json", 1), partial=True)
    assert model.outputs[0].statistics is not None and model.outputs[0].statistics.row_count == 1
    assert model.inputs[0].schema is not None  # "description": null is read as absent
    assert not model.warnings


def test_nested_schema_fields() -> None:
    nested = {
        "_producer": "https://example.org/p",
        "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet",
        "fields": [
            {"name": "id", "type": "BIGINT"},
            {"name": "address", "type": "STRUCT", "fields": [{"name": "city", "type": "VARCHAR"}]},
        ],
    }
    event = parse_event(run_event(outputs=[{"namespace": "file", "name": "/x", "facets": {"schema": nested}}]))
    schema = event.outputs[0].schema
    assert schema is not None
    assert [path for f in schema for path, _ in f.walk()] == ["id", "address", "address.city"]


# --- malformed events ---------------------------------------------------------------------------


def _without(path: tuple[Any, ...]) -> dict[str, Any]:
    event = run_event()
    node: Any = event
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return event


MALFORMED: list[tuple[str, Any, str, str]] = [
    ("not an object", [run_event()], "$", "an event must be a JSON object, got array"),
    ("not JSON", b"{'eventTime': 1}", "$", "not valid JSON"),
    ("NaN is not JSON", b'{"eventTime": NaN}', "$", "not valid JSON"),
    ("missing eventTime", _without(("eventTime",)), "$.eventTime", "required field is missing"),
    ("bad eventTime", run_event(eventTime="yesterday"), "$.eventTime", "not an ISO 8601 date-time: 'yesterday'"),
    ("date without time", run_event(eventTime="2024-02-01"), "$.eventTime", "not an ISO 8601 date-time"),
    ("eventTime a number", run_event(eventTime=1706781600), "$.eventTime", "expected string, got integer"),
    ("missing producer", _without(("producer",)), "$.producer", "required field is missing"),
    ("missing run id", _without(("run", "runId")), "$.run.runId", "required field is missing"),
    ("run id not a UUID", run_event(run={"runId": "run-42"}), "$.run.runId", "not a UUID: 'run-42'"),
    ("run id a number", run_event(run={"runId": 42}), "$.run.runId", "expected string, got integer"),
    ("run not an object", run_event(run="r1"), "$.run", "expected object, got string"),
    ("missing job name", _without(("job", "name")), "$.job.name", "required field is missing"),
    ("job namespace a list", run_event(job={"namespace": [], "name": "x"}), "$.job.namespace", "expected string"),
    ("unknown eventType", run_event(eventType="FINISHED"), "$.eventType", "'FINISHED' is not one of START, RUNNING"),
    ("inputs not a list", run_event(inputs={"a": 1}), "$.inputs", "expected array, got object"),
    ("input without namespace", run_event(inputs=[{"name": "t"}]), "$.inputs[0].namespace", "required field"),
    (
        "facet not an object",
        run_event(run={"runId": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "facets": {"parent": "p"}}),
        "$.run.facets.parent",
        "expected object, got string",
    ),
    ("no kind", {"eventTime": "2024-01-01T00:00:00Z", "producer": "p"}, "$", "not an OpenLineage event"),
    ("run without job", _without(("job",)), "$.job", "required field is missing"),
    (
        "dataset and job",
        {
            "eventTime": "2024-01-01T00:00:00Z",
            "producer": "p",
            "dataset": {"namespace": "n", "name": "d"},
            "job": {"namespace": "n", "name": "j"},
        },
        "$",
        "ambiguous",
    ),
    (
        "dataset without name",
        {"eventTime": "2024-01-01T00:00:00Z", "producer": "p", "dataset": {"namespace": "n"}},
        "$.dataset.name",
        "required field is missing",
    ),
]


@pytest.mark.parametrize(("case", "document", "path", "reason"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_events_name_the_field_and_the_reason(case: str, document: Any, path: str, reason: str) -> None:
    with pytest.raises(InvalidEventError) as caught:
        parse_event(document)
    error = caught.value
    assert error.path == path, case
    assert reason in error.reason, (case, error.reason)
    assert str(error).startswith("invalid OpenLineage event: ") and path in str(error)
    assert error.exit_code == 2  # a MeshplaneError: the user's input is wrong


def test_all_problems_are_reported_at_once() -> None:
    document = _without(("eventTime",))
    del document["producer"]
    document["inputs"] = "x"
    with pytest.raises(InvalidEventError) as caught:
        parse_event(document)
    assert {i.path for i in caught.value.issues} == {"$.eventTime", "$.producer", "$.inputs"}


def test_a_malformed_standard_facet_is_a_warning_not_a_rejection() -> None:
    outputs = [{"namespace": "file", "name": "/x", "outputFacets": {"outputStatistics": {"rowCount": "many"}}}]
    event = parse_event(run_event(outputs=outputs))
    assert event.outputs[0].statistics is None
    assert event.outputs[0].output_facets["outputStatistics"] == {"rowCount": "many"}  # kept verbatim
    (warning,) = event.warnings
    assert warning.path == "$.outputs[0].outputFacets.outputStatistics.rowCount"
    assert "expected integer, got string" in warning.reason


def test_unknown_facets_are_kept_verbatim() -> None:
    custom = {
        "_producer": "https://example.org/p",
        "_schemaURL": "https://example.org/s.json",
        "deep": {"a": [1, {"b": None}]},
    }
    event = parse_event(run_event(outputs=[{"namespace": "file", "name": "/x", "facets": {"acme_quality": custom}}]))
    assert event.outputs[0].facets["acme_quality"]["deep"]["a"][1] == {"b": None}
    assert json.loads(event.canonical_json)["outputs"][0]["facets"]["acme_quality"] == custom


def test_a_job_event_with_an_event_type_is_a_job_event_with_a_warning() -> None:
    document = run_event()
    del document["run"]
    event = parse_event(document)
    assert event.kind is EventKind.JOB and event.event_type is None
    assert [w.path for w in event.warnings] == ["$.eventType"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-02-01T10:00:00Z", datetime(2024, 2, 1, 10, tzinfo=UTC)),
        ("2024-02-01T12:00:00+02:00", datetime(2024, 2, 1, 10, tzinfo=UTC)),
        ("2024-02-01T10:00:00.123456789Z", datetime(2024, 2, 1, 10, 0, 0, 123456, tzinfo=UTC)),
        ("2024-02-01 10:00", datetime(2024, 2, 1, 10, tzinfo=UTC)),
        ("2024-02-01", None),
        ("2024-13-01T10:00:00Z", None),
        ("soon", None),
    ],
)
def test_event_times(text: str, expected: datetime | None) -> None:
    assert parse_event_time(text) == expected


def test_spec_version_from_schema_url() -> None:
    assert spec_version_of("https://openlineage.io/spec/1-0-5/OpenLineage.json#/definitions/RunEvent") == "1.0.5"
    assert spec_version_of("https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent") == "2.0.2"
    assert spec_version_of("https://example.org/other.json") is None
    assert spec_version_of(None) is None


def test_run_ids_are_normalised() -> None:
    event = parse_event(run_event(run={"runId": "0190A1B2C3D47E5F8A9B0C1D2E3F4A5B"}))
    assert event.run_id == "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"


# --- fingerprints, immutability, batches --------------------------------------------------------


def _reversed_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _reversed_keys(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reversed_keys(v) for v in value]
    return value


def test_fingerprint_is_stable_across_key_order_and_formatting() -> None:
    document = load("generated/openlineage-python-1.54.0-run-complete.json")
    shuffled = _reversed_keys(document)
    assert list(shuffled) != list(document)
    fingerprints = {
        parse_event(document).fingerprint,
        parse_event(shuffled).fingerprint,
        parse_event(json.dumps(document, indent=4).encode()).fingerprint,
        parse_event(json.dumps(shuffled)).fingerprint,
        event_fingerprint(document),
    }
    assert len(fingerprints) == 1
    changed = copy.deepcopy(document)
    changed["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"] = 1235
    assert parse_event(changed).fingerprint not in fingerprints


def test_events_are_immutable() -> None:
    document = run_event()
    event = parse_event(document)
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.run_id = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        event.raw["eventType"] = "FAIL"  # type: ignore[index]
    with pytest.raises(TypeError):
        event.job_facets["x"] = 1  # type: ignore[index]
    copy_ = event.to_dict()
    copy_["eventType"] = "FAIL"
    assert event.raw["eventType"] == "COMPLETE" and event.to_dict() == document
    assert hash(event) == hash(parse_event(document)) and event == parse_event(document)


def test_batches_keep_every_good_event() -> None:
    good = run_event()
    results = parse_batch(json.dumps([good, {"eventTime": "x"}, load("complete/dataset-event.json")]).encode())
    assert [type(r).__name__ for r in results] == ["LineageEvent", "InvalidEventError", "LineageEvent"]
    error = results[1]
    assert isinstance(error, InvalidEventError) and error.index == 1 and "event 1: " in str(error)
    with pytest.raises(InvalidEventError, match="a batch must be a JSON array"):
        parse_batch(b'{"eventTime": "x"}')


# --- what orjson refuses or would change: a clear InvalidEventError (the receiver's 400) -------------


def _text_with(value_text: str) -> bytes:
    """A valid event whose output statistics hold ``value_text`` (raw JSON) as rowCount's sibling ``extra``."""
    document = run_event(outputs=[{"namespace": "file", "name": "/x", "facets": {"acme": {"extra": "@"}}}])
    return json.dumps(document).replace('"@"', value_text).encode()


REFUSED_TEXT: list[tuple[str, bytes, str, str]] = [
    ("integer beyond 64 bits", _text_with("18446744073709551616"), "$.outputs[0].facets.acme.extra", "beyond 64 bits"),
    ("negative beyond 64 bits", _text_with("-9223372036854775809"), "$.outputs[0].facets.acme.extra", "beyond 64 bits"),
    ("lone surrogate escape", _text_with('"a\\ud800"'), "$.outputs[0].facets.acme.extra", "lone surrogate"),
    ("number beyond floats", _text_with("1e400"), "$.outputs[0].facets.acme.extra", "not a JSON number"),
    ("nesting orjson cannot write", _text_with("[" * 300 + "]" * 300), "$.outputs[0].facets.acme.extra" + "[0]" * 249,
     "nested deeper than 254 levels"),
    ("nesting orjson cannot read", _text_with("[" * 2000 + "]" * 2000), "$", "nested deeper than 1024 levels"),
    ("NaN", _text_with("NaN"), "$", "not valid JSON"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "body", "path", "reason"), REFUSED_TEXT, ids=[r[0] for r in REFUSED_TEXT])
def test_what_orjson_refuses_is_an_invalid_event_naming_the_field(
    case: str, body: bytes, path: str, reason: str
) -> None:
    for read in (parse_event, check_event, event_fingerprint):
        with pytest.raises(InvalidEventError) as caught:
            read(body)
        assert (caught.value.path, reason in caught.value.reason) == (path, True), (case, str(caught.value))
    if path == "$":  # not JSON at all: a batch holding it is no JSON array either
        with pytest.raises(InvalidEventError, match=reason):
            check_batch(b"[" + body + b"]")
        return
    (result,) = check_batch(b"[" + body + b"]")
    assert isinstance(result, InvalidEventError) and result.path == path and result.index == 0


@pytest.mark.parametrize(
    ("value", "reason"), [(2**64, "beyond 64 bits"), (float("nan"), "not a JSON number"), ("\udc00", "lone surrogate")]
)
def test_a_mapping_with_what_json_cannot_carry_is_refused_naming_the_field(value: Any, reason: str) -> None:
    document = run_event()
    document["job"]["facets"] = {"acme": {"values": [1, value]}}
    with pytest.raises(InvalidEventError) as caught:
        parse_event(document)
    assert caught.value.path == "$.job.facets.acme.values[1]" and reason in caught.value.reason


def test_one_refused_item_spoils_nothing_else_in_a_batch() -> None:
    good = json.dumps(run_event()).encode()
    body = b"[" + b",".join([good, _text_with("2e400"), _text_with('"\\udfff"'), _text_with("20" * 10), good]) + b"]"
    results = check_batch(body)
    assert [type(r).__name__ for r in results] == ["ReceivedEvent", *["InvalidEventError"] * 3, "ReceivedEvent"]
    assert [r.reason.split(":")[0] for r in results if isinstance(r, InvalidEventError)] == [
        "inf is not a JSON number",
        "not valid Unicode text",
        "an integer beyond 64 bits (-2**63 to 2**64-1) is not supported",
    ]
    big_float = check_batch(b"[" + _text_with("1e+300") + b"," + _text_with("123456789012345678901.5") + b"]")
    assert all(not isinstance(r, InvalidEventError) for r in big_float)  # floats, not integers


def test_float_spellings_and_a_byte_order_mark_do_not_change_the_fingerprint() -> None:
    spellings = [_text_with(t) for t in ("1e-5", "0.00001", "1E-05", "10e-6", "0.000010")]
    fingerprints = {parse_event(body).fingerprint for body in spellings}
    fingerprints |= {check_event(body).fingerprint for body in spellings}
    fingerprints.add(check_event(b"\xef\xbb\xbf" + spellings[0]).fingerprint)
    fingerprints.add(event_fingerprint(json.loads(spellings[1])))
    assert len(fingerprints) == 1
    event = parse_event(spellings[0])
    assert '"extra":0.00001' in event.canonical_json
    assert event.fingerprint == hashlib.sha256(event.canonical_json.encode()).hexdigest()
    assert event.fingerprint == hashlib.sha256(canonical_bytes(event.to_dict())).hexdigest()
