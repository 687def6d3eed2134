"""Incidents: opened by failing checks and freshness breaches, updated while they last, resolved by a pass.

One unresolved incident per (port, check) key (`meshplane.registry.incidents`). `record_outcomes`
is the one place outcomes become incidents: a failure opens the key's incident (or reopens its last
one, or counts one more occurrence of the open one), a pass resolves it (`resolved` by
``meshplane (automatic)``, reason ``passed``). Its callers are the worker's `IncidentJob`, which
reads every newly stored test run — scheduled, published by CI or recorded by `meshplane test`
— and the freshness evaluation (`meshplane.service.freshness`).

People `acknowledge` and `resolve` (reasons: fixed, false-positive, expected, other) with a note;
only maintainers of the incident's domain may (admins all). Every state change is a row of the
trail, which notifications consume (docs/monitoring.md#notifications-interface).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from meshplane.access import Principal
from meshplane.diagnostics import MeshplaneError
from meshplane.errors import Conflict, NotFound
from meshplane.registry import Registry
from meshplane.registry import incidents as store
from meshplane.registry import models as m
from meshplane.registry import monitoring as monitor_store
from meshplane.registry.worker import JobResult
from meshplane.service.catalog import Page

if TYPE_CHECKING:
    from meshplane.registry.worker import Worker

AUTO_ACTOR = "meshplane (automatic)"
"""Who opens, updates and resolves incidents on the evidence of checks."""
PASSED = "passed"
"""The resolution of an incident whose check passed again."""
RUN_CHECK = "run"
"""The check id of a run that could not happen at all (no data, no engine)."""
CURSOR = "incidents-test-runs"
_FAILING = ("failed", "error")
_PASSING = ("passed", "warning")


@dataclass(frozen=True)
class Outcome:
    """One check of a port, as a run or the freshness evaluation saw it."""

    contract_id: str
    check_id: str
    failed: bool
    at: datetime
    kind: str = "test"
    observed: Any = None
    threshold: str | None = None
    message: str | None = None
    severity: str | None = None
    run_id: int | None = None


@dataclass(frozen=True)
class PortOf:
    """Where a contract's incidents live: its domain and the output port bound to it."""

    domain: str
    product: str | None
    port: str | None


def ports_of(session: Session, contract_ids: Iterable[str]) -> dict[str, PortOf]:
    """The domain and output port of each registered contract (unregistered ones are left out)."""
    ids = sorted(set(contract_ids))
    out: dict[str, PortOf] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = session.execute(
            sa.select(m.Contract.id, m.Contract.domain_id, m.OutputPort.product_id, m.OutputPort.name)
            .outerjoin(
                m.OutputPort, sa.and_(m.OutputPort.contract_id == m.Contract.id, m.OutputPort.retired_at.is_(None))
            )
            .where(m.Contract.id.in_(chunk))
            .order_by(m.Contract.id, m.OutputPort.product_id, m.OutputPort.name)
        )
        for contract_id, domain, product, port in rows:
            out.setdefault(contract_id, PortOf(domain, product, port))
    return out


@dataclass
class Counts:
    """What `record_outcomes` did."""

    opened: int = 0
    reopened: int = 0
    updated: int = 0
    resolved: int = 0


_INCIDENTS = cast(sa.Table, store.Incident.__table__)
_ONE_MORE = (
    sa.update(_INCIDENTS)
    .where(_INCIDENTS.c.id == sa.bindparam("b_id"))
    .values(occurrences=_INCIDENTS.c.occurrences + 1)
)
"""One more occurrence of an open incident (executemany with `_seen_values` and ``b_id``)."""


def _seen_values(outcome: Outcome) -> dict[str, Any]:
    return {
        "last_seen_at": outcome.at,
        "observed": outcome.observed,
        "threshold": outcome.threshold,
        "message": outcome.message,
        "severity": outcome.severity,
        "last_run_id": outcome.run_id,
    }


def _seen(incident: store.Incident, outcome: Outcome) -> None:
    incident.last_seen_at = outcome.at
    incident.observed = outcome.observed
    incident.threshold = outcome.threshold
    incident.message = outcome.message
    incident.severity = outcome.severity
    incident.last_run_id = outcome.run_id


