"""Notifications of incidents: who hears what, the blast radius, and deliveries with retries.

The worker's ``notifications`` job (`NotificationJob`) does two things each run (and, through
`meshplane.service.notices`, fans agreement transitions out and sends deprecation reminders into
the same deliveries):

1. **Fan-out**: it claims the incident events not yet notified (`meshplane.registry.incidents.claim_events`)
   and, in the same transaction that marks them notified, writes one `Delivery` per (event, domain,
   target) of the domains that hear it: the incident's (provider) domain on every event (opened,
   reopened, acknowledged, resolved), every other domain in the incident's blast radius on opened,
   reopened and resolved, each filtered by the target's ``events``. The payload (schema
   `PAYLOAD_SCHEMA`, docs/monitoring.md#payload) is a snapshot taken then: what broke, since
   when, which check, the observed value, who is affected, the link to the incident's web page.
2. **Sending**: it claims one due delivery at a time with a lease (``FOR UPDATE SKIP LOCKED`` on
   PostgreSQL), makes one attempt through the target's sender (`meshplane.service.notify`, bounded
   by ``MESHPLANE_NOTIFY_TIMEOUT_SECONDS``), and records it: ``delivered``, or another attempt after
   an exponential backoff (``MESHPLANE_NOTIFY_BACKOFF_SECONDS``, doubling, at most an hour), or
   ``dead`` once ``MESHPLANE_NOTIFY_RETRY_WINDOW_SECONDS`` (24 h) after the first attempt has passed.
   Every attempt stays in the delivery's log. A run sends for about a second at most, then lets the
   worker's other jobs go: an unreachable target never holds them up.

The blast radius (`blast_radius`) is what `meshplane impact` computes — transitive, across domains,
column-aware through column lineage — for the failing check's column (its object and property, from
the check result of the incident's last run). It is computed when read (the consumer graph is cached
per registry generation, so a changed graph shows at once) and frozen into each notification.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from meshplane.registry import Registry
from meshplane.registry import incidents as incident_store
from meshplane.registry import models as m
from meshplane.registry import notifications as store
from meshplane.registry.access import UsageAgreement
from meshplane.registry.graph import cached_graph
from meshplane.registry.versions import major_of
from meshplane.registry.worker import JobResult
from meshplane.service.impact import ChangedColumn, ColumnUsage, analyse_impact, column_usage_in
from meshplane.service.incidents import incident_view
from meshplane.service.notices import fan_out_agreements, reminder_cycle, render_notice, targets_of
from meshplane.service.notify import Outgoing, sender_of
from meshplane.settings import Settings, get_settings

if TYPE_CHECKING:
    from meshplane.registry.database import StampedCache
    from meshplane.registry.worker import Worker

log = logging.getLogger(__name__)

PAYLOAD_SCHEMA = "meshplane/incident-notification/v1"
"""The ``schema`` field of every payload (docs/monitoring.md#payload)."""
PROVIDER_EVENTS = frozenset({"opened", "reopened", "acknowledged", "resolved"})
"""What the incident's own domain hears."""
CONSUMER_EVENTS = frozenset({"opened", "reopened", "resolved"})
"""What a domain in the blast radius hears."""
MAX_BACKOFF_S = 3600.0
SEND_BUDGET_S = 1.0
"""A run of the job stops claiming deliveries after this long (the worker's other jobs go next)."""


# -- blast radius ------------------------------------------------------------------------------------


def _column_of(session: Session, incident: incident_store.Incident) -> ChangedColumn | None:
    """The (object, property) the incident's check reads, from its last run's check result; None: the whole contract."""
    if incident.last_run_id is None:
        return None
    row = session.execute(
        sa.select(m.CheckResult.object, m.CheckResult.property)
        .where(m.CheckResult.test_run_id == incident.last_run_id, m.CheckResult.check_id == incident.check_id)
        .limit(1)
    ).first()
    if row is None or row[0] is None:
        return None
    return ChangedColumn(row[0], row[1], (incident.check_id,), (incident.message or "",))


def _agreements(session: Session, consumers: set[str], provider: str | None) -> set[tuple[str, str]]:
    """(consumer product, provider product) pairs with an approved or active agreement."""
    if not consumers or provider is None:
        return set()
    rows = session.execute(
        sa.select(UsageAgreement.consumer_product_id, UsageAgreement.provider_product_id).where(
            UsageAgreement.consumer_product_id.in_(sorted(consumers)),
            UsageAgreement.state.in_(("approved", "active")),
        )
    )
    return {(str(c), str(p)) for c, p in rows}


def blast_radius(session: Session, cache: StampedCache, incident: incident_store.Incident) -> list[dict[str, Any]]:
    """The downstream consumers the incident affects (or may: column lineage unknown), with team and evidence.

    Each entry: ``product``, ``domain``, ``team``, ``depth``, ``path``, ``inputPort``, ``usage``
    (``affected`` or ``unknown``), ``reason``, and ``knownBy`` (``inputPort``: it declares an input
    port on the contract; ``agreement``: an approved or active agreement with the provider for a
    direct consumer; ``lineage``: its column lineage says it reads the failing column). Consumers that
    column lineage shows not reading the column are left out.
    """
    contract = session.get(m.Contract, incident.contract_id)
    if contract is None:
        return []
    graph = cached_graph(session, cache)
    column = _column_of(session, incident)
    report = analyse_impact(
        graph,
        incident.contract_id,
        major_of(contract.latest_version) if contract.latest_version else None,
        provider=incident.product_id or contract.product_id,
        changes=None if column is None else [_ColumnChange(column)],
        resolver=column_usage_in(session),
    )
    affected = [c for c in report.consumers if c.usage is not ColumnUsage.NOT_USING]
    direct_provider = {c.consumer.product: c.consumer.path[-2] if len(c.consumer.path) > 1 else None for c in affected}
    agreed = _agreements(session, {c.consumer.product for c in affected}, incident.product_id)
    out = []
    for item in affected:
        consumer = item.consumer
        known = ["inputPort"]
        if (consumer.product, direct_provider.get(consumer.product)) in agreed:
            known.append("agreement")
        if "column lineage" in item.reason:
            known.append("lineage")
        out.append(
            {
                "product": consumer.product,
                "domain": consumer.domain,
                "team": consumer.team,
                "depth": consumer.depth,
                "path": list(consumer.path),
                "inputPort": consumer.input_port,
                "usage": item.usage.value,
                "reason": item.reason,
                "knownBy": known,
            }
        )
    return out


@dataclass(frozen=True)
class _ColumnChange:
    """The failing check's column as a change `analyse_impact` judges consumers against."""

    column: ChangedColumn

    @property
    def rule(self) -> str:
        return "incident"

    @property
    def message(self) -> str:
        return self.column.messages[0] if self.column.messages else ""

    @property
    def object(self) -> str | None:
        return self.column.object_name

    @property
    def property(self) -> str | None:
        return self.column.property_name

    def to_dict(self) -> dict[str, Any]:
        return {"object": self.object, "property": self.property}


# -- payloads ------------------------------------------------------------------------------------------


def incident_url(incident_id: int, base: str | None) -> str | None:
    """The incident's web page below the server's public URL `base` (``MESHPLANE_PUBLIC_URL``), if any."""
    return f"{base.rstrip('/')}/incidents/{incident_id}" if base else None


def payload_of(
    incident: incident_store.Incident,
    event: incident_store.IncidentEvent,
    radius: list[dict[str, Any]],
    *,
    domain: str,
    audience: str,
    public_url: str | None = None,
) -> dict[str, Any]:
    """The JSON a target receives about one event (schema `PAYLOAD_SCHEMA`); its link below `public_url`."""
    view = incident_view(incident)
    return {
        "schema": PAYLOAD_SCHEMA,
        "kind": "incident",
        "event": {
            "id": event.id,
            "kind": event.kind,
            "at": event.at.isoformat(),
            "actor": event.actor,
            "reason": event.reason,
            "note": event.note,
        },
        "incident": {
            key: view[key]
            for key in (
                "id",
                "key",
                "contract",
                "check",
                "kind",
                "domain",
                "product",
                "port",
                "state",
                "severity",
                "openedAt",
                "firstSeenAt",
                "lastSeenAt",
                "occurrences",
                "reopened",
                "observed",
                "threshold",
                "message",
            )
        }
        | {"url": incident_url(incident.id, public_url)},
        "recipient": {"domain": domain, "audience": audience},
        "affected": {
            "consumers": radius,
            "domains": sorted({c["domain"] for c in radius}),
            "yours": [c["product"] for c in radius if c["domain"] == domain],
        },
    }


def render(payload: dict[str, Any]) -> tuple[str, str]:
    """(title, text) of a payload, for chat and e-mail targets (agreement and deprecation ones: `render_notice`)."""
    if payload.get("kind") in ("agreement", "deprecation"):
        return render_notice(payload)
    incident, event, affected = payload["incident"], payload["event"], payload["affected"]
    where = f"{incident['product']}:{incident['port']}" if incident["port"] else incident["contract"]
    title = f"meshplane incident {event['kind']}: {where} · {incident['check']}"
    lines = [
        f"What broke: check {incident['check']} of contract {incident['contract']} (port {where}, domain "
        f"{incident['domain']}): {incident['message'] or 'failed'}",
        f"Since: {incident['firstSeenAt']} (seen {incident['occurrences']} time(s), last {incident['lastSeenAt']})",
        f"Observed: {incident['observed']!r}"
        + (f" (expected {incident['threshold']})" if incident["threshold"] else ""),
        f"State: {incident['state']} ({event['kind']} by {event['actor']}"
        + (f", {event['reason']}" if event["reason"] else "")
        + (f": {event['note']}" if event["note"] else "")
        + ")",
    ]
    consumers = affected["consumers"]
    if consumers:
        names = ", ".join(f"{c['product']} ({c['domain']}, team {c['team'] or '?'})" for c in consumers[:20])
        more = f" and {len(consumers) - 20} more" if len(consumers) > 20 else ""
        lines.append(f"Affected: {len(consumers)} consumer(s) in {len(affected['domains'])} domain(s): {names}{more}")
    else:
        lines.append("Affected: no known downstream consumer")
    if affected["yours"]:
        lines.append(f"Your products affected: {', '.join(affected['yours'])}")
    if incident["url"]:
        lines.append(f"Incident: {incident['url']}")
    return title, "\n".join(lines)


# -- fan-out -------------------------------------------------------------------------------------------


@dataclass
class FanOut:
    """What one fan-out did."""

    events: int = 0
    deliveries: int = 0


def fan_out(
    registry: Registry, worker_id: str, *, lease_s: float = 60.0, limit: int = 100, settings: Settings | None = None
) -> FanOut:
    """Turn unnotified incident events into deliveries and mark them notified, in one transaction
    (`settings`: whose public URL the links use; default: the process's, a worker passes its own)."""
    public_url = (settings or get_settings()).public_url

    def work(session: Session) -> FanOut:
        now = datetime.now(UTC)
        ids = incident_store.claim_events(
            session, worker_id, now=now, until=now + timedelta(seconds=lease_s), limit=limit
        )
        result = FanOut(events=len(ids))
        if not ids:
            return result
        existing = store.existing_keys(session, ids)
        events = list(
            session.scalars(sa.select(incident_store.IncidentEvent).where(incident_store.IncidentEvent.id.in_(ids)))
        )
        radii: dict[int, list[dict[str, Any]]] = {}
        for event in sorted(events, key=lambda e: e.id):
            incident = session.get_one(incident_store.Incident, event.incident_id)
            if incident.id not in radii:
                radii[incident.id] = blast_radius(session, registry.cache, incident)
            radius = radii[incident.id]
            audiences = {incident.domain_id: "provider"} if event.kind in PROVIDER_EVENTS else {}
            if event.kind in CONSUMER_EVENTS:
                for consumer in radius:
                    audiences.setdefault(consumer["domain"], "consumer")
            for domain, targets in sorted(targets_of(session, set(audiences)).items()):
                for target in targets:
                    if target.events is not None and event.kind not in target.events:
                        continue
                    if (event.id, domain, target.name) in existing:
                        continue
                    kind = "webhook" if target.webhook is not None else "apprise"
                    payload = payload_of(
                        incident, event, radius, domain=domain, audience=audiences[domain], public_url=public_url
                    )
                    session.add(
                        store.Delivery(
                            incident_id=incident.id, event_id=event.id, domain_id=domain,
                            audience=audiences[domain], target=target.name, kind=kind,
                            address=target.webhook or target.apprise or "", secret_env=target.secret_env,
                            payload=payload, state="pending", created_at=now, next_attempt_at=now, attempts=0,
                            attempts_log=[],
                        )
                    )  # fmt: skip
                    existing.add((event.id, domain, target.name))
                    result.deliveries += 1
        session.flush()
        incident_store.mark_notified(session, ids, worker_id, now)
        return result

    result: FanOut = registry.write(work)
    return result


# -- sending -------------------------------------------------------------------------------------------


@dataclass
class Sent:
    """What one sending pass did."""

    delivered: int = 0
    retrying: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def attempts(self) -> int:
        """Attempts made."""
        return self.delivered + self.retrying + self.dead


def next_delay(attempts: int, backoff_s: float) -> float:
    """Seconds before the attempt after `attempts` failed ones: the backoff doubled each time, at most an hour."""
    return float(min(backoff_s * 2 ** max(attempts - 1, 0), MAX_BACKOFF_S))


def send_one(
    registry: Registry, worker_id: str, *, lease_s: float = 60.0, settings: Settings | None = None
) -> tuple[str, str | None] | None:
    """Claim one due delivery, attempt it, record the attempt; (its new state, error) or None when none is due.
    `settings`: the timeout, backoff and retry window (default: the process's; a worker passes its own)."""
    settings = settings or get_settings()
    now = datetime.now(UTC)
    until = now + timedelta(seconds=max(lease_s, settings.notify_timeout_seconds * 3))

    def claim(session: Session) -> tuple[str, Outgoing] | None:
        row = store.claim_due(session, worker_id, now=now, until=until)
        if row is None:
            return None
        title, text = render(row.payload)
        return row.kind, Outgoing(row.id, row.attempts + 1, row.address, row.secret_env, row.payload, title, text,
                                  settings.notify_timeout_seconds)  # fmt: skip

    claimed: tuple[str, Outgoing] | None = registry.write(claim)
    if claimed is None:
        return None
    kind, outgoing = claimed
    result = sender_of(kind)(outgoing)
    done = datetime.now(UTC)

    def record(session: Session) -> tuple[str, str | None]:
        row = session.get(store.Delivery, outgoing.delivery_id, populate_existing=True)
        if row is None or row.claimed_by != worker_id or row.state != "pending":
            return "lost-claim", None  # the lease ran out and another sender took it: its record wins
        entry = {"attempt": outgoing.attempt, "at": done.isoformat(), "ok": result.ok, "status": result.status,
                 "error": result.error, "by": worker_id}  # fmt: skip
        row.attempts_log = [*row.attempts_log, entry]
        row.attempts = outgoing.attempt
        row.claimed_by = row.claimed_until = None
        if result.ok:
            row.state, row.delivered_at, row.last_error = "delivered", done, None
            return "delivered", None
        row.last_error = result.error
        first = datetime.fromisoformat(row.attempts_log[0]["at"])
        retry_at = done + timedelta(seconds=next_delay(row.attempts, settings.notify_backoff_seconds))
        if retry_at > first + timedelta(seconds=settings.notify_retry_window_seconds):
            row.state = "dead"
            return "dead", result.error
        row.next_attempt_at = retry_at
        return "retrying", result.error

    state: tuple[str, str | None] = registry.write(record)
    return state


def send_due(
    registry: Registry,
    worker_id: str,
    *,
    budget_s: float = SEND_BUDGET_S,
    lease_s: float = 60.0,
    settings: Settings | None = None,
) -> tuple[Sent, bool]:
    """Attempt due deliveries one by one for about `budget_s`; (what happened, more may be due)."""
    sent = Sent()
    started = time.monotonic()
    while time.monotonic() - started < budget_s:
        outcome = send_one(registry, worker_id, lease_s=lease_s, settings=settings)
        if outcome is None:
            return sent, False
        state, error = outcome
        if state == "delivered":
            sent.delivered += 1
        elif state == "retrying":
            sent.retrying += 1
        elif state == "dead":
            sent.dead += 1
        if error:
            sent.errors.append(error)
    return sent, True


@dataclass
class NotificationJob:
    """The worker's ``notifications`` job: fan incident and agreement events out to deliveries, remind, send."""

    name: str = "notifications"
    reminder_interval_s: float | None = None
    """Seconds between deprecation reminder cycles (None: ``MESHPLANE_NOTIFY_REMINDER_SECONDS``)."""
    _reminders_not_before: float = field(default=0.0, repr=False)

    def _remind(self, worker: Worker) -> tuple[int, int] | None:
        """The reminder cycle when it is due; this worker asks the registry at most once a minute."""
        if time.monotonic() < self._reminders_not_before:
            return None
        interval = self.reminder_interval_s if self.reminder_interval_s is not None else (
            worker.settings.notify_reminder_seconds
        )  # fmt: skip
        self._reminders_not_before = time.monotonic() + min(interval, 60.0)
        return reminder_cycle(worker.registry, interval_s=interval, settings=worker.settings)

    def run_once(self, worker: Worker) -> JobResult:
        """One fan-out of new events, the reminders when due, and about a second of sending."""
        spread = fan_out(worker.registry, worker.worker_id, lease_s=worker.lease_s, settings=worker.settings)
        agreed, agreed_deliveries = fan_out_agreements(
            worker.registry, worker.worker_id, lease_s=worker.lease_s, settings=worker.settings
        )
        problems: list[str] = []
        try:
            reminded = self._remind(worker)
        except Exception as exc:  # a reminder cycle that fails never holds up the deliveries
            log.exception("deprecation reminders failed")
            reminded, problems = None, [f"deprecation reminders: {type(exc).__name__}: {exc}"[:500]]
        sent, more = send_due(worker.registry, worker.worker_id, lease_s=worker.lease_s, settings=worker.settings)
        detail = (
            f"{spread.events} event(s) → {spread.deliveries} deliveries; {agreed} agreement event(s) → "
            f"{agreed_deliveries}; {reminded[0] if reminded else 0} reminder(s) → {reminded[1] if reminded else 0}; "
            f"{sent.delivered} delivered, {sent.retrying} to retry, {sent.dead} dead"
        )
        return JobResult(
            done=spread.events + agreed + sent.attempts,
            more=more or spread.events > 0 or agreed > 0,
            failed=sent.retrying + sent.dead + len(problems),
            detail=detail,
            errors=tuple([*sent.errors, *problems][-5:]),
        )


# -- reading ---------------------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def delivery_view(row: store.Delivery) -> dict[str, Any]:
    """A delivery as the API and the CLI show it (never its address: placeholders or tokens may be in it)."""
    return {
        "id": row.id,
        "event": row.event_id or row.agreement_event_id or row.reminder_id,
        "eventKind": row.payload.get("event", {}).get("kind"),
        "domain": row.domain_id,
        "audience": row.audience,
        "target": row.target,
        "targetKind": row.kind,
        "state": row.state,
        "attempts": row.attempts,
        "createdAt": _iso(row.created_at),
        "nextAttemptAt": _iso(row.next_attempt_at) if row.state == "pending" else None,
        "deliveredAt": _iso(row.delivered_at),
        "lastError": row.last_error,
        "log": list(row.attempts_log),
    }


def incident_extras(registry: Registry, incident_id: int) -> dict[str, Any]:
    """What an incident's page adds to the incident: its blast radius now and its deliveries."""
    with registry.read() as session:
        incident = session.get(incident_store.Incident, incident_id)
        if incident is None:
            return {"blastRadius": [], "deliveries": []}
        return {
            "blastRadius": blast_radius(session, registry.cache, incident),
            "deliveries": [delivery_view(row) for row in store.of_incident(session, incident_id)],
        }


def agreement_deliveries(registry: Registry, agreement_id: int) -> list[dict[str, Any]]:
    """The deliveries of an agreement's transitions, oldest first (``event``: the agreement event's id)."""
    with registry.read() as session:
        return [delivery_view(row) for row in store.of_subject(session, agreement_id=agreement_id)]


__all__ = [
    "CONSUMER_EVENTS",
    "PAYLOAD_SCHEMA",
    "PROVIDER_EVENTS",
    "FanOut",
    "NotificationJob",
    "Sent",
    "agreement_deliveries",
    "blast_radius",
    "delivery_view",
    "fan_out",
    "incident_extras",
    "incident_url",
    "next_delay",
    "payload_of",
    "render",
    "send_due",
    "send_one",
    "targets_of",
]
