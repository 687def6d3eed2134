"""Usage agreements: a consumer product asks to use a provider's output port, with a purpose.

Lifecycle (`meshplane.access.TRANSITIONS`)::

    requested ──approve──▶ approved ──activate──▶ active ──revoke──▶ revoked
        │                     └──revoke──▶ revoked    └──end date passed──▶ expired
        ├──reject──▶ rejected
        └──revoke──▶ revoked (the request is withdrawn)

Approval activates at once (both transitions are recorded), so an approved agreement is active
until it is revoked or its optional end date has passed. An output port set to auto-approve
approves every request the moment it is made. Every transition is one `agreement_events` row and
one `audit_log` row: who, when, from which state to which, why.

Who may do what (admins may do everything):

* request: maintainers of the consumer product's domain;
* approve, reject: maintainers of the provider product's domain;
* revoke: maintainers of either side;
* set auto-approve on a port: maintainers of the port's product's domain.

All writes run inside the registry's write transaction (one writer at a time on SQLite and on
PostgreSQL), and each state change is a conditional UPDATE on the state it read, so two concurrent
approvals give one approval and one conflict, never two. A second open agreement for the same
consumer and port is impossible: ``open_key`` is unique.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from meshplane.access import OPEN_STATES, AgreementAction, AgreementState, Principal, next_state
from meshplane.diagnostics import MeshplaneError
from meshplane.errors import Conflict, NotFound
from meshplane.registry import Registry
from meshplane.registry import models as m
from meshplane.registry.access import AgreementEvent, PortSetting, UsageAgreement, open_key
from meshplane.registry.state import DRAFT

CLOCK_ACTOR = "meshplane (end date)"
AUTO_APPROVE_ACTOR = "meshplane (auto-approve)"


def _today(now: datetime) -> date:
    return now.astimezone(UTC).date()


def effective_state(state: str, end_date: date | None, now: datetime) -> AgreementState:
    """The state as of `now`: an active agreement whose end date has passed is expired."""
    parsed = AgreementState(state)
    if parsed is AgreementState.ACTIVE and end_date is not None and end_date < _today(now):
        return AgreementState.EXPIRED
    return parsed


@dataclass(frozen=True)
class Transition:
    """One recorded transition of an agreement."""

    at: datetime
    actor: str
    from_state: str | None
    to_state: str
    reason: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {
            "at": self.at.isoformat(),
            "actor": self.actor,
            "from": self.from_state,
            "to": self.to_state,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class AgreementView:
    """An agreement as the API and the CLI show it."""

    id: int
    state: AgreementState
    consumer_product: str
    consumer_domain: str
    provider_product: str
    provider_domain: str
    port: str
    purpose: str
    end_date: date | None
    requested_at: datetime
    requested_by: str
    decided_at: datetime | None
    decided_by: str | None
    updated_at: datetime
    history: tuple[Transition, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON shape (docs/api.md)."""
        return {
            "id": self.id,
            "state": self.state.value,
            "consumer": {"product": self.consumer_product, "domain": self.consumer_domain},
            "provider": {"product": self.provider_product, "domain": self.provider_domain, "port": self.port},
            "purpose": self.purpose,
            "endDate": self.end_date.isoformat() if self.end_date else None,
            "requestedAt": self.requested_at.isoformat(),
            "requestedBy": self.requested_by,
            "decidedAt": self.decided_at.isoformat() if self.decided_at else None,
            "decidedBy": self.decided_by,
            "updatedAt": self.updated_at.isoformat(),
            "history": [t.to_dict() for t in self.history],
        }


@dataclass
class AgreementPage:
    """One page of agreements and how many match in all."""

    items: list[AgreementView] = field(default_factory=list)
    total: int = 0


@dataclass(frozen=True)
class PortSettingView:
    """The settings of an output port."""

    product: str
    port: str
    auto_approve: bool
    updated_at: datetime | None
    updated_by: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {
            "product": self.product,
            "port": self.port,
            "autoApprove": self.auto_approve,
            "updatedAt": self.updated_at.isoformat() if self.updated_at else None,
            "updatedBy": self.updated_by,
        }


