"""Freshness without scanning: the worker's ``freshness`` job judges every port's freshness SLA from what is known.

Every output port whose contract has a ``freshness`` or ``latency`` SLA property is watched. Each
cycle (`monitor_freshness_seconds`, one minute; one worker per cycle: the cycle is claimed under the
registry's exclusive write) the time the port's data last changed is taken from, cheapest first,
stopping at the first source that shows the port fresh:

1. ``lineage``: the last completed OpenLineage run that wrote the port (the registry's lineage
   tables, one grouped query for every port);
2. table metadata (`meshplane.engines.commit_times`): ``delta`` commit time, ``iceberg`` snapshot
   commit time, else the newest modification time of the ``files`` at the port's location (local
   servers);
3. ``test``: the newest value the port's last contract test measured (its ``sla.freshness`` or
   ``sla.latency`` check: the run's start minus the age it observed).

No engine is opened and no row is read. A port older than its SLA by every source that knows it
is a breach: `meshplane.service.incidents.record_outcomes` opens (or updates) the incident of the
port's ``sla.freshness`` / ``sla.latency`` check — the same key its contract test uses — in the
same cycle; a fresh port resolves it. A port no source knows anything about is left alone
(``unknown``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from meshplane.engines.commit_times import delta_commit_time, iceberg_commit_time, newest_file_time
from meshplane.registry import Registry
from meshplane.registry import lineage as lineage_store
from meshplane.registry import models as m
from meshplane.registry import monitoring as monitor_store
from meshplane.registry.worker import JobResult
from meshplane.service.incidents import Outcome, record_outcomes
from meshplane.service.schedules import bound_contracts, lake_base
from meshplane.settings import Settings
from meshplane.spec.durations import DurationError, read_duration, unit_seconds
from meshplane.spec.odcs import Contract

if TYPE_CHECKING:
    from meshplane.registry.worker import Worker

WATCHED = ("freshness", "latency")
CYCLE = "freshness-cycle"
_PLACEHOLDER = re.compile(r"\{(model|object)\}")
_FILE_SERVERS = ("local",)

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class WatchedPort:
    """One SLA of one port: its limit, and where its data lives (local servers)."""

    contract_id: str
    product_id: str | None
    port: str | None
    check_id: str
    """``sla.freshness`` or ``sla.latency``: the key of the contract test's check, shared with its incident."""
    limit_s: float
    unit: str | None
    format: str | None = None
    location: Path | None = None
    unit_s: float = 1.0
    """Seconds in one `unit` (observed ages are shown in it)."""


def _location(contract: Contract, lake: Path, element: str | None) -> tuple[str | None, Path | None]:
    servers = [s for s in contract.servers or [] if s.type in _FILE_SERVERS and s.setting("path")]
    if not servers:
        return None, None
    server = servers[0]
    objects = contract.objects
    head = (element or "").partition(".")[0]
    obj = contract.object_named(head) if head else (objects[0] if len(objects) == 1 else None)
    raw = str(server.setting("path"))
    if obj is not None:
        raw = _PLACEHOLDER.sub(obj.physical_name or obj.name, raw)
    path = Path(raw).expanduser()
    fmt = str(server.setting("format") or "").lower() or None
    return fmt, path if path.is_absolute() else lake / path


def watched_ports(
    session: Session, *, base_dir: Path | None = None, settings: Settings | None = None
) -> list[WatchedPort]:
    """Every (port, freshness or latency SLA) of the registry's bound contracts."""
    lake = lake_base(session, base_dir, settings)
    out = []
    for bound in bound_contracts(session):
        try:
            contract = Contract.from_document(bound.document)
        except ValueError:
            continue
        for prop in contract.sla_properties or []:
            name = prop.property.lower()
            if name not in WATCHED:
                continue
            try:
                limit = float(read_duration(prop.value, prop.unit))
            except (DurationError, OverflowError):
                continue  # lint reports it; the contract test says so too
            element = prop.element or contract.sla_default_element
            fmt, location = _location(contract, lake, element)
            unit_s = float(unit_seconds(prop.unit or "s") or 1)
            out.append(WatchedPort(bound.contract_id, bound.product_id, bound.port, f"sla.{prop.property}", limit,
                                   prop.unit, fmt, location, unit_s))  # fmt: skip
    return out


