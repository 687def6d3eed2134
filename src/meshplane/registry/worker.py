"""The background worker: jobs claimed from the registry's tables, run in a loop, with a heartbeat.

The shape of dagster's daemon: a worker runs a list of `Job` objects over and over; each job
claims its own work from a table (lineage derivation claims queued events with a lease, ``FOR
UPDATE SKIP LOCKED`` on PostgreSQL), so several workers share the work and a worker killed mid-job
leaves it to another once the lease runs out. A job answers how much it did and whether more
waits (then the worker goes on at once; otherwise it sleeps `poll_s`).

Every `heartbeat_s` the worker writes a ``worker_heartbeats`` row (migration ``0007``): who it is
(host, pid), when it started, its last beat, and per job the runs, errors, last duration and
result. `meshplane db status` and ``GET /api/v1/lineage/status`` show them (``workers``).

`meshplane worker` runs one in the foreground; `meshplane serve` on SQLite runs one as a thread of
the server (`Worker.start`); on PostgreSQL it is its own process (docs/deployment.md).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from meshplane.errors import RegistryUnavailable
from meshplane.registry.models import Base

if TYPE_CHECKING:
    from meshplane.registry.database import Registry
    from meshplane.settings import Settings

log = logging.getLogger(__name__)

RECENT_ERRORS = 20
"""Failures a job's statistics keep (the newest)."""
STALE_AFTER_BEATS = 3
"""A worker whose last beat is older than this many heartbeat intervals is shown as not alive."""


class WorkerHeartbeat(Base):
    """The last sign of life of a worker, and what its jobs did."""

    __tablename__ = "worker_heartbeats"

    worker_id: Mapped[str] = mapped_column(sa.String(120), primary_key=True)
    host: Mapped[str] = mapped_column(sa.String(255))
    pid: Mapped[int]
    started_at: Mapped[datetime]
    beat_at: Mapped[datetime] = mapped_column(index=True)
    stopped_at: Mapped[datetime | None]
    interval_s: Mapped[float] = mapped_column(sa.Float())
    jobs: Mapped[dict[str, Any]]


@dataclass(frozen=True)
class JobResult:
    """What one run of a job did: units of work (`done`), and whether more is waiting (`more`)."""

    done: int = 0
    more: bool = False
    failed: int = 0
    detail: str = ""
    errors: tuple[str, ...] = ()
    """What failed, one line per item (kept in the heartbeat, the newest few)."""


class Job(Protocol):
    """A kind of background work (lineage derivation; later scheduled tests, freshness, deliveries)."""

    name: str

    def run_once(self, worker: Worker) -> JobResult:
        """Claim and do one chunk of work; the worker's registry, id and lease are on `worker`."""
        ...


@dataclass
class JobStats:
    """Counters of one job in one worker (stored in the heartbeat)."""

    runs: int = 0
    done: int = 0
    failed: int = 0
    errors: int = 0
    last_run_at: str | None = None
    last_seconds: float = 0.0
    last_result: str = ""
    recent_errors: list[str] = field(default_factory=list)


def _process_settings() -> Settings:
    from meshplane.settings import get_settings

    return get_settings()