def record_outcomes(session: Session, outcomes: Sequence[Outcome], *, actor: str = AUTO_ACTOR) -> Counts:
    """Open, update, reopen or resolve the incidents these outcomes speak of (inside the caller's transaction).

    Outcomes of contracts the registry does not know are ignored. The incidents are read in a few
    queries and the new ones inserted in one flush, whatever the number of outcomes.
    """
    counts = Counts()
    places = ports_of(session, (o.contract_id for o in outcomes))
    keys = [store.incident_key(o.contract_id, o.check_id) for o in outcomes]
    open_ids = store.unresolved_ids(session, sorted(set(keys)))
    current: dict[str, store.Incident] = {}  # the unresolved incidents loaded as objects (state changes)
    failing_new = sorted({k for k, o in zip(keys, outcomes, strict=True) if o.failed and k not in open_ids})
    previous = store.latest_of(session, failing_new)
    updates: list[dict[str, Any]] = []  # one more occurrence of an open incident: one executemany

    def flush_updates() -> None:
        if updates:
            session.connection().execute(_ONE_MORE, updates)
            updates.clear()

    def loaded(key: str) -> store.Incident | None:
        if key not in current and key in open_ids:
            flush_updates()
            current[key] = session.get_one(store.Incident, open_ids[key])
        return current.get(key)

    created: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}

    def flush_created(*, final: bool = False) -> None:
        """Insert the incidents opened so far and their ``opened`` events: two statements, whatever their number.

        Before the end of the batch (an incident it opened is resolved by it), they are loaded back
        for the outcomes still to come.
        """
        if not created:
            return
        rows = [row for row, _ in created.values()]
        inserted = session.execute(
            sa.insert(store.Incident).returning(store.Incident.id, store.Incident.key, sort_by_parameter_order=True),
            rows,
        )
        ids = {key: incident_id for incident_id, key in inserted}
        events = [
            {"incident_id": ids[row["key"]], "kind": "opened", "at": row["opened_at"], "actor": actor[:300],
             "state_from": None, "state_to": "open", "reason": None, "note": None, "details": opened_details}
            for row, opened_details in created.values()
        ]  # fmt: skip
        session.execute(sa.insert(store.IncidentEvent), events)
        open_ids.update(ids)
        if not final:
            for key in created:
                current[key] = session.get_one(store.Incident, ids[key])
        created.clear()

    for key, outcome in zip(keys, outcomes, strict=True):
        place = places.get(outcome.contract_id)
        if place is None:
            continue
        if key in created:
            if outcome.failed:
                row = created[key][0]
                row["occurrences"] += 1
                row.update(_seen_values(outcome))
                counts.updated += 1
                continue
            flush_created()  # opened by this batch, resolved by it too: its events stay in order
        details = {"run": outcome.run_id, "observed": outcome.observed, "message": outcome.message}
        if outcome.failed and key in open_ids and key not in current:
            updates.append({"b_id": open_ids[key], **_seen_values(outcome)})
            counts.updated += 1
            continue
        incident = loaded(key)
        if not outcome.failed:
            if incident is not None:
                before = incident.state
                incident.state, incident.resolved_at, incident.resolved_by = "resolved", outcome.at, actor
                incident.resolution, incident.note = PASSED, None
                incident.last_run_id = outcome.run_id
                store.add_event(session, incident, "resolved", at=outcome.at, actor=actor, state_from=before,
                                reason=PASSED, details=details)  # fmt: skip
                del current[key], open_ids[key]
                previous[key] = incident  # a failure later in the batch reopens it
                counts.resolved += 1
            continue
        if incident is not None:
            incident.occurrences += 1
            _seen(incident, outcome)
            counts.updated += 1
            continue
        last = previous.pop(key, None)
        if last is not None:  # it failed before, was resolved, and fails again
            last.state, last.reopened, last.occurrences = "open", last.reopened + 1, last.occurrences + 1
            last.acknowledged_at = last.acknowledged_by = last.resolved_at = last.resolved_by = None
            last.resolution = last.note = None
            last.domain_id, last.product_id, last.port = place.domain, place.product, place.port
            _seen(last, outcome)
            flush_updates()
            store.add_event(session, last, "reopened", at=outcome.at, actor=actor, state_from="resolved",
                            details=details)  # fmt: skip
            current[key], open_ids[key] = last, last.id
            counts.reopened += 1
            continue
        row = {
            "key": key,
            "contract_id": outcome.contract_id,
            "check_id": outcome.check_id,
            "kind": outcome.kind,
            "domain_id": place.domain,
            "product_id": place.product,
            "port": place.port,
            "state": "open",
            "opened_at": outcome.at,
            "first_seen_at": outcome.at,
            "occurrences": 1,
            "reopened": 0,
            **_seen_values(outcome),
        }
        created[key] = (row, details)
        counts.opened += 1
    flush_updates()
    flush_created(final=True)
    return counts


