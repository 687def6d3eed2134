"""Usage agreement use cases on SQLite and PostgreSQL: the state table, permissions, expiry, uniqueness."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from meshplane.access import TRANSITIONS, AgreementAction, AgreementState, Principal, Role, next_state
from meshplane.diagnostics import MeshplaneError
from meshplane.errors import AccessDenied, Conflict
from meshplane.registry import Registry
from meshplane.registry import models as m
from meshplane.registry.access import AgreementEvent, UsageAgreement, open_key
from meshplane.service.agreements import (
    decide_agreement,
    effective_state,
    expire_due_agreements,
    get_agreement,
    list_agreements,
    request_agreement,
    revoke_agreement,
    set_auto_approve,
)
from meshplane.service.gitops import apply_mesh

REPO = Path(__file__).resolve().parents[2]
ADMIN = Principal.local_admin("operator")
RETAIL = Principal("ci-retail", Role.MAINTAINER, "retail", "aaaaaaaa")
CUSTOMER = Principal("ci-customer", Role.MAINTAINER, "customer", "bbbbbbbb")
FINANCE = Principal("ci-finance", Role.MAINTAINER, "finance", "cccccccc")
READER = Principal("reader", Role.READER)
ASK = {"consumer": "retail.sales", "provider": "customer.profiles", "port": "customers", "purpose": "orders"}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Registry]:
    url = f"sqlite:///{tmp_path / 'r.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    mesh = shutil.copytree(
        REPO / "examples/holding", tmp_path / "mesh", ignore=shutil.ignore_patterns("lake", ".meshplane")
    )
    with Registry(url) as reg:
        apply_mesh(Path(mesh), registry=reg, actor="test")
        yield reg


def test_the_transition_table() -> None:
    assert next_state(AgreementState.REQUESTED, AgreementAction.APPROVE) is AgreementState.APPROVED
    assert next_state(AgreementState.APPROVED, AgreementAction.ACTIVATE) is AgreementState.ACTIVE
    assert next_state(AgreementState.ACTIVE, AgreementAction.APPROVE) is None
    closed = {AgreementState.REJECTED, AgreementState.REVOKED, AgreementState.EXPIRED}
    assert not [key for key in TRANSITIONS if key[0] in closed], "closed states are final"
    assert set(TRANSITIONS.values()) == set(AgreementState) - {AgreementState.REQUESTED}


def test_effective_state() -> None:
    now = datetime(2026, 6, 15, 12, tzinfo=UTC)
    assert effective_state("active", date(2026, 6, 15), now) is AgreementState.ACTIVE  # the end date is inclusive
    assert effective_state("active", date(2026, 6, 14), now) is AgreementState.EXPIRED
    assert effective_state("requested", date(2026, 6, 1), now) is AgreementState.REQUESTED
    assert effective_state("active", None, now) is AgreementState.ACTIVE


def test_who_may_do_what(registry: Registry) -> None:
    with pytest.raises(AccessDenied):
        request_agreement(registry, CUSTOMER, **ASK)  # the provider cannot ask on the consumer's behalf
    with pytest.raises(AccessDenied):
        request_agreement(registry, READER, **ASK)
    with pytest.raises(AccessDenied) as anonymous:
        request_agreement(registry, Principal.anonymous(), **ASK)
    assert anonymous.value.authenticated is False
    agreement = request_agreement(registry, RETAIL, **ASK)
    for caller in (RETAIL, FINANCE, READER):
        with pytest.raises(AccessDenied):
            decide_agreement(registry, caller, agreement.id, approve=True)
    with pytest.raises(AccessDenied):
        revoke_agreement(registry, FINANCE, agreement.id, reason="not mine")
    with pytest.raises(AccessDenied):
        set_auto_approve(registry, RETAIL, "customer.profiles", "customers", enabled=True)
    active = decide_agreement(registry, CUSTOMER, agreement.id, approve=True, reason="ok")
    assert active.state is AgreementState.ACTIVE and active.decided_by == CUSTOMER.actor
    assert revoke_agreement(registry, RETAIL, agreement.id, reason="done").state is AgreementState.REVOKED


def test_reasons(registry: Registry) -> None:
    with pytest.raises(MeshplaneError, match="purpose is required"):
        request_agreement(registry, RETAIL, **{**ASK, "purpose": "  "})
    agreement = request_agreement(registry, RETAIL, **ASK)
    with pytest.raises(MeshplaneError, match="reason is required"):
        decide_agreement(registry, CUSTOMER, agreement.id, approve=False)
    with pytest.raises(MeshplaneError, match="reason is required"):
        revoke_agreement(registry, CUSTOMER, agreement.id, reason="")


def test_expiry_is_persisted_and_audited(registry: Registry) -> None:
    start = datetime(2026, 3, 1, 9, tzinfo=UTC)
    agreement = request_agreement(registry, RETAIL, **ASK, end_date=date(2026, 3, 31), now=start)
    decide_agreement(registry, CUSTOMER, agreement.id, approve=True, now=start)
    assert expire_due_agreements(registry, datetime(2026, 3, 31, 23, tzinfo=UTC)) == []
    later = datetime(2026, 4, 1, 0, 30, tzinfo=UTC)
    assert get_agreement(registry, agreement.id, now=later).state is AgreementState.EXPIRED  # effective at once
    assert expire_due_agreements(registry, later) == [agreement.id]
    assert expire_due_agreements(registry, later) == []
    view = get_agreement(registry, agreement.id, now=later)
    assert view.history[-1].to_state == "expired" and view.history[-1].reason == "end date 2026-03-31 passed"
    with registry.read() as session:
        audit = session.execute(sa.select(m.AuditEntry).where(m.AuditEntry.action == "agreement.expired")).scalar_one()
        event = session.execute(sa.select(AgreementEvent).where(AgreementEvent.to_state == "expired")).scalar_one()
    assert event.audit_id == audit.id and audit.actor == "meshplane (end date)"
    with pytest.raises(Conflict):
        revoke_agreement(registry, RETAIL, agreement.id, reason="late", now=later)
    fresh = request_agreement(registry, RETAIL, **ASK, now=later)  # the port is free again
    assert fresh.state is AgreementState.REQUESTED
    assert [a.id for a in list_agreements(registry, state="expired", now=later).items] == [agreement.id]


def test_one_open_agreement_per_consumer_and_port_even_below_the_service(registry: Registry) -> None:
    agreement = request_agreement(registry, RETAIL, **ASK)
    with pytest.raises(Conflict):
        request_agreement(registry, ADMIN, **ASK)
    now = datetime.now(UTC)
    with pytest.raises(sa.exc.IntegrityError), registry.transaction(immediate=True) as session:
        session.add(
            UsageAgreement(
                consumer_product_id="retail.sales",
                provider_product_id="customer.profiles",
                port_name="customers",
                purpose="sneaky",
                state="requested",
                requested_at=now,
                requested_by="x",
                updated_at=now,
                open_key=open_key("retail.sales", "customer.profiles", "customers"),
            )
        )
    with registry.read() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(UsageAgreement)).scalar_one() == 1
    assert get_agreement(registry, agreement.id).state is AgreementState.REQUESTED


def test_auto_approve_is_audited_and_applies_to_new_requests(registry: Registry) -> None:
    setting = set_auto_approve(registry, CUSTOMER, "customer.profiles", "customers", enabled=True)
    assert setting.auto_approve and setting.updated_by == CUSTOMER.actor
    set_auto_approve(registry, CUSTOMER, "customer.profiles", "customers", enabled=True)  # no change, no audit
    with registry.read() as session:
        audits = session.execute(
            sa.select(sa.func.count()).select_from(m.AuditEntry).where(m.AuditEntry.action == "port.auto-approve")
        ).scalar_one()
    assert audits == 1
    assert request_agreement(registry, RETAIL, **ASK).state is AgreementState.ACTIVE
