"""The cockpit's read models: built once per registry state, at server start and by the worker, not per request.

Each read model lives in the registry's cache (`Registry.cache`, a `StampedCache`) under the stamp
of what it was built from, and the function that reads it is the one the pages call:

* the catalog's search index (`catalog.catalog_index`: the newest audit entry);
* the consumer graph (`registry.graph.cached_graph`: audit entry and port counts);
* contract adherence of the last 30 days per domain and day (`governance.adherence`: the newest
  test run and audit entry, the day);
* metadata health per domain (`governance.metadata_health`: audit entry, the day);
* the ports and deprecations open migrations are computed from (`migrations.list_migrations`).

`refresh` asks for each of them, which builds those whose stamp moved. The server calls it at
start-up before it answers (`api.app`), and the worker running in the server calls it through
`ReadModelJob` whenever one cheap query says the registry changed (an apply, an agreement, a
recorded test run, a new day, a token revocation that cleared the cache). A request arriving
between a change and the worker's next pass waits for the build in progress (one build per key)
or builds the model itself, as before: what a page shows is never older than the registry.
"""

from __future__ import annotations

import atexit
import gc
import logging
import time
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa

from meshplane.registry import Registry
from meshplane.registry import models as m
from meshplane.registry.graph import cached_graph
from meshplane.registry.worker import JobResult
from meshplane.service import catalog, governance, migrations

if TYPE_CHECKING:
    from meshplane.registry.worker import Worker

log = logging.getLogger(__name__)

ADHERENCE_DAYS = 30
"""The period of the governance dashboard's contract adherence (its ``DAYS``)."""


def registry_version(registry: Registry, now: datetime | None = None) -> Hashable:
    """What changes whenever one of the read models may have to be rebuilt (one small query)."""
    audit = sa.select(sa.func.max(m.AuditEntry.id)).scalar_subquery()
    runs = sa.select(sa.func.max(m.TestRun.id)).scalar_subquery()
    outputs = sa.select(sa.func.count()).select_from(m.OutputPort).scalar_subquery()
    inputs = sa.select(sa.func.count()).select_from(m.InputPort).scalar_subquery()
    with registry.read() as session:
        row = tuple(session.execute(sa.select(audit, runs, outputs, inputs)).one())
    return (registry.cache.generation, (now or datetime.now(UTC)).date(), *row)


def refresh(registry: Registry, now: datetime | None = None) -> float:
    """Build every read model whose stamp moved (the others are kept); the seconds it took."""
    began = time.perf_counter()
    moment = now or datetime.now(UTC)
    catalog.catalog_index(registry)
    with registry.read() as session:
        cached_graph(session, registry.cache)
    governance.adherence(registry, moment - timedelta(days=ADHERENCE_DAYS))
    governance.metadata_health(registry, moment)
    migrations.list_migrations(registry, now=moment)
    return time.perf_counter() - began


def settle() -> None:
    """Collect the garbage of a build, then freeze what is left (`gc.freeze`).

    The read models are large and live long: left to the collector, each of its full passes walks
    them all while holding the interpreter (hundreds of milliseconds at 2,000 products, a request
    waiting behind it). Frozen objects are never walked; the read models hold no reference cycles,
    so one that is replaced is still freed (reference counting).
    """
    gc.collect()
    gc.freeze()
    # within the collector's reach again at exit: DuckDB's binding library reports the objects of its own it
    # finds uncollected then as leaked (registered once per process however many servers settle)
    atexit.unregister(gc.unfreeze)
    atexit.register(gc.unfreeze)


@dataclass
class ReadModelJob:
    """The worker's ``read-models`` job: rebuild the read models after each change of the registry."""

    name: str = "read-models"
    _seen: Hashable = None

    def run_once(self, worker: Worker) -> JobResult:
        """Nothing when the registry is as at the last pass (one query); else `refresh`."""
        version = registry_version(worker.registry)
        if version == self._seen:
            return JobResult()
        seconds = refresh(worker.registry)
        settle()
        self._seen = version
        return JobResult(done=1, detail=f"read models rebuilt in {seconds:.2f} s")


__all__ = ["ADHERENCE_DAYS", "ReadModelJob", "refresh", "registry_version", "settle"]
