"""Re-resolving stored lineage when what resolution depends on changes: the worker's reindex job.

Derivation resolves each event against the port index, the job-namespace and owner mappings, the
lake roots and the dbt links as they are when it runs. An apply that changes any of them, or a
``meshplane dbt link``, changes the **basis**: its fingerprint (`basis_fingerprint`) then differs
from the one the stored lineage was derived on (`meshplane.registry.reindex`), and `ReindexJob`
(run by the background worker beside `meshplane.service.derivation.DerivationJob`) resets the
derived tables and queues every stored event again; derivation re-derives them. An apply that
changes nothing lineage depends on (a description) changes the index's version, not its
fingerprint: nothing is redone. `reindex` does it on demand (``meshplane lineage reindex``), and
`reindex_status` is what ``lineage status`` shows of it.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy.orm import Session

from meshplane.registry import Registry, dbtlinks
from meshplane.registry import lineage as store
from meshplane.registry import lineage_queue as queue
from meshplane.registry import reindex as basis
from meshplane.registry.worker import JobResult

WORKER_ACTOR = "background worker (reindex job)"


def basis_fingerprint(session: Session) -> str:
    """sha256 of everything resolution depends on: index rows, mappings, lake roots, dbt links."""
    stored = store.load_index(session)
    links = sorted(
        (link.scheme, link.name, link.target_namespace, link.target_name, link.function or "")
        for link in dbtlinks.load_links(session)
    )
    document = {
        "rows": sorted(tuple(sorted(row.items())) for row in stored.rows),
        "jobNamespaces": sorted(stored.job_namespaces.items()),
        "owners": sorted(stored.owners.items()),
        "lake": sorted(stored.lake_roots),
        "links": links,
    }
    return hashlib.sha256(orjson.dumps(document)).hexdigest()


def _derived_anything(session: Session) -> bool:
    return store.lineage_counts(session)["events"] > 0


def reindex(registry: Registry, *, reason: str, by: str, only_if_changed: bool = False) -> int | None:
    """Reset the derived lineage and queue every stored event again; how many (None: nothing to do).

    With `only_if_changed`, only when the basis differs from the last one recorded; the first basis
    of a registry is recorded without a reset (what was derived before is taken as derived on it).
    Runs under the registry's exclusive write: two workers never reset twice for one change.
    """

    def work(session: Session) -> int | None:
        fingerprint = basis_fingerprint(session)
        last = basis.last_reindex(session)
        now = datetime.now(UTC)
        if only_if_changed:
            if last is not None and last.fingerprint == fingerprint:
                return None
            if last is None:
                basis.record(session, fingerprint, reason="first basis recorded", at=now, by=by)
                return None
            if not _derived_anything(session):
                basis.record(session, fingerprint, reason=reason, at=now, by=by)
                return None
        return basis.reset(session, fingerprint, reason=reason, at=now, by=by)

    result: int | None = registry.write(work, exclusive=True)
    return result


class ReindexJob:
    """The worker job re-deriving stored lineage when the basis of resolution changed.

    It looks only when the port index or the dbt links have a new version (a cheap query per
    poll), and compares fingerprints then.
    """

    name = "lineage-reindex"

    def __init__(self) -> None:
        self._seen: tuple[int | None, int | None] | None = None

    def run_once(self, worker: Any) -> JobResult:
        """Reindex when the basis changed since the last look; `done` is the number of events queued again."""
        registry: Registry = worker.registry
        with registry.read() as session:
            versions = (store.index_version(session), dbtlinks.links_version(session))
        if versions == self._seen:
            return JobResult(detail="idle")
        queued = reindex(registry, reason="the port index, a mapping or a dbt link changed", by=WORKER_ACTOR,
                         only_if_changed=True)  # fmt: skip
        self._seen = versions
        if queued is None:
            return JobResult(detail="basis unchanged")
        return JobResult(done=queued, detail=f"reindex: {queued} events queued again")


def reindex_status(session: Session) -> dict[str, Any]:
    """The last reindex and how far its re-derivation is (for ``lineage status``)."""
    last = basis.last_reindex(session)
    waiting, _failed = queue.pending_counts(session)
    if last is None:
        return {"last": None, "waiting": waiting}
    return {
        "last": {
            "at": last.at.isoformat(),
            "reason": last.reason,
            "requestedBy": last.requested_by,
            "events": last.events,
        },
        "waiting": waiting,
        "done": max(0, last.events - waiting) if last.events else None,
    }


__all__ = ["WORKER_ACTOR", "ReindexJob", "basis_fingerprint", "reindex", "reindex_status"]
