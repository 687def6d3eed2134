"""Load: 10,000 events from 8 concurrent clients on loopback to `meshplane serve` — all stored, none lost or doubled.

Four clients are the real OpenLineage client (HTTP transport, one event per request), four post
batches of 50 to ``/api/v1/lineage/batch``. Every client also re-sends a tenth of its events.
2,000 runs of 5 events each (START, three RUNNING with partial figures, COMPLETE): the stored
figures must be the COMPLETE ones exactly. Bounded: 10,000 events, and a timeout.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from test_receiver_support import ServerProcess, World, build_world, counts, world_for

from meshplane.registry import lineage as store
from meshplane.service import movements

pytest.importorskip("openlineage.client")

from openlineage.client import OpenLineageClient, event_v2
from openlineage.client.facet_v2 import input_statistics_input_dataset, output_statistics_output_dataset
from openlineage.client.serde import Serde
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport

CLIENTS = 8
EVENTS = 10_000
PER_RUN = 5
BATCH = 50
RESEND = 0.1


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> World:
    folder = tmp_path_factory.mktemp("load")
    return build_world(folder, f"sqlite:///{folder / 'template.db'}")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path: Path, template: World) -> World:
    return world_for(request.param, request, tmp_path, template)


def _run_events(world: World, client: int, run: int) -> tuple[list[Any], int]:
    """The events of one run, and its final input row count."""
    run_id = f"0190a1b2-{client:04x}-7000-8000-{run:012x}"
    job = event_v2.Job(namespace="airflow-finance", name=f"ledger.post_entries.{client}")
    final = 1000 + client * 10_000 + run

    def inputs(rows: int | None) -> list[Any]:
        facets: dict[str, Any] = (
            {"inputStatistics": input_statistics_input_dataset.InputStatisticsInputDatasetFacet(rowCount=rows, size=rows * 8)}
            if rows is not None else {}
        )  # fmt: skip
        return [event_v2.InputDataset(namespace="file", name=world.path("retail.sales/orders"), inputFacets=facets)]

    def outputs(rows: int | None) -> list[Any]:
        facets: dict[str, Any] = (
            {"outputStatistics": output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(rowCount=rows)}
            if rows is not None else {}
        )  # fmt: skip
        name = world.path("finance.ledger/ledger_entries", "data", f"c{client}-r{run}.parquet")
        return [event_v2.OutputDataset(namespace="file", name=name, outputFacets=facets)]

    steps = [
        ("START", None),
        ("RUNNING", final // 4),
        ("RUNNING", final // 3),
        ("RUNNING", final // 2),
        ("COMPLETE", final),
    ]
    events = [
        event_v2.RunEvent(
            eventType=event_v2.RunState(state),
            eventTime=f"2026-11-20T{client:02d}:{run // 60 % 60:02d}:{run % 60:02d}.{i}Z",
            producer="https://example.org/load",
            run=event_v2.Run(runId=run_id),
            job=job,
            inputs=inputs(rows),
            outputs=outputs(rows),
        )
        for i, (state, rows) in enumerate(steps)
    ]
    return events, final


def _client_events(world: World, client: int) -> tuple[list[Any], int]:
    runs = EVENTS // CLIENTS // PER_RUN
    events: list[Any] = []
    total = 0
    for run in range(runs):
        run_events, final = _run_events(world, client, run)
        events += run_events
        total += final
    return events, total


def _single_sender(url: str, token: str, events: list[Any], errors: list[str]) -> None:
    config = HttpConfig(url=url, auth=ApiKeyTokenProvider({"apiKey": token}), timeout=60.0)
    client = OpenLineageClient(transport=HttpTransport(config))
    resend = events[:: int(1 / RESEND)]
    try:
        for event in [*events, *resend]:
            client.emit(event)
    except Exception as exc:
        errors.append(f"single: {exc}")
    finally:
        client.close()


def _batch_sender(url: str, token: str, events: list[Any], errors: list[str], outcome: dict[str, int]) -> None:
    documents = [json.loads(Serde.to_json(e)) for e in events]
    resend = documents[:: int(1 / RESEND)]
    items = documents + resend
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60.0) as http:
        for start in range(0, len(items), BATCH):
            answer = http.post("/api/v1/lineage/batch", json=items[start : start + BATCH])
            if answer.status_code != 200:
                errors.append(f"batch: {answer.status_code} {answer.text[:300]}")
                return
            summary = answer.json()["summary"]
            for key in ("stored", "duplicates", "failed"):
                outcome[key] = outcome.get(key, 0) + summary[key]


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_ten_thousand_events_from_eight_clients_are_stored_exactly_once(world: World) -> None:
    prepared = [_client_events(world, c) for c in range(CLIENTS)]
    expected_rows = sum(total for _, total in prepared)
    errors: list[str] = []
    outcomes: list[dict[str, int]] = [{} for _ in range(CLIENTS)]
    with ServerProcess(world.registry_url) as server:
        threads = []
        for client, (events, _) in enumerate(prepared):
            if client % 2 == 0:
                target, args = _single_sender, (server.url, world.tokens["maintainer:finance"], events, errors)
            else:
                target, args = _batch_sender, (server.url, world.tokens["admin"], events, errors, outcomes[client])  # type: ignore[assignment]
            threads.append(threading.Thread(target=target, args=args))
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(800)
        elapsed = time.perf_counter() - started
    assert not errors, errors[:3]
    sent = sum(len(events) + len(events[:: int(1 / RESEND)]) for events, _ in prepared)
    print(f"\nload: {sent} requests' events ({EVENTS} distinct) from {CLIENTS} clients in {elapsed:.1f} s")
    assert counts(world)["events"] == EVENTS
    assert counts(world)["runs"] == EVENTS // PER_RUN
    batched = {k: sum(o.get(k, 0) for o in outcomes) for k in ("stored", "duplicates", "failed")}
    assert batched == {"stored": EVENTS // 2, "duplicates": EVENTS // 2 // int(1 / RESEND), "failed": 0}
    with world.registry() as registry, registry.read() as session:
        fingerprints = session.execute(sa.select(sa.func.count(sa.distinct(store.StoredEvent.fingerprint)))).scalar()
        states = dict(
            session.execute(sa.select(store.LineageRun.state, sa.func.count()).group_by(store.LineageRun.state)).all()
        )
        flows = movements.movements(registry).flows
    assert fingerprints == EVENTS
    assert states == {"COMPLETE": EVENTS // PER_RUN}
    (flow,) = flows
    assert (len(flow.runs), flow.rows, flow.bytes) == (EVENTS // PER_RUN, expected_rows, expected_rows * 8)