# --- reading ------------------------------------------------------------------------------------------


def _domains(session: Session, product_ids: set[str]) -> dict[str, str]:
    if not product_ids:
        return {}
    rows = session.execute(sa.select(m.Product.id, m.Product.domain_id).where(m.Product.id.in_(product_ids)))
    return {row.id: row.domain_id for row in rows}


def _views(session: Session, rows: Sequence[UsageAgreement], now: datetime, *, history: bool) -> list[AgreementView]:
    domains = _domains(session, {r.consumer_product_id for r in rows} | {r.provider_product_id for r in rows})
    events: dict[int, list[Transition]] = defaultdict(list)
    if history and rows:
        query = (
            sa.select(AgreementEvent)
            .where(AgreementEvent.agreement_id.in_([r.id for r in rows]))
            .order_by(AgreementEvent.id)
        )
        for ev in session.execute(query).scalars():
            events[ev.agreement_id].append(Transition(ev.at, ev.actor, ev.from_state, ev.to_state, ev.reason))
    return [
        AgreementView(
            row.id,
            effective_state(row.state, row.end_date, now),
            row.consumer_product_id,
            domains.get(row.consumer_product_id, "?"),
            row.provider_product_id,
            domains.get(row.provider_product_id, "?"),
            row.port_name,
            row.purpose,
            row.end_date,
            row.requested_at,
            row.requested_by,
            row.decided_at,
            row.decided_by,
            row.updated_at,
            tuple(events.get(row.id, ())),
        )
        for row in rows
    ]


def get_agreement(registry: Registry, agreement_id: int, *, now: datetime | None = None) -> AgreementView:
    """One agreement with its whole history."""
    with registry.read() as session:
        row = session.get(UsageAgreement, agreement_id)
        if row is None:
            raise NotFound(f"no usage agreement {agreement_id}")
        return _views(session, [row], now or m.utcnow(), history=True)[0]


def list_agreements(
    registry: Registry,
    *,
    state: AgreementState | str | None = None,
    domain: str | None = None,
    consumer: str | None = None,
    provider: str | None = None,
    port: str | None = None,
    limit: int = 50,
    offset: int = 0,
    now: datetime | None = None,
) -> AgreementPage:
    """Agreements, newest first, filtered by effective state, domain (either side), consumer, provider, port."""
    moment = now or m.utcnow()
    today = _today(moment)
    query = sa.select(UsageAgreement)
    if state is not None:
        wanted = AgreementState(state)
        ended = sa.and_(UsageAgreement.end_date.is_not(None), UsageAgreement.end_date < today)
        if wanted is AgreementState.ACTIVE:
            query = query.where(UsageAgreement.state == wanted.value, sa.not_(ended))
        elif wanted is AgreementState.EXPIRED:
            query = query.where(
                sa.or_(
                    UsageAgreement.state == wanted.value,
                    sa.and_(UsageAgreement.state == AgreementState.ACTIVE.value, ended),
                )
            )
        else:
            query = query.where(UsageAgreement.state == wanted.value)
    if consumer:
        query = query.where(UsageAgreement.consumer_product_id == consumer)
    if provider:
        query = query.where(UsageAgreement.provider_product_id == provider)
    if port:
        query = query.where(UsageAgreement.port_name == port)
    if domain:
        in_domain = sa.select(m.Product.id).where(m.Product.domain_id == domain)
        query = query.where(
            sa.or_(UsageAgreement.consumer_product_id.in_(in_domain), UsageAgreement.provider_product_id.in_(in_domain))
        )
    with registry.read() as session:
        total = session.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()
        rows = session.execute(query.order_by(UsageAgreement.id.desc()).limit(limit).offset(offset)).scalars().all()
        return AgreementPage(_views(session, rows, moment, history=False), total)