def _run_outcomes(session: Session, runs: Sequence[m.TestRun]) -> list[Outcome]:
    ids = [run.id for run in runs]
    checks: dict[int, list[m.CheckResult]] = {run_id: [] for run_id in ids}
    for start in range(0, len(ids), 500):
        query = sa.select(m.CheckResult).where(m.CheckResult.test_run_id.in_(ids[start : start + 500]))
        for check in session.scalars(query.order_by(m.CheckResult.test_run_id, m.CheckResult.position)):
            checks[check.test_run_id].append(check)
    out: list[Outcome] = []
    for run in runs:
        at = run.finished_at or run.started_at
        results = checks[run.id]
        if not results and run.result == "error":
            message = str((run.extra or {}).get("error") or "the run could not happen")
            out.append(Outcome(run.contract_id, RUN_CHECK, True, at, message=message, severity="error", run_id=run.id))
            continue
        out.append(Outcome(run.contract_id, RUN_CHECK, False, at, run_id=run.id))
        for check in results:
            if check.status not in _FAILING + _PASSING:
                continue  # skipped: no evidence either way
            kind = "freshness" if check.check_id in ("sla.freshness", "sla.latency") else "test"
            out.append(
                Outcome(
                    run.contract_id,
                    check.check_id,
                    check.status in _FAILING,
                    at,
                    kind,
                    check.observed,
                    check.threshold,
                    check.message,
                    check.severity,
                    run.id,
                )
            )
    return out


def process_test_runs(registry: Registry, *, limit: int = 200) -> tuple[int, Counts, bool]:
    """Turn the test runs stored since the last call into incidents; (runs read, counts, more waiting).

    Runs under the exclusive write: several workers never process a run twice.
    """

    def work(session: Session) -> tuple[int, Counts, bool]:
        state = monitor_store.state(session, CURSOR)
        cursor = int(state.value) if state is not None else 0
        runs = list(
            session.scalars(sa.select(m.TestRun).where(m.TestRun.id > cursor).order_by(m.TestRun.id).limit(limit))
        )
        if not runs:
            return 0, Counts(), False
        counts = record_outcomes(session, _run_outcomes(session, runs))
        monitor_store.set_state(session, CURSOR, str(runs[-1].id), datetime.now(UTC))
        return len(runs), counts, len(runs) == limit

    result: tuple[int, Counts, bool] = registry.write(work, exclusive=True)
    return result


def _newest_run_id(registry: Registry) -> int:
    with registry.read() as session:
        return int(session.execute(sa.select(sa.func.coalesce(sa.func.max(m.TestRun.id), 0))).scalar_one())


@dataclass
class IncidentJob:
    """The worker's ``incidents`` job: every newly stored test run opens, updates or resolves incidents."""

    name: str = "incidents"
    _seen_up_to: int = -1

    def run_once(self, worker: Worker) -> JobResult:
        """Process the runs stored since the last pass (a cheap check first: the newest run id)."""
        newest = _newest_run_id(worker.registry)
        if newest == self._seen_up_to:
            return JobResult()
        runs, counts, more = process_test_runs(worker.registry)
        if not more:
            self._seen_up_to = newest
        detail = (
            f"{runs} run(s): {counts.opened} opened, {counts.reopened} reopened, {counts.updated} updated, "
            f"{counts.resolved} resolved"
        )
        return JobResult(done=runs, more=more, detail=detail)


# -- reading and changing incidents -----------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def incident_view(row: store.Incident) -> dict[str, Any]:
    """An incident as the API and the CLI show it."""
    return {
        "id": row.id,
        "key": row.key,
        "contract": row.contract_id,
        "check": row.check_id,
        "kind": row.kind,
        "domain": row.domain_id,
        "product": row.product_id,
        "port": row.port,
        "state": row.state,
        "severity": row.severity,
        "openedAt": _iso(row.opened_at),
        "firstSeenAt": _iso(row.first_seen_at),
        "lastSeenAt": _iso(row.last_seen_at),
        "occurrences": row.occurrences,
        "reopened": row.reopened,
        "observed": row.observed,
        "threshold": row.threshold,
        "message": row.message,
        "lastTestRun": row.last_run_id,
        "acknowledged": None
        if row.acknowledged_at is None
        else {"at": _iso(row.acknowledged_at), "by": row.acknowledged_by},
        "resolved": None
        if row.resolved_at is None
        else {"at": _iso(row.resolved_at), "by": row.resolved_by, "reason": row.resolution, "note": row.note},
    }


