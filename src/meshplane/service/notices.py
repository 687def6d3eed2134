"""Notifications about usage agreements and deprecated ports, through the incidents' delivery log.

Two more subjects go out through the notifications job (`meshplane.service.notifications`), each
to the targets a domain declares in its ``domain.yaml`` and into the same `Delivery` log (signed
webhooks, apprise, retries, dead letters):

* **agreement transitions**. Every transition of a usage agreement is an ``agreement_events`` row
  written in the transaction that makes it (`meshplane.service.agreements`, so the CLI, the API
  and the web form all notify); the job claims the rows not yet notified, writes the deliveries
  and marks them notified in one transaction (`fan_out_agreements`), exactly as it does incident
  events. A request is sent to the provider product's domain; a decision (approved, rejected,
  revoked, expired) to the requester, the consumer product's domain. Sending never touches the
  transition: a receiver that is down only delays its own delivery.
* **deprecation reminders**. About every ``MESHPLANE_NOTIFY_REMINDER_SECONDS`` (6 h) one worker
  reads the open migrations (`meshplane.service.migrations.list_migrations`, what ``meshplane
  migrations`` shows) and reminds each consumer still on a deprecated port — its domain's
  targets — once per milestone (`milestone_of`: deprecated, 30 and 7 days before the sunset date,
  sunset passed). What was reminded is a `DeprecationReminder` row, unique per (port, consumer,
  milestone): the next cycle finds it and sends nothing again; a consumer that moved is no longer
  on the port and hears nothing more.

Payload schemas: `AGREEMENT_SCHEMA` and `REMINDER_SCHEMA` (docs/monitoring.md#payload); ``kind``
says which subject a payload is about (``incident``, ``agreement``, ``deprecation``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from meshplane.registry import Registry
from meshplane.registry import models as m
from meshplane.registry import monitoring as monitor_store
from meshplane.registry import notifications as store
from meshplane.registry.access import AgreementEvent, UsageAgreement
from meshplane.service.migrations import list_migrations
from meshplane.settings import Settings, get_settings
from meshplane.spec.meshfiles import NotificationTarget

AGREEMENT_SCHEMA = "meshplane/agreement-notification/v1"
"""The ``schema`` of an agreement transition's payload."""
REMINDER_SCHEMA = "meshplane/deprecation-notification/v1"
"""The ``schema`` of a deprecation reminder's payload."""
AGREEMENT_AUDIENCE = {
    "requested": "provider",
    "approved": "consumer",
    "rejected": "consumer",
    "revoked": "consumer",
    "expired": "consumer",
}
"""Who hears each transition (by the state it reaches); ``active``, which follows an approval, is not sent."""
MILESTONES = ("deprecated", "sunset-30d", "sunset-7d", "sunset-passed")
REMINDER_CYCLE = "deprecation-reminders"
"""The `monitor_state` row holding when the last reminder cycle ran."""


def targets_of(session: Session, domain_ids: set[str]) -> dict[str, list[NotificationTarget]]:
    """The notification targets each domain declares (its applied domain.yaml)."""
    if not domain_ids:
        return {}
    rows = session.execute(
        sa.select(m.Domain.id, m.Domain.document).where(
            m.Domain.id.in_(sorted(domain_ids)), m.Domain.retired_at.is_(None)
        )
    )
    out: dict[str, list[NotificationTarget]] = {}
    for domain_id, document in rows:
        declared = (document or {}).get("notifications") or []
        out[str(domain_id)] = [NotificationTarget.model_validate(item) for item in declared if isinstance(item, dict)]
    return out


def public_link(path: str, base: str | None) -> str | None:
    """`path` below the server's public URL `base` (``MESHPLANE_PUBLIC_URL``); None when there is none."""
    return f"{base.rstrip('/')}/{path.lstrip('/')}" if base else None


def wants(target: NotificationTarget, kind: str) -> bool:
    """Whether `target` hears events of `kind` (its ``events`` filter; none: everything its domain hears)."""
    return target.events is None or kind in target.events