def port_setting(registry: Registry, product_id: str, port: str) -> PortSettingView:
    """The settings of an output port (defaults when never set)."""
    with registry.read() as session:
        _require_output_port(session, product_id, port)
        row = session.get(PortSetting, (product_id, port))
        if row is None:
            return PortSettingView(product_id, port, False, None, None)
        return PortSettingView(product_id, port, row.auto_approve, row.updated_at, row.updated_by)


# --- writing ------------------------------------------------------------------------------------------


def _product_domain(session: Session, product_id: str, role: str) -> str:
    row = session.execute(
        sa.select(m.Product.domain_id, m.Product.retired_at).where(m.Product.id == product_id)
    ).first()
    if row is None:
        raise NotFound(f"{role} product '{product_id}' is not registered")
    if row.retired_at is not None:
        raise MeshplaneError(f"{role} product '{product_id}' is retired")
    return str(row.domain_id)


def _require_output_port(session: Session, product_id: str, port: str) -> str:
    domain = _product_domain(session, product_id, "provider")
    found = session.execute(
        sa.select(m.OutputPort.id, m.OutputPort.contract_id, m.OutputPort.version, m.ContractVersion.status)
        .outerjoin(
            m.ContractVersion,
            sa.and_(
                m.ContractVersion.contract_id == m.OutputPort.contract_id,
                m.ContractVersion.version == m.OutputPort.version,
            ),
        )
        .where(m.OutputPort.product_id == product_id, m.OutputPort.name == port, m.OutputPort.retired_at.is_(None))
    ).all()
    if not found:
        raise NotFound(f"product '{product_id}' has no active output port '{port}'")
    if all(row.status == DRAFT for row in found):
        row = found[0]
        raise MeshplaneError(
            f"output port '{port}' of product '{product_id}' publishes contract '{row.contract_id}' {row.version}, "
            "which is a draft: a draft cannot be the target of an agreement until it is active"
        )
    return domain


def _record(
    session: Session,
    row: UsageAgreement,
    *,
    actor: str,
    from_state: AgreementState | None,
    to_state: AgreementState,
    reason: str | None,
    now: datetime,
) -> None:
    """One transition: the event row and its audit row."""
    change = f"{from_state.value} → {to_state.value}" if from_state else to_state.value
    audit = m.AuditEntry(
        at=now,
        actor=actor,
        action=f"agreement.{to_state.value}",
        subject=f"agreement {row.id}",
        summary=f"usage agreement {row.id} ({row.consumer_product_id} → {row.provider_product_id}/{row.port_name}): "
        f"{change}",
        details={
            "agreement": row.id,
            "from": from_state.value if from_state else None,
            "to": to_state.value,
            "reason": reason,
        },
    )
    session.add(audit)
    session.flush()
    session.add(
        AgreementEvent(
            agreement_id=row.id,
            at=now,
            actor=actor,
            from_state=from_state.value if from_state else None,
            to_state=to_state.value,
            reason=reason,
            audit_id=audit.id,
        )
    )


def _move(
    session: Session, row: UsageAgreement, action: AgreementAction, *, actor: str, reason: str | None, now: datetime
) -> None:
    """Apply one transition with a conditional UPDATE on the state that was read."""
    current = AgreementState(row.state)
    target = next_state(current, action)
    if target is None:
        raise Conflict(f"usage agreement {row.id} is {current.value}: it cannot be {action.value}d")
    values: dict[str, Any] = {"state": target.value, "updated_at": now}
    if action in (AgreementAction.APPROVE, AgreementAction.REJECT):
        values |= {"decided_at": now, "decided_by": actor}
    if target not in OPEN_STATES:
        values["open_key"] = None
    result = session.execute(
        sa.update(UsageAgreement)
        .where(UsageAgreement.id == row.id, UsageAgreement.state == current.value)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 1) != 1:  # pragma: no cover - the write lock makes this unreachable; kept as a guard
        raise Conflict(f"usage agreement {row.id} changed while it was being {action.value}d; look again")
    for key, value in values.items():
        setattr(row, key, value)
    _record(session, row, actor=actor, from_state=current, to_state=target, reason=reason, now=now)