def lineage_times(session: Session) -> dict[tuple[str, str], datetime]:
    """(product, port) → when the last completed run that wrote it completed.

    An output another domain's maintainer reported (``sender-mismatch``) is not evidence: it never
    makes a port fresh, nor resolves its freshness incident.
    """
    query = (
        sa.select(
            lineage_store.RunDataset.product,
            lineage_store.RunDataset.port,
            sa.func.max(lineage_store.LineageRun.state_at),
        )
        .join(lineage_store.LineageRun, lineage_store.LineageRun.run_key == lineage_store.RunDataset.run_key)
        .where(
            lineage_store.RunDataset.role == "output",
            lineage_store.RunDataset.product.is_not(None),
            lineage_store.RunDataset.mismatch.is_(None),
            lineage_store.LineageRun.state == "COMPLETE",
        )
        .group_by(lineage_store.RunDataset.product, lineage_store.RunDataset.port)
    )
    return {
        (str(product), str(port)): at
        for product, port, at in session.execute(query)
        if at is not None and product is not None and port is not None
    }


def tested_times(session: Session, check_ids: Sequence[str]) -> dict[tuple[str, str], datetime]:
    """(contract, check) → the newest value the last run of that check measured (start minus the observed age)."""
    ranked = (
        sa.select(
            m.TestRun.contract_id,
            m.CheckResult.check_id,
            m.CheckResult.observed,
            m.CheckResult.threshold,
            m.TestRun.started_at,
            sa.func.row_number()
            .over(
                partition_by=(m.TestRun.contract_id, m.CheckResult.check_id),
                order_by=(m.TestRun.started_at.desc(), m.TestRun.id.desc()),
            )
            .label("rank"),
        )
        .join(m.TestRun, m.TestRun.id == m.CheckResult.test_run_id)
        .where(m.CheckResult.check_id.in_(sorted(set(check_ids))), m.CheckResult.observed.is_not(None))
        .subquery()
    )
    out: dict[tuple[str, str], datetime] = {}
    for row in session.execute(sa.select(ranked).where(ranked.c.rank == 1)):
        unit = str(row.threshold or "").split()[-1] if row.threshold else "s"
        seconds = unit_seconds(unit) or 1
        try:
            age = float(row.observed) * float(seconds)
        except (TypeError, ValueError):
            continue
        out[(row.contract_id, row.check_id)] = row.started_at - timedelta(seconds=age)
    return out


def table_time(port: WatchedPort) -> tuple[str, datetime] | None:
    """(source, time) from the port's table metadata or files; None when nothing is there."""
    if port.location is None:
        return None
    if port.format == "delta":
        stamp = delta_commit_time(port.location)
        return ("delta", stamp) if stamp is not None else None
    if port.format == "iceberg":
        stamp = iceberg_commit_time(port.location)
        return ("iceberg", stamp) if stamp is not None else None
    stamp = newest_file_time(port.location)
    return ("files", stamp) if stamp is not None else None


@dataclass(frozen=True)
class Evaluation:
    """What one cycle knows of one watched port."""

    port: WatchedPort
    newest: datetime | None
    source: str | None
    age_s: float | None
    breached: bool | None
    """None: no source knows when the data last changed."""

    def to_dict(self) -> dict[str, Any]:
        """The evaluation as the freshness status shows it."""
        return {
            "contract": self.port.contract_id,
            "product": self.port.product_id,
            "port": self.port.port,
            "check": self.port.check_id,
            "limitSeconds": self.port.limit_s,
            "newest": self.newest.isoformat() if self.newest else None,
            "source": self.source,
            "ageSeconds": round(self.age_s, 1) if self.age_s is not None else None,
            "state": "unknown" if self.breached is None else ("breached" if self.breached else "fresh"),
        }


def _sources(
    port: WatchedPort, lineage: dict[tuple[str, str], datetime], tested: dict[tuple[str, str], datetime]
) -> Iterator[tuple[str, datetime]]:
    """What each source knows of the port, cheapest first (lazily: a later source is read only if needed)."""
    if port.product_id is not None and port.port is not None and (port.product_id, port.port) in lineage:
        yield "lineage", lineage[(port.product_id, port.port)]
    found = table_time(port)
    if found is not None:
        yield found
    if (port.contract_id, port.check_id) in tested:
        yield "test", tested[(port.contract_id, port.check_id)]


def evaluate(
    ports: Sequence[WatchedPort],
    now: datetime,
    lineage: dict[tuple[str, str], datetime],
    tested: dict[tuple[str, str], datetime],
) -> list[Evaluation]:
    """Judge every port, cheapest source first, stopping at the first that shows it fresh."""
    out = []
    for port in ports:
        newest: tuple[str, datetime] | None = None
        for found in _sources(port, lineage, tested):
            if newest is None or found[1] > newest[1]:
                newest = found
            if (now - newest[1]).total_seconds() <= port.limit_s:
                break
        if newest is None:
            out.append(Evaluation(port, None, None, None, None))
            continue
        age = (now - newest[1]).total_seconds()
        out.append(Evaluation(port, newest[1], newest[0], age, age > port.limit_s))
    return out