def event_view(event: store.IncidentEvent) -> dict[str, Any]:
    """A state change of the trail."""
    return {
        "id": event.id,
        "kind": event.kind,
        "at": _iso(event.at),
        "actor": event.actor,
        "from": event.state_from,
        "to": event.state_to,
        "reason": event.reason,
        "note": event.note,
        "details": event.details,
        "notifiedAt": _iso(event.notified_at),
    }


def list_incidents(
    registry: Registry,
    *,
    state: str | None = None,
    domain: str | None = None,
    contract: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page:
    """Incidents, newest activity first; `state` ``unresolved`` means open or acknowledged."""
    query = sa.select(store.Incident)
    if state == "unresolved":
        query = query.where(store.Incident.state != "resolved")
    elif state is not None:
        if state not in store.STATES:
            raise MeshplaneError(f"state must be one of unresolved, {', '.join(store.STATES)}, not '{state}'")
        query = query.where(store.Incident.state == state)
    if domain:
        query = query.where(store.Incident.domain_id == domain)
    if contract:
        query = query.where(store.Incident.contract_id == contract)
    with registry.read() as session:
        total = int(session.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one())
        rows = session.scalars(
            query.order_by(store.Incident.last_seen_at.desc(), store.Incident.id.desc()).limit(limit).offset(offset)
        )
        return Page([incident_view(row) for row in rows], total)


def _get(session: Session, incident_id: int) -> store.Incident:
    row = session.get(store.Incident, incident_id)
    if row is None:
        raise NotFound(f"no incident {incident_id}")
    return row


def get_incident(registry: Registry, incident_id: int) -> dict[str, Any]:
    """One incident with its trail."""
    with registry.read() as session:
        row = _get(session, incident_id)
        view = incident_view(row) | {"events": [event_view(e) for e in store.events_of(session, incident_id)]}
    from meshplane.service.notifications import incident_extras  # it builds on this module

    return view | incident_extras(registry, incident_id)


def _domain_of(registry: Registry, incident_id: int) -> str:
    with registry.read() as session:
        return _get(session, incident_id).domain_id


def acknowledge(registry: Registry, actor: Principal, incident_id: int, note: str | None = None) -> dict[str, Any]:
    """Acknowledge an open incident (someone is on it); maintainers of its domain, or admins."""
    actor.require_maintainer({_domain_of(registry, incident_id)}, f"acknowledge incident {incident_id}")

    def work(session: Session) -> dict[str, Any]:
        row = _get(session, incident_id)
        if row.state != "open":
            raise Conflict(f"incident {incident_id} is {row.state}: only an open incident can be acknowledged")
        now = datetime.now(UTC)
        row.state, row.acknowledged_at, row.acknowledged_by = "acknowledged", now, actor.actor
        store.add_event(session, row, "acknowledged", at=now, actor=actor.actor, state_from="open", note=note)
        return incident_view(row)

    result: dict[str, Any] = registry.write(work, exclusive=True)
    return result


def resolve(
    registry: Registry, actor: Principal, incident_id: int, reason: str, note: str | None = None
) -> dict[str, Any]:
    """Resolve an open or acknowledged incident, saying why; maintainers of its domain, or admins."""
    if reason not in store.REASONS:
        raise MeshplaneError(f"reason must be one of {', '.join(store.REASONS)}, not '{reason}'")
    actor.require_maintainer({_domain_of(registry, incident_id)}, f"resolve incident {incident_id}")

    def work(session: Session) -> dict[str, Any]:
        row = _get(session, incident_id)
        if row.state == "resolved":
            raise Conflict(f"incident {incident_id} is already resolved")
        now = datetime.now(UTC)
        before = row.state
        row.state, row.resolved_at, row.resolved_by = "resolved", now, actor.actor
        row.resolution, row.note = reason, note
        store.add_event(
            session, row, "resolved", at=now, actor=actor.actor, state_from=before, reason=reason, note=note
        )
        return incident_view(row)

    result: dict[str, Any] = registry.write(work, exclusive=True)
    return result


__all__ = [
    "AUTO_ACTOR",
    "PASSED",
    "RUN_CHECK",
    "Counts",
    "IncidentJob",
    "Outcome",
    "PortOf",
    "acknowledge",
    "event_view",
    "get_incident",
    "incident_view",
    "list_incidents",
    "ports_of",
    "process_test_runs",
    "record_outcomes",
    "resolve",
]