def expire_due(session: Session, now: datetime) -> list[int]:
    """Persist the expiry of active agreements whose end date has passed (inside a write); their ids."""
    rows = (
        session.execute(
            sa.select(UsageAgreement).where(
                UsageAgreement.state == AgreementState.ACTIVE.value,
                UsageAgreement.end_date.is_not(None),
                UsageAgreement.end_date < _today(now),
            )
        )
        .scalars()
        .all()
    )
    for row in rows:
        _move(
            session, row, AgreementAction.EXPIRE, actor=CLOCK_ACTOR, reason=f"end date {row.end_date} passed", now=now
        )
    return [row.id for row in rows]


def expire_due_agreements(registry: Registry, now: datetime | None = None) -> list[int]:
    """Persist (and audit) every expiry that is due, in its own transaction; the expired ids.

    Each write use case calls it first, so an expiry is recorded even when that use case is then
    refused; reads show the effective state (`effective_state`) whether or not it was persisted.
    """
    moment = now or m.utcnow()
    due = sa.select(UsageAgreement.id).where(
        UsageAgreement.state == AgreementState.ACTIVE.value,
        UsageAgreement.end_date.is_not(None),
        UsageAgreement.end_date < _today(moment),
    )
    with registry.read() as session:
        if session.execute(due.limit(1)).first() is None:
            return []

    return registry.write(lambda session: expire_due(session, moment), exclusive=True)


def _clean(text: str | None, what: str, *, required: bool) -> str | None:
    value = (text or "").strip()
    if required and not value:
        raise MeshplaneError(f"{what} is required")
    if "\x00" in value:
        raise MeshplaneError(f"{what} must not contain NUL characters")
    if len(value) > 10_000:
        raise MeshplaneError(f"{what} has at most 10,000 characters")
    return value or None


def request_agreement(
    registry: Registry,
    actor: Principal,
    *,
    consumer: str,
    provider: str,
    port: str,
    purpose: str,
    end_date: date | None = None,
    now: datetime | None = None,
) -> AgreementView:
    """A consumer product's maintainer asks to use a provider's output port (approved at once on auto-approve)."""
    actor.require_writer()
    moment = now or m.utcnow()
    why = _clean(purpose, "a purpose", required=True)
    if end_date is not None and end_date < _today(moment):
        raise MeshplaneError(f"the end date {end_date} is in the past")
    if consumer == provider:
        raise MeshplaneError("a product does not need an agreement to use its own ports")
    expire_due_agreements(registry, moment)

    def _in_transaction(session: Session) -> AgreementView:
        consumer_domain = _product_domain(session, consumer, "consumer")
        actor.require_maintainer([consumer_domain], f"request access for product {consumer}")
        _require_output_port(session, provider, port)
        key = open_key(consumer, provider, port)
        existing = session.execute(
            sa.select(UsageAgreement.id, UsageAgreement.state).where(UsageAgreement.open_key == key)
        ).first()
        if existing is not None:
            raise Conflict(
                f"{consumer} already has usage agreement {existing.id} ({existing.state}) for {provider}/{port}"
            )
        row = UsageAgreement(
            consumer_product_id=consumer,
            provider_product_id=provider,
            port_name=port,
            purpose=why,
            state=AgreementState.REQUESTED.value,
            end_date=end_date,
            requested_at=moment,
            requested_by=actor.actor,
            updated_at=moment,
            open_key=key,
        )
        session.add(row)
        session.flush()
        _record(
            session, row, actor=actor.actor, from_state=None, to_state=AgreementState.REQUESTED, reason=why, now=moment
        )
        setting = session.get(PortSetting, (provider, port))
        if setting is not None and setting.auto_approve:
            auto = "the port approves requests automatically"
            _move(session, row, AgreementAction.APPROVE, actor=AUTO_APPROVE_ACTOR, reason=auto, now=moment)
            _move(session, row, AgreementAction.ACTIVATE, actor=AUTO_APPROVE_ACTOR, reason="approved", now=moment)
        session.flush()
        return _views(session, [row], moment, history=True)[0]

    return registry.write(_in_transaction, exclusive=True)


