"""The SQLite fast path of `insert_events` writes exactly what the SQLAlchemy path writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

from meshplane.registry import Registry
from meshplane.registry import lineage as store
from meshplane.registry import lineage_queue as queue


def _events(n: int) -> list[store.EventRow]:
    moments = [
        datetime(2026, 11, 20, 10, 0, 0, tzinfo=UTC),
        datetime(2026, 11, 20, 12, 30, 5, 123456, tzinfo=timezone(timedelta(hours=2))),
        datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
        None,
    ]
    return [
        store.EventRow(
            fingerprint=f"{i:064x}",
            kind="RunEvent" if i % 3 else "DatasetEvent",
            event_type="COMPLETE" if i % 2 else None,
            event_time=moments[i % len(moments)],
            run_id=f"00000000-0000-4000-8000-{i:012d}" if i % 3 else None,
            job_namespace="airflow-ünïcode" if i % 3 else None,
            job_name=f"job.{i}" if i % 3 else None,
            received_at=datetime(2026, 11, 24, 4, 5, i % 60, i, tzinfo=UTC),
            received_by="maintainer of retail ('ci')",
            body='{"a":"é","n":' + str(i) + "}",
        )
        for i in range(n)
    ]


def _rows(registry: Registry) -> list[tuple[object, ...]]:
    with registry.engine.connect() as connection:
        return [tuple(r) for r in connection.exec_driver_sql("SELECT * FROM lineage_events ORDER BY id")]


def test_the_fast_path_writes_what_sqlalchemy_writes(tmp_path: Path) -> None:
    events = _events(450)
    with Registry(f"sqlite:///{tmp_path / 'fast.db'}") as fast, Registry(f"sqlite:///{tmp_path / 'core.db'}") as core:
        with fast.transaction(immediate=True) as session:
            first = queue.insert_events(session, events)
        with core.transaction(immediate=True) as session:
            reference = queue._insert_events_core(session, events)
        assert first == reference and len(first) == 450
        assert _rows(fast) == _rows(core)
        with fast.read() as session:  # read back through the models: aware UTC datetimes, as written
            stored = session.execute(sa.select(store.StoredEvent).order_by(store.StoredEvent.id)).scalars().all()
        assert [s.event_time for s in stored] == [e.event_time for e in events]
        assert [s.received_at for s in stored] == [e.received_at for e in events]
        with fast.transaction(immediate=True) as session:  # stored before: skipped, nothing returned
            again = queue.insert_events(session, [*events[:10], *_events(451)[450:]])
        assert list(again) == [f"{450:064x}"]
