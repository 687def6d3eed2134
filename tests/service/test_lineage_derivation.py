"""Deriving stored lineage events: the receiver stores and queues, derivation follows in bulk.

Readers derive what waits before they read (movements, flags, graph, impact, plan); a background
thread derives after each stored group; a failing event is marked and skipped, never retried in a
loop; two derivers never derive an event twice. SQLite, and PostgreSQL where the database matters.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import test_lineage_service as base

from meshplane.registry import Registry
from meshplane.registry import lineage as store
from meshplane.service import derivation, movements
from meshplane.service import lineage as service

applied = base.applied  # the example mesh applied to a registry (SQLite, PostgreSQL)
event, port, send = base.event, base.port, base.send


@pytest.fixture
def no_background(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Receive without waking the background deriver: what waits stays queued until a reader comes."""
    monkeypatch.setattr(service, "notify_deriver", lambda registry: None)
    yield


def _counts(registry: Registry) -> dict[str, int]:
    with registry.read() as session:
        return store.lineage_counts(session)


def _reads(registry: Registry, runs: int, job: str = "airflow-marketing/campaigns.build") -> list[dict[str, object]]:
    orders = {"namespace": "file", "name": port(registry, "retail.sales/orders")}
    return [event(job, [orders], []) for _ in range(runs)]


def test_receiving_stores_and_queues_and_a_reader_derives_first(applied: Registry, no_background: None) -> None:
    send(applied, *_reads(applied, 3))
    status = service.lineage_status(applied)
    assert status["counts"]["events"] == 3
    assert status["derivation"] == {"waiting": 3, "failed": 0, "failures": []}
    assert _counts(applied)["runs"] == 0  # nothing derived yet
    report = movements.movements(applied)  # a reader: derives what waits, then reads
    (flow,) = [f for f in report.flows if f.to_domain == "marketing"]
    assert len(flow.runs) == 3 and flow.from_product == "retail.sales"
    assert service.lineage_status(applied)["derivation"]["waiting"] == 0
    assert _counts(applied)["runs"] == 3


def test_the_background_deriver_catches_up_without_a_reader(applied: Registry) -> None:
    send(applied, *_reads(applied, 4))
    deadline = time.monotonic() + 20
    while service.lineage_status(applied)["derivation"]["waiting"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert service.lineage_status(applied)["derivation"]["waiting"] == 0
    assert _counts(applied)["runs"] == 4


def test_a_large_backlog_is_derived_in_chunks(
    applied: Registry, no_background: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(derivation, "DERIVE_CHUNK", 7)
    send(applied, *_reads(applied, 30))
    partial = derivation.derive_pending(applied, limit=10)
    assert (partial.derived, partial.failed) == (10, 0)
    assert service.lineage_status(applied)["derivation"]["waiting"] == 20
    rest = derivation.derive_pending(applied)
    assert (rest.derived, rest.failed) == (20, 0)
    assert _counts(applied)["runs"] == 30
    assert derivation.derive_pending(applied).derived == 0  # nothing left: one read


def test_an_event_that_cannot_be_derived_is_marked_and_the_others_go_on(
    applied: Registry, no_background: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    send(applied, *_reads(applied, 2), *_reads(applied, 1, job="airflow-marketing/broken.job"))
    observe = derivation._Batch.observe

    def failing(self: derivation._Batch, event: object) -> None:
        if getattr(event, "job_name", None) == "broken.job":
            raise RuntimeError("a bug met this event")
        observe(self, event)  # type: ignore[arg-type]

    monkeypatch.setattr(derivation._Batch, "observe", failing)
    outcome = derivation.derive_pending(applied)
    assert (outcome.derived, outcome.failed) == (2, 1)
    assert "RuntimeError: a bug met this event" in outcome.errors[0]
    status = service.lineage_status(applied)["derivation"]
    assert status["waiting"] == 0 and status["failed"] == 1
    assert "a bug met this event" in status["failures"][0]["error"]
    assert derivation.derive_pending(applied).failed == 0  # not retried in a loop
    monkeypatch.setattr(derivation._Batch, "observe", observe)  # the bug is fixed
    assert derivation.retry_failed(applied) == 1
    assert derivation.derive_pending(applied).derived == 1
    assert service.lineage_status(applied)["derivation"]["failed"] == 0
    assert _counts(applied)["runs"] == 3


def test_concurrent_derivers_derive_each_event_once(applied: Registry, no_background: None) -> None:
    send(applied, *_reads(applied, 200))
    results: list[derivation.DeriveOutcome] = []
    threads = [threading.Thread(target=lambda: results.append(derivation.derive_pending(applied))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(r.derived for r in results) == 200
    counts = _counts(applied)
    assert counts["runs"] == 200 and counts["datasets"] == 200


def test_the_same_run_across_many_chunks_is_merged_not_duplicated(
    applied: Registry, no_background: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(derivation, "DERIVE_CHUNK", 1)
    start, complete = _reads(applied, 1)[0], None
    complete = {**start, "eventType": "COMPLETE", "eventTime": "2026-11-20T10:05:00Z"}
    start = {**start, "eventType": "START"}
    send(applied, start)
    send(applied, complete)
    assert derivation.derive_pending(applied).derived == 2
    counts = _counts(applied)
    assert counts["runs"] == 1 and counts["datasets"] == 1


def test_requests_on_an_event_loop_are_written_in_groups(applied: Registry, no_background: None) -> None:
    import asyncio
    import json

    import sqlalchemy as sa

    from meshplane.registry.access import Principal

    commits: list[int] = []
    sa.event.listen(applied.engine, "commit", lambda connection: commits.append(1))
    events = _reads(applied, 30)
    bodies = [json.dumps(e) for e in events] + [json.dumps(events[0])]  # the last one: sent twice

    async def send_all() -> list[service.IngestResult]:
        who = Principal.local_admin("tests")
        return list(await asyncio.gather(*(service.receive_event_async(applied, b, who) for b in bodies)))

    results = asyncio.run(send_all())
    statuses = [r.status for r in results]
    assert statuses.count(service.IngestStatus.STORED) == 30
    assert statuses.count(service.IngestStatus.DUPLICATE) == 1
    assert len(commits) < 10  # 31 requests, a handful of transactions
    assert _counts(applied)["events"] == 30