def _load_for_change(session: Session, agreement_id: int) -> tuple[UsageAgreement, str, str]:
    row = session.get(UsageAgreement, agreement_id)
    if row is None:
        raise NotFound(f"no usage agreement {agreement_id}")
    domains = _domains(session, {row.consumer_product_id, row.provider_product_id})
    return row, domains.get(row.consumer_product_id, "?"), domains.get(row.provider_product_id, "?")


def decide_agreement(
    registry: Registry,
    actor: Principal,
    agreement_id: int,
    *,
    approve: bool,
    reason: str | None = None,
    now: datetime | None = None,
) -> AgreementView:
    """The provider's maintainer approves (and so activates) or rejects a requested agreement."""
    actor.require_writer()
    moment = now or m.utcnow()
    why = _clean(reason, "a reason", required=not approve)
    expire_due_agreements(registry, moment)

    def _in_transaction(session: Session) -> AgreementView:
        row, _, provider_domain = _load_for_change(session, agreement_id)
        verb = "approve" if approve else "reject"
        actor.require_maintainer([provider_domain], f"{verb} agreements on ports of {row.provider_product_id}")
        if approve:
            _move(session, row, AgreementAction.APPROVE, actor=actor.actor, reason=why, now=moment)
            _move(session, row, AgreementAction.ACTIVATE, actor=actor.actor, reason="approved", now=moment)
        else:
            _move(session, row, AgreementAction.REJECT, actor=actor.actor, reason=why, now=moment)
        session.flush()
        return _views(session, [row], moment, history=True)[0]

    return registry.write(_in_transaction, exclusive=True)


def revoke_agreement(
    registry: Registry, actor: Principal, agreement_id: int, *, reason: str, now: datetime | None = None
) -> AgreementView:
    """Either side's maintainer ends an agreement (or withdraws a request)."""
    actor.require_writer()
    moment = now or m.utcnow()
    why = _clean(reason, "a reason", required=True)
    expire_due_agreements(registry, moment)

    def _in_transaction(session: Session) -> AgreementView:
        row, consumer_domain, provider_domain = _load_for_change(session, agreement_id)
        actor.require_maintainer_of_any([consumer_domain, provider_domain], f"revoke usage agreement {row.id}")
        _move(session, row, AgreementAction.REVOKE, actor=actor.actor, reason=why, now=moment)
        session.flush()
        return _views(session, [row], moment, history=True)[0]

    return registry.write(_in_transaction, exclusive=True)


def set_auto_approve(
    registry: Registry,
    actor: Principal,
    product_id: str,
    port: str,
    *,
    enabled: bool,
    now: datetime | None = None,
) -> PortSettingView:
    """Turn auto-approval of usage requests on or off for an output port (audited)."""
    actor.require_writer()
    moment = now or m.utcnow()

    def _in_transaction(session: Session) -> PortSettingView:
        domain = _require_output_port(session, product_id, port)
        actor.require_maintainer([domain], f"change the settings of {product_id}/{port}")
        row = session.get(PortSetting, (product_id, port))
        before = row.auto_approve if row is not None else False
        if row is None:
            row = PortSetting(
                product_id=product_id, port_name=port, auto_approve=enabled, updated_at=moment, updated_by=actor.actor
            )
            session.add(row)
        elif row.auto_approve != enabled:
            row.auto_approve, row.updated_at, row.updated_by = enabled, moment, actor.actor
        if before != enabled:
            session.add(
                m.AuditEntry(
                    at=moment,
                    actor=actor.actor,
                    action="port.auto-approve",
                    subject=f"{product_id}/{port}",
                    summary=f"auto-approve of {product_id}/{port} turned {'on' if enabled else 'off'}",
                    details={"product": product_id, "port": port, "autoApprove": enabled},
                )
            )
        session.flush()
        return PortSettingView(product_id, port, row.auto_approve, row.updated_at, row.updated_by)

    return registry.write(_in_transaction, exclusive=True)