@dataclass
class Worker:
    """Runs `jobs` in a loop against `registry`, beating every `heartbeat_s`, until stopped."""

    registry: Registry
    jobs: Sequence[Job]
    poll_s: float = 0.2
    heartbeat_s: float = 5.0
    lease_s: float = 30.0
    worker_id: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}")
    settings: Settings = field(default_factory=_process_settings)
    """What the jobs read (intervals, timeouts, the public URL, the lake base, the default engine); default: the
    process's (``MESHPLANE_*``). A server passes its own, so its jobs run under the settings it was built with."""
    stats: dict[str, JobStats] = field(default_factory=dict)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _wake: threading.Event = field(default_factory=threading.Event, repr=False)
    _first_pass: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    def start(self) -> Worker:
        """Run in a daemon thread of this process; the registry owns it (`Registry.close` stops it)."""
        if self.registry.worker is not None and self.registry.worker is not self:
            raise RuntimeError("this registry already has a worker in this process")
        self.registry.worker = self
        self._thread = threading.Thread(target=self.run, name="meshplane-worker", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the loop to end after the job at work, and wait for the thread (when it runs in one)."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        if self.registry.worker is self:
            self.registry.worker = None

    def wait_first_pass(self, timeout: float) -> bool:
        """Wait until every job ran once (or the loop ended); False when `timeout` seconds passed first."""
        return self._first_pass.wait(timeout)

    def lease_until(self) -> datetime:
        """The end of a lease taken now."""
        return datetime.now(UTC) + timedelta(seconds=self.lease_s)

    def run_jobs_once(self) -> bool:
        """Run every job once; True when one of them has more waiting."""
        more = False
        for job in self.jobs:
            stats = self.stats.setdefault(job.name, JobStats())
            started = time.perf_counter()
            try:
                result = job.run_once(self)
            except sa.exc.OperationalError as exc:  # locked for too long, unreachable: try again later
                stats.errors += 1
                stats.last_result = f"postponed: {type(exc).__name__}"
                log.warning("%s postponed: %s", job.name, exc.orig if exc.orig is not None else exc)
                continue
            except RegistryUnavailable as exc:  # read-only, full, immutable: one line, tried again later
                stats.errors += 1
                stats.last_result = f"postponed: {exc.public}"
                log.warning("%s postponed: %s", job.name, exc.message)
                continue
            except Exception as exc:  # a bug in one job must not stop the others
                stats.errors += 1
                stats.last_result = f"error: {type(exc).__name__}: {exc}"[:300]
                log.exception("worker job %s failed", job.name)
                continue
            finally:
                stats.runs += 1
                stats.last_seconds = round(time.perf_counter() - started, 4)
                stats.last_run_at = datetime.now(UTC).isoformat()
            stats.done += result.done
            stats.failed += result.failed
            stats.recent_errors = [*stats.recent_errors, *result.errors][-RECENT_ERRORS:]
            if result.done or result.failed or not stats.last_result:
                stats.last_result = result.detail or f"{result.done} done"
            more = more or result.more
        return more

    def run(self, *, once: bool = False) -> None:
        """The loop, in the calling thread (`meshplane worker`); with `once`, until no job has more."""
        next_beat = 0.0
        try:
            while not self._stop.is_set():
                more = self.run_jobs_once()
                self._first_pass.set()
                if time.monotonic() >= next_beat:
                    self.beat()
                    next_beat = time.monotonic() + self.heartbeat_s
                if once and not more:
                    return
                if not more:
                    self._wake.wait(self.poll_s)
                    self._wake.clear()
        finally:
            self._first_pass.set()
            self.beat(stopped=True)

    def beat(self, *, stopped: bool = False) -> None:
        """Store the heartbeat (best effort: a registry that refuses it is logged, not fatal)."""
        now = datetime.now(UTC)
        values = {
            "host": socket.gethostname()[:255],
            "pid": os.getpid(),
            "started_at": self.started_at,
            "beat_at": now,
            "stopped_at": now if stopped else None,
            "interval_s": self.heartbeat_s,
            "jobs": {name: asdict(stats) for name, stats in self.stats.items()},
        }

        def store(session: Session) -> None:
            row = session.get(WorkerHeartbeat, self.worker_id)
            if row is None:
                session.add(WorkerHeartbeat(worker_id=self.worker_id, **values))
            else:
                for key, value in values.items():
                    setattr(row, key, value)

        try:
            self.registry.write(store)
        except Exception as exc:  # read-only registry, closed during shutdown
            log.warning("worker heartbeat not stored: %s", exc)


def heartbeats(session: Session, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """Every worker's last heartbeat, newest first, with ``alive`` (beat within 3 intervals, not stopped)."""
    now = now or datetime.now(UTC)
    rows = session.scalars(sa.select(WorkerHeartbeat).order_by(WorkerHeartbeat.beat_at.desc()).limit(50))
    out = []
    for row in rows:
        beat = row.beat_at if row.beat_at.tzinfo else row.beat_at.replace(tzinfo=UTC)
        age = (now - beat).total_seconds()
        out.append(
            {
                "worker": row.worker_id,
                "host": row.host,
                "pid": row.pid,
                "startedAt": row.started_at.isoformat(),
                "beatAt": row.beat_at.isoformat(),
                "secondsSinceBeat": round(age, 1),
                "alive": row.stopped_at is None and age <= STALE_AFTER_BEATS * row.interval_s,
                "stoppedAt": row.stopped_at.isoformat() if row.stopped_at else None,
                "jobs": row.jobs,
            }
        )
    return out


__all__ = ["Job", "JobResult", "JobStats", "Worker", "WorkerHeartbeat", "heartbeats"]
