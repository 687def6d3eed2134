"""The OpenLineage receiver over HTTP (in-process ASGI): one event, batches, errors, gzip, tokens, example events."""

from __future__ import annotations

import copy
import gzip
import json
import re
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from lineage_support import example_events, require_standards
from test_receiver_support import PRODUCER, World, counts, ds, run_event

from meshplane.api.security import OWNER_EXTENSION
from meshplane.registry import lineage as store
from meshplane.service import lineage as service

PROBLEM = "application/problem+json"
JSON = "application/json"


def stored_bodies(world: World) -> list[dict[str, Any]]:
    with world.registry() as registry, registry.read() as session:
        return [json.loads(b) for b in session.execute(sa.select(store.StoredEvent.body)).scalars()]


# --- one event -----------------------------------------------------------------------------------------


def test_an_event_is_stored_once_and_a_resent_one_is_a_duplicate(client: TestClient, world: World) -> None:
    event = run_event(inputs=[ds("file", world.path("retail.sales/orders"), rows=10)])
    first = client.post("/api/v1/lineage", json=event, headers=world.headers("maintainer:marketing"))
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "stored" and first.json()["kind"] == "RunEvent"
    # the same event, keys in another order and pretty-printed: the same fingerprint
    again = client.post(
        "/api/v1/lineage",
        content=json.dumps(dict(reversed(list(event.items()))), indent=2),
        headers={**world.headers("maintainer:marketing"), "Content-Type": "application/json"},
    )
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert again.json()["fingerprint"] == first.json()["fingerprint"]
    assert counts(world)["events"] == 1 and counts(world)["runs"] == 1


def test_a_lone_surrogate_is_a_400_not_a_500(client: TestClient, world: World) -> None:
    event = run_event()
    event["job"]["name"] = "orders\ud800load"  # valid JSON escape, but no Unicode text: it cannot be stored
    answer = client.post(
        "/api/v1/lineage", content=json.dumps(event), headers={**world.headers(), "Content-Type": "application/json"}
    )
    assert answer.status_code == 400, answer.text
    assert "lone surrogate" in answer.json()["errors"][0]["reason"]
    batch = client.post(
        "/api/v1/lineage/batch",
        content=json.dumps([event, run_event()]),
        headers={**world.headers(), "Content-Type": "application/json"},
    )
    assert batch.status_code == 200 and batch.json()["summary"]["stored"] == 1
    assert counts(world)["events"] == 1


def test_a_malformed_event_is_a_400_naming_the_field_and_stores_nothing(client: TestClient, world: World) -> None:
    event = run_event()
    event["run"]["runId"] = "run-42"
    answer = client.post("/api/v1/lineage", json=event, headers=world.headers())
    assert answer.status_code == 400
    assert answer.headers["content-type"] == PROBLEM
    body = answer.json()
    assert body["type"].endswith("invalid-event")
    assert body["errors"] == [{"in": "body", "field": "$.run.runId", "reason": "not a UUID: 'run-42'"}]
    missing = run_event()
    del missing["job"]["namespace"]
    body = client.post("/api/v1/lineage", json=missing, headers=world.headers()).json()
    assert body["errors"][0] == {"in": "body", "field": "$.job.namespace", "reason": "required field is missing"}
    for text in ("not json", "[1, 2]", "{}"):
        answer = client.post("/api/v1/lineage", content=text, headers={**world.headers(), "Content-Type": JSON})
        assert answer.status_code == 400 and answer.json()["errors"][0]["field"] == "$", text
    assert counts(world)["events"] == 0


def test_dataset_and_job_events_and_spec_1_events_are_received(client: TestClient, world: World) -> None:
    dataset_event = {
        "eventTime": "2026-11-20T10:00:00Z",
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
        "dataset": ds("file", world.path("retail.sales/orders"), schema=[("order_id", "VARCHAR")]),
    }
    job_event = {
        "eventTime": "2026-11-20T10:00:00Z",
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent",
        "job": {"namespace": "airflow-finance", "name": "ledger.post_entries"},
        "inputs": [ds("file", world.path("retail.sales/orders"))],
        "outputs": [ds("file", world.path("finance.ledger/ledger_entries"))],
    }
    spec_1 = run_event(event_type="START")
    spec_1["schemaURL"] = "https://openlineage.io/spec/1-0-5/OpenLineage.json#/definitions/RunEvent"
    kinds = []
    for event in (dataset_event, job_event, spec_1):
        answer = client.post("/api/v1/lineage", json=event, headers=world.headers())
        assert answer.status_code == 201, answer.text
        kinds.append(answer.json()["kind"])
    assert kinds == ["DatasetEvent", "JobEvent", "RunEvent"]
    assert counts(world)["events"] == 3