# --- history: what was in force when ----------------------------------------------------------------

AgreementKey = tuple[str, str, str]
"""(consumer product, provider product, port name)."""


@dataclass(frozen=True)
class ActivePeriod:
    """A span an agreement was active: from its activation to its revocation, expiry or end date (excluded)."""

    agreement_id: int
    start: datetime
    end: datetime | None
    """None: still active (and no end date)."""

    def covers(self, moment: datetime) -> bool:
        """True when the agreement was active at `moment`."""
        return self.start <= moment and (self.end is None or moment < self.end)


def _end_of(day: date) -> datetime:
    """The first instant after `day` (UTC): an agreement whose end date is `day` is active through it."""
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)


@dataclass
class AgreementHistory:
    """Every agreement's transitions (`agreement_events`): what was in force at any moment.

    An agreement is in force from its activation (an approval activates at once) to its revocation
    or expiry, and never past its end date. Revoking never rewrites the past; a later agreement
    never covers earlier moments.
    """

    periods: dict[AgreementKey, list[ActivePeriod]] = field(default_factory=dict)
    transitions: dict[AgreementKey, list[tuple[datetime, int, str, date | None]]] = field(default_factory=dict)
    """(at, agreement id, state moved to, end date) in time order."""

    def covering(self, key: AgreementKey, moment: datetime) -> ActivePeriod | None:
        """The active period of an agreement of `key` at `moment`, if any."""
        return next((p for p in self.periods.get(key, ()) if p.covers(moment)), None)

    def state_at(self, key: AgreementKey, moment: datetime) -> str | None:
        """The agreements' state as of `moment`: the open one's, else the latest closed one's; None: none yet."""
        states: dict[int, tuple[datetime, str, date | None]] = {}
        for at, agreement_id, state, end in self.transitions.get(key, ()):
            if at <= moment:
                states[agreement_id] = (at, state, end)
        best: tuple[bool, datetime, str] | None = None
        for at, state, end in states.values():
            effective = effective_state(state, end, moment)
            candidate = (effective in OPEN_STATES, at, effective.value)
            best = candidate if best is None or candidate[:2] >= best[:2] else best
        return best[2] if best is not None else None


def agreement_history(session: Session) -> AgreementHistory:
    """The history of every agreement, from its recorded transitions."""
    a, e = UsageAgreement, AgreementEvent
    query = (
        sa.select(a.id, a.consumer_product_id, a.provider_product_id, a.port_name, a.end_date, e.at, e.to_state)
        .join(e, e.agreement_id == a.id)
        .order_by(e.at, e.id)
    )
    history = AgreementHistory()
    opened: dict[int, tuple[AgreementKey, datetime, date | None]] = {}
    for agreement_id, consumer, provider, port, end, at, to_state in session.execute(query):
        key = (consumer, provider, port)
        history.transitions.setdefault(key, []).append((at, agreement_id, to_state, end))
        if to_state == AgreementState.ACTIVE.value:
            opened.setdefault(agreement_id, (key, at, end))
        elif agreement_id in opened:  # revoked or expired: the period ends here (or at its end date)
            was, start, until = opened.pop(agreement_id)
            stop = min(at, _end_of(until)) if until is not None else at
            history.periods.setdefault(was, []).append(ActivePeriod(agreement_id, start, stop))
    for agreement_id, (key, start, end) in opened.items():
        history.periods.setdefault(key, []).append(
            ActivePeriod(agreement_id, start, _end_of(end) if end is not None else None)
        )
    return history


__all__ = [
    "AUTO_APPROVE_ACTOR",
    "CLOCK_ACTOR",
    "ActivePeriod",
    "AgreementHistory",
    "AgreementKey",
    "AgreementPage",
    "AgreementView",
    "PortSettingView",
    "Transition",
    "agreement_history",
    "decide_agreement",
    "effective_state",
    "expire_due",
    "expire_due_agreements",
    "get_agreement",
    "list_agreements",
    "port_setting",
    "request_agreement",
    "revoke_agreement",
    "set_auto_approve",
]
