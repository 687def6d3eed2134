"""Scheduled contract tests: the worker's ``schedules`` job, and the status `monitor status` shows.

Every contract bound to an output port of the registry gets a schedule row
(`meshplane.registry.monitoring`). Its schedule is, first found wins: the contract's custom
property ``monitoringSchedule``; its SLA property ``frequency``; mesh.yaml
``monitoring.engines.<engine>`` for the engine that tests it; mesh.yaml ``monitoring.schedule``
(`meshplane.spec.schedules`). The rows follow the registry: `sync` rebuilds them when an apply
changed something (the newest audit entry and the stored mesh settings are the basis), under the
registry's exclusive write, so several workers do it once.

`ScheduleJob` claims one due row at a time for a lease (`monitor_run_lease_seconds`), tests the
registered contract (its latest version) with `meshplane.service.testing.run_contract`, stores
the run as any test run with ``"source": "schedule"``, and moves the row on to its next time.
A worker killed mid-run leaves the claim to run out; another worker runs the test again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from meshplane.checks import TestRun
from meshplane.diagnostics import MeshplaneError
from meshplane.engines import registry as engines
from meshplane.registry import Registry, store_test_run
from meshplane.registry import lineage as lineage_store
from meshplane.registry import models as m
from meshplane.registry import monitoring as store
from meshplane.registry.worker import JobResult
from meshplane.service.testing import choose_server, run_contract
from meshplane.settings import Settings, get_settings
from meshplane.spec.odcs import Contract
from meshplane.spec.schedules import DeclaredSchedule, ScheduleError, contract_schedule, mesh_schedule, parse_schedule

if TYPE_CHECKING:
    from meshplane.registry.worker import Worker

log = logging.getLogger(__name__)

SOURCE = "schedule"
"""The ``source`` of the test runs the worker stores."""
WORKER_ACTOR = "background worker (schedules)"
BASIS = "schedules-basis"

Clock = Callable[[], datetime]
ContractRunner = Callable[..., TestRun]


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class BoundContract:
    """A registered contract bound to an output port, with its latest document."""

    contract_id: str
    domain_id: str
    product_id: str | None
    port: str | None
    document: dict[str, Any]


def bound_contracts(session: Session) -> list[BoundContract]:
    """Every live contract an output port is bound to, with the document of its latest version."""
    query = (
        sa.select(
            m.Contract.id, m.Contract.domain_id, m.OutputPort.product_id, m.OutputPort.name, m.ContractVersion.document
        )
        .join(m.OutputPort, m.OutputPort.contract_id == m.Contract.id)
        .join(m.Product, m.Product.id == m.OutputPort.product_id)
        .join(
            m.ContractVersion,
            sa.and_(
                m.ContractVersion.contract_id == m.Contract.id, m.ContractVersion.version == m.Contract.latest_version
            ),
        )
        .where(m.Contract.retired_at.is_(None), m.OutputPort.retired_at.is_(None), m.Product.retired_at.is_(None))
        .order_by(m.Contract.id, m.OutputPort.product_id, m.OutputPort.name)
    )
    out: dict[str, BoundContract] = {}
    for contract_id, domain_id, product_id, port, document in session.execute(query):
        out.setdefault(contract_id, BoundContract(contract_id, domain_id, product_id, port, document))
    return list(out.values())


def _engine_name(contract: Contract, default_engine: str | None, configured: str | None) -> str | None:
    try:
        server = choose_server(contract, None)
        return engines.engine_for(server, None, default=configured or default_engine).name
    except MeshplaneError:
        return None


def _declared(contract: Contract, monitoring: Any, engine: str | None) -> DeclaredSchedule | None:
    return contract_schedule(contract) or mesh_schedule(monitoring, engine)


def desired_schedules(session: Session, now: datetime, engine: str | None = None) -> list[store.DesiredSchedule]:
    """What every schedule row should say, from the applied contracts and mesh settings (`engine`: the
    configured default engine, before the mesh's)."""
    configured = engine
    settings = lineage_store.stored_mesh_settings(session) or {}
    monitoring, default_engine = settings.get("monitoring"), settings.get("defaultEngine")
    out = []
    for bound in bound_contracts(session):
        try:
            contract = Contract.from_document(bound.document)
        except ValueError as exc:  # a stored document an older meshplane accepted
            unreadable = f"stored contract cannot be read: {exc}"[:500]
            out.append(
                store.DesiredSchedule(
                    bound.contract_id, bound.domain_id, bound.product_id, bound.port, None, None, None, unreadable, None
                )
            )
            continue
        engine = _engine_name(contract, default_engine, configured)
        declared = _declared(contract, monitoring, engine)
        text: str | None = None
        origin: str | None = None
        problem: str | None = None
        next_run: datetime | None = None
        if declared is not None:
            origin = declared.origin
            try:
                schedule = declared.parse()
            except ScheduleError as exc:
                text, problem = str(declared.value)[:200], str(exc)
            else:
                text, next_run = schedule.text, schedule.next_after(now)
        out.append(store.DesiredSchedule(bound.contract_id, bound.domain_id, bound.product_id, bound.port, engine,
                                         text, origin, problem, next_run))  # fmt: skip
    return out


def _basis(session: Session) -> str:
    newest = session.execute(sa.select(sa.func.max(m.AuditEntry.id))).scalar_one_or_none()
    settings = lineage_store.stored_mesh_settings(session) or {}
    return f"{newest}:{sorted((settings.get('monitoring') or {}).items())}:{settings.get('defaultEngine')}"


def sync(
    registry: Registry, *, now: datetime | None = None, force: bool = False, settings: Settings | None = None
) -> tuple[int, int, int] | None:
    """Bring the schedule rows in line with the registry when it changed (or `force`); (added, changed, removed).

    None: nothing changed since the last synchronisation. Runs under the exclusive write. `settings`: whose
    default engine (default: the process's; a worker passes its own).
    """
    moment = now or _utc_now()
    engine = (settings or get_settings()).engine

    def work(session: Session) -> tuple[int, int, int] | None:
        basis = _basis(session)
        stored = store.state(session, BASIS)
        if not force and stored is not None and stored.value == basis:
            return None
        counts = store.sync_schedules(session, desired_schedules(session, moment, engine), moment)
        store.set_state(session, BASIS, basis, moment)
        return counts

    result: tuple[int, int, int] | None = registry.write(work, exclusive=True)
    return result


def lake_base(session: Session, override: Path | None = None, settings: Settings | None = None) -> Path:
    """The folder relative ``local`` server paths of registered contracts resolve against (the lake root):
    `override`, else the `lake_base` of `settings` (default: the process's), else the applied mesh's folder."""
    mesh = lineage_store.stored_mesh_settings(session) or {}
    root = Path(str((mesh.get("lake") or {}).get("root") or "lake"))
    if root.is_absolute():
        return root
    base = override or (settings or get_settings()).lake_base
    if base is None:
        newest = session.execute(
            sa.select(lineage_store.IndexBuild.mesh_root).order_by(lineage_store.IndexBuild.id.desc()).limit(1)
        ).scalar_one_or_none()
        base = Path(newest) if newest else Path.cwd()
    return base / root


def _run_document(run: TestRun) -> dict[str, Any]:
    document = run.to_dict()
    for check in document.get("checks") or []:
        check.pop("samples", None)  # rows stay where the tests ran
    document["source"] = SOURCE
    return document


@dataclass
class ScheduleJob:
    """The worker's ``schedules`` job: keep schedules in line with the registry, run the due ones."""

    name: str = "schedules"
    clock: Clock = _utc_now
    runner: ContractRunner = run_contract
    """Runs one contract (`run_contract`; a test may slow it down to stop a worker mid-run)."""
    base_dir: Path | None = None
    """Where a relative ``lake.root`` resolves (default: the `lake_base` setting, else the applied mesh's folder)."""
    sync_s: float | None = None
    lease_s: float | None = None
    _synced_at: float = field(default=float("-inf"), repr=False)

    def run_once(self, worker: Worker) -> JobResult:
        """Synchronise the schedules when due, then run at most one due contract test."""
        settings = worker.settings
        registry = worker.registry
        now = self.clock()
        sync_every = self.sync_s if self.sync_s is not None else settings.monitor_sync_seconds
        monotonic = now.timestamp()
        if monotonic - self._synced_at >= sync_every:
            sync(registry, now=now, settings=settings)
            self._synced_at = monotonic
        lease = self.lease_s if self.lease_s is not None else settings.monitor_run_lease_seconds
        until = now + timedelta(seconds=lease)
        claimed = registry.write(lambda s: store.claim_due(s, worker.worker_id, now=now, until=until, limit=1))
        if not claimed:
            return JobResult()
        contract_id = claimed[0]
        result, error = self._run(registry, contract_id, worker.worker_id, settings)
        more = registry.write(lambda s: store.due_count(s, self.clock()) > 0)
        failed = 1 if result == "error" else 0
        errors = (f"{contract_id}: {error}",) if error else ()
        return JobResult(done=1, more=more, failed=failed, detail=f"tested {contract_id}: {result}", errors=errors)

    def _run(self, registry: Registry, contract_id: str, worker_id: str, settings: Settings) -> tuple[str, str | None]:
        def load(session: Session) -> tuple[dict[str, Any] | None, Path, Any]:
            bound = {b.contract_id: b for b in bound_contracts(session)}.get(contract_id)
            mesh = lineage_store.stored_mesh_settings(session) or {}
            return (
                (bound.document if bound else None),
                lake_base(session, self.base_dir, settings),
                mesh.get("defaultEngine"),
            )

        with registry.read() as session:
            document, base, default_engine = load(session)
        started = self.clock()
        run_id: int | None = None
        error: str | None = None
        result = "error"
        if document is None:
            error = "the contract is no longer bound to an output port"
        else:
            try:
                run = self.runner(
                    Contract.from_document(document),
                    base_dir=base,
                    default_engine=default_engine,
                    clock=self.clock,
                    file=f"registry:{contract_id}",
                    settings=settings,
                    lake=base,  # a domain's contract cannot have the worker read the server's files
                )
                run_id, _ = store_test_run(registry, _run_document(run), actor=WORKER_ACTOR)
                result, error = run.result.value, run.error
            except Exception as exc:  # one contract's failure must not stop the schedule
                log.exception("scheduled test of %s failed", contract_id)
                error = f"{type(exc).__name__}: {exc}"
        finished = self.clock()

        def done(session: Session) -> bool:
            row = store.schedule_row(session, contract_id)
            next_run = _next_run(row.schedule if row else None, finished)
            outcome = store.FinishedRun(started, finished, result, run_id, error, next_run)
            return store.finish(session, contract_id, worker_id, outcome)

        if not registry.write(done):
            log.warning(
                "scheduled test of %s: the claim ran out before the run ended (another worker took it)", contract_id
            )
        return result, error


def _next_run(text: str | None, after: datetime) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_schedule(text).next_after(after)
    except ScheduleError:
        return None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def schedule_status(
    registry: Registry, *, domain: str | None = None, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Each schedule: contract, port, schedule and where it came from, last run (when, how long, result), next run."""
    moment = now or _utc_now()
    with registry.read() as session:
        rows = store.schedule_rows(session, domain=domain)
        return [
            {
                "contract": row.contract_id,
                "domain": row.domain_id,
                "product": row.product_id,
                "port": row.port,
                "engine": row.engine,
                "schedule": row.schedule,
                "origin": row.origin,
                "problem": row.problem,
                "nextRunAt": _iso(row.next_run_at),
                "running": row.claimed_until is not None and row.claimed_until >= moment,
                "claimedBy": row.claimed_by if row.claimed_until is not None and row.claimed_until >= moment else None,
                "lastRun": None
                if row.last_started_at is None
                else {
                    "startedAt": _iso(row.last_started_at),
                    "finishedAt": _iso(row.last_finished_at),
                    "seconds": row.last_seconds,
                    "result": row.last_result,
                    "testRun": row.last_run_id,
                    "error": row.last_error,
                },
            }
            for row in rows
        ]


__all__ = [
    "SOURCE",
    "WORKER_ACTOR",
    "BoundContract",
    "ScheduleJob",
    "bound_contracts",
    "desired_schedules",
    "lake_base",
    "schedule_status",
    "sync",
]