def test_unknown_facets_are_kept_verbatim(client: TestClient, world: World) -> None:
    custom = {"_producer": PRODUCER, "_schemaURL": "https://example.org/Custom.json", "nested": {"a": [1, 2.5, None]}}
    event = run_event(run_facets={"acme_costs": custom}, outputs=[{**ds("s3://b", "k"), "facets": {"acme": {"x": 1}}}])
    assert client.post("/api/v1/lineage", json=event, headers=world.headers()).status_code == 201
    (body,) = stored_bodies(world)
    assert body["run"]["facets"]["acme_costs"] == custom
    assert body["outputs"][0]["facets"]["acme"] == {"x": 1}


def test_gzip_bodies_are_received(client: TestClient, world: World) -> None:
    events = [run_event(), run_event()]
    one = client.post(
        "/api/v1/lineage",
        content=gzip.compress(json.dumps(events[0]).encode()),
        headers={**world.headers(), "Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert one.status_code == 201, one.text
    batch = client.post(
        "/api/v1/lineage/batch",
        content=gzip.compress(json.dumps(events).encode()),
        headers={**world.headers(), "Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert batch.status_code == 200, batch.text
    summary = batch.json()["summary"]
    assert {k: summary[k] for k in ("received", "successful", "stored", "duplicates")} == {
        "received": 2, "successful": 2, "stored": 1, "duplicates": 1,
    }  # fmt: skip
    assert counts(world)["events"] == 2


@pytest.mark.parametrize(("who", "status"), [(None, 401), ("reader", 403), ("maintainer:finance", 201), ("admin", 201)])
def test_any_writer_may_send_events(client: TestClient, world: World, who: str | None, status: int) -> None:
    headers = world.headers(who) if who else {}
    answer = client.post("/api/v1/lineage", json=run_event(job="airflow-retail/orders.load"), headers=headers)
    assert answer.status_code == status, answer.text
    bad = client.post("/api/v1/lineage", json=run_event(), headers={"Authorization": "Bearer mp_abcdefgh_" + "x" * 43})
    assert bad.status_code == 401


def test_the_sender_is_recorded_and_binds_the_attribution(client: TestClient, world: World) -> None:
    """A maintainer's event is its own domain's, whatever its job says (tests/lineage/test_senders.py)."""
    client.post(
        "/api/v1/lineage", json=run_event(job="airflow-retail/orders.load"), headers=world.headers("maintainer:finance")
    )
    with world.registry() as registry:
        service.derive_pending(registry)
        with registry.read() as session:
            event = session.execute(sa.select(store.StoredEvent)).scalar_one()
            run = session.execute(sa.select(store.LineageRun)).scalar_one()
    assert "maintainer of finance" in event.received_by
    assert (event.sender_role, event.sender_domain) == ("maintainer", "finance")
    assert (run.domain, run.rule) == ("finance", "sender")
    assert run.mismatch is not None and "to retail" in run.mismatch


# --- batches -------------------------------------------------------------------------------------------------


def test_a_batch_stores_the_valid_items_and_names_the_malformed_ones(client: TestClient, world: World) -> None:
    bad = run_event()
    bad["eventTime"] = "yesterday"
    items = [run_event(), bad, run_event(event_type="FINISHED"), run_event()]
    answer = client.post("/api/v1/lineage/batch", json=items, headers=world.headers())
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "partial_success"
    assert body["summary"] == {
        "received": 4, "successful": 2, "failed": 2, "retriable": 0, "non_retriable": 2, "stored": 2, "duplicates": 0,
    }  # fmt: skip
    failed = {f["index"]: f for f in body["failed_events"]}
    assert set(failed) == {1, 2} and not failed[1]["retriable"]
    assert failed[1]["reason"] == "$.eventTime: not an ISO 8601 date-time: 'yesterday'"
    assert "'FINISHED' is not one of" in failed[2]["reason"]
    assert [r["status"] for r in body["results"]] == ["stored", "failed", "failed", "stored"]
    assert body["results"][1]["errors"] == [
        {"field": "$.eventTime", "reason": "not an ISO 8601 date-time: 'yesterday'"}
    ]
    assert counts(world)["events"] == 2
    again = client.post("/api/v1/lineage/batch", json=[items[0], items[0], run_event()], headers=world.headers())
    assert [r["status"] for r in again.json()["results"]] == ["duplicate", "duplicate", "stored"]
    assert again.json()["status"] == "success"
    assert counts(world)["events"] == 3


def test_a_batch_of_only_malformed_events_is_a_400(client: TestClient, world: World) -> None:
    answer = client.post("/api/v1/lineage/batch", json=[{"eventTime": "x"}, {}], headers=world.headers())
    assert answer.status_code == 400 and answer.headers["content-type"] == PROBLEM
    body = answer.json()
    assert body["summary"]["failed"] == 2 and [f["index"] for f in body["failed_events"]] == [0, 1]
    assert body["errors"][0]["field"].startswith("0.$")
    for text in ('{"eventTime": "x"}', "nope"):
        not_array = client.post(
            "/api/v1/lineage/batch", content=text, headers={**world.headers(), "Content-Type": JSON}
        )
        assert not_array.status_code == 400 and not_array.json()["errors"][0]["field"] == "$"
    empty = client.post("/api/v1/lineage/batch", json=[], headers=world.headers())
    assert empty.status_code == 200 and empty.json()["summary"]["received"] == 0
    assert counts(world)["events"] == 0


def test_a_batch_larger_than_the_limit_is_refused(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "MAX_BATCH", 3)
    answer = client.post("/api/v1/lineage/batch", json=[run_event() for _ in range(4)], headers=world.headers())
    assert answer.status_code == 400 and "at most 3 events" in answer.json()["errors"][0]["reason"]


def test_the_receiver_is_documented_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/v1/lineage", "/api/v1/lineage/batch"):
        operation = paths[path]["post"]
        assert operation[OWNER_EXTENSION]["rule"] == "any-writer"
        assert "application/json" in operation["requestBody"]["content"]
        assert {"400", "401", "403", "413"} <= set(operation["responses"])
    for path in ("/lineage/movements", "/lineage/flags", "/lineage/products/{product_id}", "/lineage/status"):
        assert "get" in paths[f"/api/v1{path}"]


# --- every example event of the OpenLineage standard -----------------------------------------------------

_PLACEHOLDER = re.compile(r"^(\$\{json-unit\.[^}]*\}.*|\{\{.*\}\})$", re.DOTALL)


def _without_placeholders(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_placeholders(v) for k, v in value.items() if not _is_placeholder(v)}
    if isinstance(value, list):
        return [_without_placeholders(v) for v in value if not _is_placeholder(v)]
    return value


def _is_placeholder(value: Any) -> bool:
    return isinstance(value, str) and bool(_PLACEHOLDER.match(value))


def completed(document: dict[str, Any]) -> dict[str, Any]:
    """An integration-test matcher as its producer sends it: placeholders gone, dynamic fields filled in."""
    event = _without_placeholders(copy.deepcopy(document))
    event.setdefault("eventTime", "2026-11-20T10:00:00Z")
    event.setdefault("producer", PRODUCER)
    if "dataset" not in event:
        if "run" in event or "eventType" in event or "job" not in event:
            event.setdefault("eventType", "COMPLETE")
            event.setdefault("run", {})["runId"] = event.get("run", {}).get("runId") or str(uuid.uuid4())
        job = event.setdefault("job", {})
        job.setdefault("namespace", "matchers")
        job.setdefault("name", "matcher")
    for key in ("inputs", "outputs"):
        for dataset in event.get(key) or []:
            dataset.setdefault("namespace", "unknown")
    return event


EXAMPLES = example_events()


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.id for e in EXAMPLES])
def test_every_example_event_is_received(client: TestClient, world: World, example: Any) -> None:
    """Complete examples as they are; integration-test matchers completed the way a producer sends them.

    The receiver itself is strict (docs/lineage.md, "Receiver"): a matcher sent as it is, with its
    fields left out, is a 400 naming the first missing field.
    """
    require_standards()
    if example.complete:
        answer = client.post("/api/v1/lineage", json=example.document, headers=world.headers())
        assert answer.status_code == 201, answer.text
        return
    raw = client.post("/api/v1/lineage", json=example.document, headers=world.headers())
    if raw.status_code == 400:
        assert raw.json()["errors"][0]["field"].startswith("$")
    else:
        assert raw.status_code == 201, raw.text  # a few matchers happen to be complete events
        return
    answer = client.post("/api/v1/lineage", json=completed(example.document), headers=world.headers())
    assert answer.status_code == 201, answer.text


def test_every_example_event_is_received_in_one_batch(client: TestClient, world: World) -> None:
    require_standards()
    items = [e.document if e.complete else completed(e.document) for e in EXAMPLES]
    answer = client.post("/api/v1/lineage/batch", json=items, headers=world.headers())
    assert answer.status_code == 200, answer.text
    assert answer.json()["summary"]["failed"] == 0
    assert counts(world)["events"] == len({json.dumps(i, sort_keys=True) for i in items})
