"""Deriving stored lineage events: the receiver stores and queues, the worker's derivation job follows.

Readers read what is derived (lineage status tells the lag); the worker (a thread here) derives
what gathered; a failing event is marked and skipped, never retried in a loop; claims keep two
derivers from deriving an event twice, a lost claim writes nothing, and a run written by another
deriver meanwhile is merged, not overwritten. SQLite, and PostgreSQL where the database matters.
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
def no_background() -> Iterator[None]:
    """No worker runs in these tests unless one starts it: what waits stays queued until derived."""
    yield


def _counts(registry: Registry) -> dict[str, int]:
    with registry.read() as session:
        return store.lineage_counts(session)


def _reads(registry: Registry, runs: int, job: str = "airflow-marketing/campaigns.build") -> list[dict[str, object]]:
    orders = {"namespace": "file", "name": port(registry, "retail.sales/orders")}
    return [event(job, [orders], []) for _ in range(runs)]


def test_receiving_stores_and_queues_and_readers_see_the_lag(applied: Registry, no_background: None) -> None:
    send(applied, *_reads(applied, 3))
    status = service.lineage_status(applied)
    assert status["counts"]["events"] == 3
    waiting = status["derivation"]
    assert (waiting["waiting"], waiting["failed"], waiting["failures"]) == (3, 0, [])
    assert waiting["lagSeconds"] >= 0 and waiting["oldestWaiting"] is not None and waiting["workersAlive"] == 0
    assert _counts(applied)["runs"] == 0  # nothing derived yet, and a reader does not derive
    assert not [f for f in movements.movements(applied).flows if f.to_domain == "marketing"]
    assert derivation.derive_pending(applied).derived == 3
    (flow,) = [f for f in movements.movements(applied).flows if f.to_domain == "marketing"]
    assert len(flow.runs) == 3 and flow.from_product == "retail.sales"
    assert service.lineage_status(applied)["derivation"]["waiting"] == 0


def test_the_worker_derives_what_arrives_and_beats(applied: Registry) -> None:
    from meshplane.registry.worker import Worker

    worker = Worker(applied, [derivation.DerivationJob()], poll_s=0.05, heartbeat_s=0.2).start()
    try:
        send(applied, *_reads(applied, 4))
        deadline = time.monotonic() + 20
        while service.lineage_status(applied)["derivation"]["waiting"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert service.lineage_status(applied)["derivation"]["waiting"] == 0
        assert _counts(applied)["runs"] == 4
        time.sleep(0.3)
        (beat,) = service.lineage_status(applied)["workers"]
        assert beat["alive"] and beat["worker"] == worker.worker_id
        assert beat["jobs"]["lineage-derivation"]["done"] == 4
    finally:
        applied.close()  # the registry owns its worker: closing stops it
    assert not worker._thread.is_alive()  # type: ignore[union-attr]


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


def test_a_lost_claim_writes_nothing_and_the_new_holder_derives(applied: Registry, no_background: None) -> None:
    from datetime import UTC, datetime, timedelta

    from meshplane.registry import lineage_queue as queue

    send(applied, *_reads(applied, 3))
    past = datetime.now(UTC) - timedelta(seconds=1)
    claimed = applied.write(lambda s: queue.claim(s, "a", until=past, now=datetime.now(UTC), limit=10))
    assert len(claimed) == 3
    outcome = derivation.derive_pending(applied)  # a's lease ran out: taken over
    assert outcome.derived == 3
    with applied.read() as session:
        events = [derivation.parse_event(body) for _, body in queue.event_bodies(session, claimed)]
        batch = derivation._observe(session, applied, events)
    with pytest.raises(derivation.LeaseLost):
        applied.write(lambda s: derivation._write_batch(s, batch, events, claimed, "a"))
    assert _counts(applied)["runs"] == 3


def test_rows_written_by_another_deriver_meanwhile_are_merged(applied: Registry, no_background: None) -> None:
    from meshplane.registry import lineage_queue as queue

    start = {**_reads(applied, 1)[0], "eventType": "START", "eventTime": "2026-11-20T10:00:00Z"}
    complete = {**start, "eventType": "COMPLETE", "eventTime": "2026-11-20T10:05:00Z"}
    send(applied, start, complete)
    with applied.read() as session:
        (first, body_a), (second, body_b) = queue.event_bodies(session, [1, 2])
        a, b = derivation.parse_event(body_a), derivation.parse_event(body_b)
        batch_a = derivation._observe(session, applied, [a])
        batch_b = derivation._observe(session, applied, [b])  # read before a was written
    for event_id, batch, parsed in ((first, batch_a, a), (second, batch_b, b)):
        applied.write(
            lambda s, i=event_id: queue.claim(
                s,
                "w",
                until=derivation._OneShot(applied).lease_until(),
                now=derivation.datetime.now(derivation.UTC),
                limit=1,
                up_to=i,
            )
        )
        applied.write(lambda s, bt=batch, p=parsed, i=event_id: derivation._write_batch(s, bt, [p], [i], "w"))
    with applied.read() as session:
        (run,) = store.load_runs(session, [str(a.run_id)]).values()
    assert run.state == "COMPLETE" and run.first_seen < run.last_seen  # both events, not the last one alone


def test_requests_on_an_event_loop_are_written_in_groups(applied: Registry, no_background: None) -> None:
    import asyncio
    import json

    import sqlalchemy as sa

    from meshplane.access import Principal

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
    if applied.dialect == "sqlite":  # the writer group-commits; PostgreSQL takes each request as it comes
        assert len(commits) < 10  # 31 requests, a handful of transactions
    assert _counts(applied)["events"] == 30


def test_a_worker_lets_events_wait_while_more_keep_arriving_for_at_most_max_lag(
    applied: Registry, no_background: None
) -> None:
    job = derivation.DerivationJob(max_lag_s=0.4)
    assert not job._waits(applied)  # nothing received yet
    send(applied, *_reads(applied, 1))
    assert job._waits(applied)  # a burst: the receivers answer first
    deadline = time.monotonic() + 0.45
    while time.monotonic() < deadline:  # events keep arriving past max_lag
        send(applied, *_reads(applied, 1))
        time.sleep(0.05)
    assert not job._waits(applied)  # waited max_lag: derives alongside them
    time.sleep(derivation.DerivationJob.ARRIVING_S + 0.05)
    assert not job._waits(applied)  # the burst is over
    send(applied, *_reads(applied, 1))
    assert job._waits(applied)  # a new burst waits again
    assert not derivation.DerivationJob()._waits(applied)  # max_lag 0: never waits
    assert job.run_once(type("W", (), {"registry": applied})()).detail == "waiting: events keep arriving"


def _derived(registry: Registry) -> list[list[tuple[object, ...]]]:
    """Every derived row (runs, run datasets, column usage), without row ids, in one order."""
    import sqlalchemy as sa

    tables = {"lineage_runs": "run_key", "lineage_run_datasets": "run_key, role, identity_sha",
              "lineage_column_usage": "usage_key"}  # fmt: skip
    with registry.read() as session:
        return [
            [
                tuple(v for k, v in row.items() if k != "id")
                for row in session.execute(sa.text(f"SELECT * FROM {t} ORDER BY {o}")).mappings()
            ]
            for t, o in tables.items()
        ]


def _runs_with_column_lineage(registry: Registry, runs: int) -> list[dict[str, object]]:
    """START and COMPLETE of `runs` runs reading two ports (one through column lineage), shuffled across days."""
    import random

    orders, customers = port(registry, "retail.sales/orders"), port(registry, "customer.profiles/customers")
    ledger = port(registry, "finance.ledger/ledger_entries")
    out = []
    for i in range(runs):
        inputs = [{"namespace": "file", "name": orders}, {"namespace": "file", "name": customers}]
        fields = {c: {"inputFields": [{"namespace": "file", "name": [orders, customers][j % 2], "field": c}]}
                  for j, c in enumerate(["order_id", "customer_id", "amount"][: 1 + i % 3])}  # fmt: skip
        output = {"namespace": "file", "name": f"{ledger}/dt=2026-11-{1 + i % 5:02d}/part-{i}.parquet",
                  "facets": {"schema": {"fields": [{"name": c, "type": "VARCHAR"} for c in fields]},
                             "columnLineage": {"fields": fields}},
                  "outputFacets": {"outputStatistics": {"rowCount": 10 + i, "size": 100 * i}}}  # fmt: skip
        start = event("airflow-finance/ledger.post_entries", inputs, [], at=f"2026-11-{1 + i % 5:02d}T05:00:00Z")
        complete = {**start, "eventType": "COMPLETE", "eventTime": f"2026-11-{1 + i % 5:02d}T05:0{i % 9}:00Z"}
        out += [{**start, "eventType": "START"}, {**complete, "outputs": [output]}]
    random.Random(7).shuffle(out)
    return out


def test_a_backlog_grows_the_workers_chunk_and_derives_the_same_rows(
    applied: Registry, no_background: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from meshplane.service.reindex import reindex

    send(applied, *_runs_with_column_lineage(applied, 20))
    monkeypatch.setattr(derivation, "DERIVE_CHUNK", 1)  # every event on its own: merged into the stored rows
    assert derivation.derive_pending(applied).derived == 40
    one_by_one = _derived(applied)
    assert len(one_by_one[0]) == 20 and one_by_one[2]  # 20 runs; column usage recorded
    assert reindex(applied, reason="test", by="tests") == 40
    job, claimant = derivation.DerivationJob(chunk=2, backlog_chunk=8), derivation._OneShot(applied)
    sizes = []
    while (result := job.run_once(claimant)).done:
        sizes.append(result.done)
    assert sizes == [2, 4, 8, 8, 8, 8, 2]  # doubling while each chunk is full, back to 2 once caught up
    assert job._size == 2
    assert _derived(applied) == one_by_one  # chunk sizes never change what is derived
    assert reindex(applied, reason="test", by="tests") == 40
    assert derivation.derive_pending(applied, chunk=derivation.BACKLOG_CHUNK).derived == 40
    assert _derived(applied) == one_by_one