def delivery(target: NotificationTarget, *, domain: str, audience: str, payload: dict[str, Any], now: datetime,
             **subject: int) -> store.Delivery:  # fmt: skip
    """A pending delivery of `payload` to `target`, about `subject` (``agreement_event_id=`` or ``reminder_id=``)."""
    return store.Delivery(
        domain_id=domain, audience=audience, target=target.name,
        kind="webhook" if target.webhook is not None else "apprise", address=target.webhook or target.apprise or "",
        secret_env=target.secret_env, payload=payload, state="pending", created_at=now, next_attempt_at=now,
        attempts=0, attempts_log=[], **subject,
    )  # fmt: skip


# -- agreements ----------------------------------------------------------------------------------------


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def agreement_payload(
    row: UsageAgreement,
    event: AgreementEvent,
    domains: dict[str, str],
    *,
    domain: str,
    audience: str,
    public_url: str | None = None,
) -> dict[str, Any]:
    """The JSON a target receives about one agreement transition (schema `AGREEMENT_SCHEMA`); links below
    `public_url` when there is one."""
    path = "/agreements" if event.to_state == "requested" else f"/products/{row.consumer_product_id}"
    link = public_link(path, public_url)
    return {
        "schema": AGREEMENT_SCHEMA,
        "kind": "agreement",
        "event": {
            "id": event.id, "kind": f"agreement.{event.to_state}", "at": event.at.isoformat(), "actor": event.actor,
            "from": event.from_state, "to": event.to_state, "reason": event.reason,
        },
        "agreement": {
            "id": row.id, "consumer": row.consumer_product_id, "consumerDomain": domains.get(row.consumer_product_id),
            "provider": row.provider_product_id, "providerDomain": domains.get(row.provider_product_id),
            "port": row.port_name, "purpose": row.purpose, "state": row.state, "endDate": _iso(row.end_date),
            "requestedAt": _iso(row.requested_at), "requestedBy": row.requested_by,
            "decidedAt": _iso(row.decided_at), "decidedBy": row.decided_by, "url": link,
        },
        "recipient": {"domain": domain, "audience": audience},
    }  # fmt: skip


def fan_out_agreements(
    registry: Registry, worker_id: str, *, lease_s: float = 60.0, limit: int = 100, settings: Settings | None = None
) -> tuple[int, int]:
    """Turn agreement transitions not yet notified into deliveries and mark them notified, in one transaction.

    Answers (transitions fanned out, deliveries written). `settings`: whose public URL the links use
    (default: the process's; a worker passes its own).
    """
    public_url = (settings or get_settings()).public_url

    with registry.read() as session:  # a read first: nothing waits most of the time, and a write costs more
        waiting = session.execute(sa.select(AgreementEvent.id).where(AgreementEvent.notified_at.is_(None)).limit(1))
        if waiting.first() is None:
            return 0, 0

    def work(session: Session) -> tuple[int, int]:
        now = datetime.now(UTC)
        ids = store.claim_agreement_events(
            session, worker_id, now=now, until=now + timedelta(seconds=lease_s), limit=limit
        )
        if not ids:
            return 0, 0
        events = list(session.scalars(sa.select(AgreementEvent).where(AgreementEvent.id.in_(ids))))
        made = 0
        for event in sorted(events, key=lambda e: e.id):
            audience = AGREEMENT_AUDIENCE.get(event.to_state)
            row = session.get(UsageAgreement, event.agreement_id)
            if audience is None or row is None:
                continue
            products = {row.consumer_product_id, row.provider_product_id}
            domains = {str(p): str(d) for p, d in session.execute(
                sa.select(m.Product.id, m.Product.domain_id).where(m.Product.id.in_(sorted(products)))
            )}  # fmt: skip
            domain = domains.get(row.provider_product_id if audience == "provider" else row.consumer_product_id)
            if domain is None:
                continue
            kind = f"agreement.{event.to_state}"
            for target in targets_of(session, {domain}).get(domain, []):
                if wants(target, kind):
                    payload = agreement_payload(
                        row, event, domains, domain=domain, audience=audience, public_url=public_url
                    )
                    session.add(delivery(target, domain=domain, audience=audience, payload=payload, now=now,
                                         agreement_event_id=event.id))  # fmt: skip
                    made += 1
        session.flush()
        store.mark_agreement_events(session, ids, worker_id, now)
        return len(ids), made

    result: tuple[int, int] = registry.write(work)
    return result


