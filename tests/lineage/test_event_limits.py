"""Hostile events are 400s naming the field and the limit, and store nothing (issue 19).

Times outside what a datetime can hold, counts a 64-bit column cannot keep (or that are negative),
JSON nested beyond the reader's limit: refused by the receiver, never acknowledged and then
failing their derivation, never a 500.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from test_receiver_support import OPERATOR, World, counts, ds, run_event

from meshplane.lineage import InvalidEventError, check_event, parse_event
from meshplane.lineage.facets import MAX_STATISTIC
from meshplane.service import lineage as service

PROBLEM = "application/problem+json"
TIME_LIMIT = "0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z"


def refusal(body: Any) -> tuple[str, str]:
    """The (field, reason) both `check_event` and `parse_event` refuse `body` with (they must agree)."""
    found = []
    for read in (check_event, parse_event):
        with pytest.raises(InvalidEventError) as caught:
            read(body)
        found.append((caught.value.path, caught.value.reason))
    assert found[0] == found[1]
    return found[0]


@pytest.mark.parametrize("at", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"])
def test_a_time_outside_the_representable_range_names_the_field_and_the_range(at: str) -> None:
    field, reason = refusal(run_event(at=at))
    assert field == "$.eventTime"
    assert at in reason and TIME_LIMIT in reason


@pytest.mark.parametrize("at", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "9999-12-31T09:59:59-14:00"])
def test_the_edges_of_the_range_are_accepted(at: str) -> None:
    assert check_event(run_event(at=at)).event_time is not None


def stats_event(where: str, key: str, value: Any) -> dict[str, Any]:
    dataset = ds("file", "/lake/t", output=where == "outputs")
    group = "outputFacets" if where == "outputs" else "inputFacets"
    facet = "outputStatistics" if where == "outputs" else "inputStatistics"
    dataset[group] = {facet: {key: value}}
    return run_event(**{where: [dataset]})


@pytest.mark.parametrize("key", ["rowCount", "size", "fileCount"])
@pytest.mark.parametrize("where", ["inputs", "outputs"])
@pytest.mark.parametrize("value", [-1, 2**63, 2**64 - 1, 1e20])
def test_a_count_that_cannot_be_kept_is_refused_naming_the_field_and_the_range(
    where: str, key: str, value: Any
) -> None:
    field, reason = refusal(stats_event(where, key, value))
    facet = "outputFacets.outputStatistics" if where == "outputs" else "inputFacets.inputStatistics"
    assert field == f"$.{where}[0].{facet}.{key}"
    assert f"from 0 to {MAX_STATISTIC}" in reason


def test_a_count_beyond_64_bits_in_text_is_refused_naming_the_field() -> None:
    text = json.dumps(stats_event("outputs", "rowCount", 1)).replace('"rowCount": 1', f'"rowCount": {2**70}')
    field, reason = refusal(text)
    assert field == "$.outputs[0].outputFacets.outputStatistics.rowCount"
    assert "beyond 64 bits" in reason


def test_counts_at_the_limit_and_integral_floats_are_kept() -> None:
    event = parse_event(stats_event("outputs", "rowCount", MAX_STATISTIC))
    assert event.outputs[0].statistics is not None and event.outputs[0].statistics.row_count == MAX_STATISTIC
    event = parse_event(stats_event("inputs", "size", 5.0))
    stats = event.inputs[0].statistics
    assert stats is not None and stats.bytes == 5 and isinstance(stats.bytes, int)


@pytest.mark.parametrize(
    "text", ["[" * 100_000 + "]" * 100_000, '{"eventTime": ' + "[" * 100_000 + "]" * 100_000 + "}"]
)
def test_json_nested_beyond_the_limit_is_refused_naming_the_limit(text: str) -> None:
    field, reason = refusal(text)
    assert field == "$" and "nested deeper than 1024 levels" in reason


# --- through the API: 400 problem+json, nothing stored -----------------------------------------------------


def test_the_api_answers_400_naming_the_field_and_stores_nothing(client: TestClient, world: World) -> None:
    bodies = [
        json.dumps(run_event(at="9999-12-31T23:59:59-14:00")),
        json.dumps(run_event(at="0001-01-01T00:00:00+14:00")),
        json.dumps(stats_event("outputs", "rowCount", -1)),
        json.dumps(stats_event("inputs", "fileCount", 2**63)),
        json.dumps(stats_event("outputs", "size", 1)).replace('"size": 1', f'"size": {2**70}'),
        "[" * 100_000 + "]" * 100_000,
    ]
    headers = {**world.headers(), "Content-Type": "application/json"}
    for body in bodies:
        answer = client.post("/api/v1/lineage", content=body, headers=headers)
        assert answer.status_code == 400, (body[:80], answer.text)
        assert answer.headers["content-type"] == PROBLEM
        assert answer.json()["errors"][0]["field"].startswith("$"), answer.text
    batch = client.post("/api/v1/lineage/batch", content="[" + ",".join(bodies[:-1]) + "]", headers=headers)
    assert batch.status_code == 400, batch.text  # none of the events is valid
    assert [e["field"] for e in batch.json()["errors"]] == [
        "0.$.eventTime",
        "1.$.eventTime",
        "2.$.outputs[0].outputFacets.outputStatistics.rowCount",
        "3.$.inputs[0].inputFacets.inputStatistics.fileCount",
        "4.$.outputs[0].outputFacets.outputStatistics.size",
    ]
    deep = client.post("/api/v1/lineage/batch", content="[" * 100_000 + "]" * 100_000, headers=headers)
    assert deep.status_code == 400 and "1024" in deep.text
    assert counts(world)["events"] == 0


def test_events_at_the_edges_of_the_ranges_are_stored_and_derived(world: World) -> None:
    edges = [
        run_event(at="9999-12-31T23:59:59.999999Z", outputs=[ds("file", "/lake/a", rows=MAX_STATISTIC, output=True)]),
        run_event(at="0001-01-01T00:00:00Z", inputs=[ds("file", "/lake/b", rows=0, size=MAX_STATISTIC)]),
    ]
    with world.registry() as registry:
        outcome = service.receive_batch(registry, json.dumps(edges), OPERATOR)
        assert outcome.count(service.IngestStatus.STORED) == 2, outcome.to_dict()
        service.derive_pending(registry)
        status = service.lineage_status(registry)
    assert status["derivation"]["failed"] == 0, status["derivation"]["failures"]
    assert status["counts"]["runs"] == 2 and status["counts"]["datasets"] == 2