def _outcomes(evaluations: Sequence[Evaluation], now: datetime) -> list[Outcome]:
    out = []
    for item in evaluations:
        if item.breached is None or item.age_s is None or item.newest is None:
            continue
        unit = item.port.unit or "s"
        seconds = item.port.unit_s
        shown = round(item.age_s / seconds, 3)
        threshold = f"<= {round(item.port.limit_s / seconds, 3)} {unit}"
        verdict = "beyond" if item.breached else "within"
        message = (
            f"newest data {item.newest.isoformat()} (from {item.source}), {shown} {unit} old, {verdict} {threshold}"
        )
        out.append(Outcome(item.port.contract_id, item.port.check_id, item.breached, now, "freshness", shown,
                           threshold, message, "error"))  # fmt: skip
    return out


def _basis(session: Session) -> str:
    newest = session.execute(sa.select(sa.func.max(m.AuditEntry.id))).scalar_one_or_none()
    return f"{newest}:{lineage_store.index_version(session)}"


@dataclass
class FreshnessJob:
    """The worker's ``freshness`` job: one evaluation cycle a minute, shared by every worker."""

    name: str = "freshness"
    clock: Clock = _utc_now
    interval_s: float | None = None
    base_dir: Path | None = None
    _ports: list[WatchedPort] = field(default_factory=list, repr=False)
    _basis: str | None = field(default=None, repr=False)

    def _claim_cycle(self, registry: Registry, now: datetime, interval: float) -> bool:
        def work(session: Session) -> bool:
            state = monitor_store.state(session, CYCLE)
            if state is not None and state.at + timedelta(seconds=interval) > now:
                return False
            monitor_store.set_state(session, CYCLE, state.value if state else "{}", now)
            return True

        claimed: bool = registry.write(work, exclusive=True)
        return claimed

    def watched(self, registry: Registry, settings: Settings | None = None) -> list[WatchedPort]:
        """The watched ports, parsed again only when an apply changed the registry (`settings`: whose lake base)."""
        with registry.read() as session:
            basis = _basis(session)
            if basis != self._basis:
                self._ports, self._basis = watched_ports(session, base_dir=self.base_dir, settings=settings), basis
        return self._ports

    def run_once(self, worker: Worker) -> JobResult:
        """Evaluate every watched port when this worker claims the cycle; record breaches and recoveries."""
        now = self.clock()
        interval = self.interval_s if self.interval_s is not None else worker.settings.monitor_freshness_seconds
        if not self._claim_cycle(worker.registry, now, interval):
            return JobResult()
        evaluations = evaluate_cycle(worker.registry, self.watched(worker.registry, worker.settings), now)
        breached = sum(1 for e in evaluations if e.breached)
        return JobResult(done=len(evaluations), detail=f"{len(evaluations)} port SLA(s), {breached} breached")


def evaluate_cycle(registry: Registry, ports: Sequence[WatchedPort], now: datetime) -> list[Evaluation]:
    """One cycle: read what is known, judge, record incidents and the cycle's summary."""
    with registry.read() as session:
        lineage = lineage_times(session)
        tested = tested_times(session, sorted({p.check_id for p in ports}))
    evaluations = evaluate(ports, now, lineage, tested)
    outcomes = _outcomes(evaluations, now)
    summary = {
        "at": now.isoformat(),
        "ports": len(evaluations),
        "breached": sum(1 for e in evaluations if e.breached),
        "unknown": sum(1 for e in evaluations if e.breached is None),
        "evaluations": [e.to_dict() for e in evaluations],
    }

    def record(session: Session) -> None:
        record_outcomes(session, outcomes)
        monitor_store.set_state(session, CYCLE, json.dumps(summary, separators=(",", ":")), now)

    registry.write(record, exclusive=True)
    return evaluations


def freshness_status(registry: Registry) -> dict[str, Any] | None:
    """The last cycle: when, how many port SLAs, breached, unknown, and each evaluation (None: none ran)."""
    with registry.read() as session:
        state = monitor_store.state(session, CYCLE)
    if state is None or state.value == "{}":
        return None
    value: dict[str, Any] = json.loads(state.value)
    return value


def freshness_summary(registry: Registry) -> dict[str, Any] | None:
    """The last cycle without the fresh ports: when, counts, and each breached or unknown port SLA."""
    status = freshness_status(registry)
    if status is None:
        return None
    problems = [e for e in status.get("evaluations", []) if e.get("state") != "fresh"]
    return {k: v for k, v in status.items() if k != "evaluations"} | {"problems": problems}


__all__ = [
    "CYCLE",
    "WATCHED",
    "Evaluation",
    "FreshnessJob",
    "WatchedPort",
    "evaluate",
    "evaluate_cycle",
    "freshness_status",
    "freshness_summary",
    "lineage_times",
    "table_time",
    "tested_times",
    "watched_ports",
]