# -- deprecation reminders -------------------------------------------------------------------------------


def milestone_of(sunset: date | None, today: date) -> str:
    """The reminder milestone a deprecated port is at: deprecated, sunset-30d, sunset-7d or sunset-passed."""
    if sunset is None:
        return "deprecated"
    left = (sunset - today).days
    if left < 0:
        return "sunset-passed"
    if left <= 7:
        return "sunset-7d"
    if left <= 30:
        return "sunset-30d"
    return "deprecated"


@dataclass(frozen=True)
class _Due:
    """A reminder to decide: one consumer on one deprecated port at one milestone."""

    key: str
    migration: dict[str, Any]
    consumer: str
    domain: str
    team: str | None
    how: tuple[str, ...]
    milestone: str


def _due(migrations: Sequence[dict[str, Any]], today: date) -> list[_Due]:
    out: list[_Due] = []
    for mig in migrations:
        old = mig["old"]
        sunset = date.fromisoformat(mig["sunsetDate"]) if mig["sunsetDate"] else None
        milestone = milestone_of(sunset, today)
        grouped: dict[str, tuple[str, str | None, list[str]]] = {}
        for consumer in mig["remaining"]:
            if not consumer.get("domain"):
                continue
            name = consumer["product"] or f"domain:{consumer['domain']}"
            _, team, how = grouped.setdefault(name, (consumer["domain"], consumer.get("team"), []))
            how.append(f"{consumer['how']} {consumer['detail']}")
        for name, (domain, team, how) in sorted(grouped.items()):
            key = f"{old['product']}/{old['port']}@{old['version']}|{name}|{milestone}"
            out.append(_Due(key, mig, name, domain, team, tuple(how), milestone))
    return out


def reminder_payload(due: _Due, reminder_id: int, at: datetime, public_url: str | None = None) -> dict[str, Any]:
    """The JSON a consumer domain's target receives about a deprecated port it is still on (`REMINDER_SCHEMA`)."""
    mig = due.migration
    return {
        "schema": REMINDER_SCHEMA,
        "kind": "deprecation",
        "event": {"id": reminder_id, "kind": "deprecation.reminder", "at": at.isoformat(), "milestone": due.milestone},
        "port": {**mig["old"], "contract": mig["contract"]},
        "sunsetDate": mig["sunsetDate"],
        "daysToSunset": mig["daysToSunset"],
        "replacedBy": mig["new"],
        "consumer": {"name": due.consumer, "domain": due.domain, "team": due.team, "how": list(due.how)},
        "recipient": {"domain": due.domain, "audience": "consumer"},
        "url": public_link("/migrations", public_url),
    }


def send_reminders(
    registry: Registry, *, now: datetime | None = None, settings: Settings | None = None
) -> tuple[int, int]:
    """Remind every consumer still on a deprecated port of its milestone, once; (reminders, deliveries) made.
    `settings`: whose public URL the links use (default: the process's)."""
    moment = now or datetime.now(UTC)
    public_url = (settings or get_settings()).public_url
    due = _due(list_migrations(registry, now=moment), moment.date())
    if not due:
        return 0, 0

    def work(session: Session) -> tuple[int, int]:
        sent_at = datetime.now(UTC)  # `now` may be another day (tests, a catch-up): what is made is due at once
        done = store.reminded_keys(session, [d.key for d in due])
        fresh = [d for d in due if d.key not in done]
        targets = targets_of(session, {d.domain for d in fresh})
        made = 0
        for item in fresh:
            old = item.migration["old"]
            sunset = item.migration["sunsetDate"]
            row = store.DeprecationReminder(
                key=item.key, provider_product_id=old["product"], port_name=old["port"], port_version=old["version"],
                consumer=item.consumer, consumer_domain=item.domain, milestone=item.milestone,
                sunset_date=date.fromisoformat(sunset) if sunset else None, created_at=sent_at,
            )  # fmt: skip
            session.add(row)
            session.flush()
            payload = reminder_payload(item, row.id, sent_at, public_url)
            for target in targets.get(item.domain, []):
                if wants(target, "deprecation.reminder"):
                    session.add(delivery(target, domain=item.domain, audience="consumer", payload=payload,
                                         now=sent_at, reminder_id=row.id))  # fmt: skip
                    made += 1
        session.flush()
        return len(fresh), made

    result: tuple[int, int] = registry.write(work, exclusive=True)
    return result


def reminder_cycle(
    registry: Registry,
    *,
    now: datetime | None = None,
    interval_s: float | None = None,
    settings: Settings | None = None,
) -> tuple[int, int] | None:
    """Send the reminders when this worker claims the cycle (one every `interval_s`, default the
    `notify_reminder_seconds` of `settings`, the process's by default); None: not its turn."""
    moment = now or datetime.now(UTC)
    settings = settings or get_settings()
    interval = interval_s if interval_s is not None else settings.notify_reminder_seconds

    def claim(session: Session) -> bool:
        state = monitor_store.state(session, REMINDER_CYCLE)
        if state is not None and state.at + timedelta(seconds=interval) > moment:
            return False
        monitor_store.set_state(session, REMINDER_CYCLE, "{}", moment)
        return True

    if not registry.write(claim, exclusive=True):
        return None
    return send_reminders(registry, now=moment, settings=settings)


# -- text --------------------------------------------------------------------------------------------------


def render_notice(payload: dict[str, Any]) -> tuple[str, str]:
    """(title, text) of an agreement or deprecation payload, for chat and e-mail targets."""
    if payload.get("kind") == "agreement":
        event, agreement = payload["event"], payload["agreement"]
        where = f"{agreement['provider']}/{agreement['port']}"
        title = f"meshplane usage agreement {event['to']}: {agreement['consumer']} → {where}"
        lines = [
            f"Usage agreement {agreement['id']}: {agreement['consumer']} (domain {agreement['consumerDomain']}) "
            f"on port {where} (domain {agreement['providerDomain']})",
            f"Purpose: {agreement['purpose']}",
            f"Now {agreement['state']} ({event['kind']} by {event['actor']} at {event['at']}"
            + (f": {event['reason']}" if event["reason"] else "")
            + ")",
        ]
        if agreement["endDate"]:
            lines.append(f"Until: {agreement['endDate']}")
        if agreement["url"]:
            lines.append(("Decide: " if event["to"] == "requested" else "See: ") + agreement["url"])
        return title, "\n".join(lines)
    port, event, consumer = payload["port"], payload["event"], payload["consumer"]
    where = f"{port['product']}/{port['port']}@{port['version']}"
    title = f"meshplane deprecation reminder ({event['milestone']}): {where}"
    sunset, left = payload["sunsetDate"], payload["daysToSunset"]
    when = "passed" if left is not None and left < 0 else f"{left} day(s) left"
    lines = [
        f"{consumer['name']} (domain {consumer['domain']}) is still on the deprecated port {where} "
        f"(contract {port['contract']}): {', '.join(consumer['how'])}",
        f"Sunset: {sunset} ({when})" if sunset else "Sunset: no date yet",
    ]
    new = payload["replacedBy"]
    if new:
        lines.append(f"Move to: {new['product']}/{new['port']}@{new['version']}")
    if payload["url"]:
        lines.append(f"Migrations: {payload['url']}")
    return title, "\n".join(lines)


__all__ = [
    "AGREEMENT_AUDIENCE",
    "AGREEMENT_SCHEMA",
    "MILESTONES",
    "REMINDER_CYCLE",
    "REMINDER_SCHEMA",
    "agreement_payload",
    "delivery",
    "fan_out_agreements",
    "milestone_of",
    "public_link",
    "reminder_cycle",
    "reminder_payload",
    "render_notice",
    "send_reminders",
    "targets_of",
    "wants",
]
