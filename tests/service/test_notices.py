"""Agreement and deprecation notifications to real receivers: who hears what, signed, sent once.

Every receiver is a real HTTP server on 127.0.0.1 (`notify_support.Receiver`); the registry is SQLite
and PostgreSQL. Agreement transitions are made through the service functions the CLI, the API and
the web form call; the worker's notifications job is driven by its steps or run once.
"""

from __future__ import annotations

import hashlib
import hmac
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from notify_support import PUBLIC, Receiver, add_targets, notify_environment

from majors_support import BASE_MESH, CRM_PRODUCT, ORDERS, SALES_CONTRACT, SALES_PRODUCT, V2_PORT, edit
from meshplane.access import AgreementState, Principal, Role
from meshplane.registry import Registry, migrate
from meshplane.registry import notifications as store
from meshplane.registry.worker import Worker
from meshplane.service import notices, notifications
from meshplane.service.agreements import decide_agreement, request_agreement, revoke_agreement
from meshplane.service.gitops import apply_mesh
from meshplane.service.linting import lint_path
from meshplane.service.notifications import NotificationJob
from meshplane.settings import get_settings

REPO = Path(__file__).resolve().parents[2]
SECRET = "s3cret-for-notices"
RETAIL = Principal("rita", Role.MAINTAINER, "retail")
FINANCE = Principal("claire", Role.MAINTAINER, "finance")


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Short backoff, a public URL, the webhook secret in the environment."""
    notify_environment(monkeypatch, SECRET)
    yield
    get_settings.cache_clear()


def _webhook(name: str, address: str, extra: str = "") -> str:
    return f"  - name: {name}\n    webhook: {address}\n    secretEnv: HOOK_SECRET\n{extra}"


def _signed(receiver: Receiver) -> bool:
    for headers, body in receiver.accepted:
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(headers["x-meshplane-signature"], expected):
            return False
    return True


def _drain(registry: Registry, seconds: float = 20.0) -> None:
    """Run the job's agreement steps until nothing is waiting."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        spread, _ = notices.fan_out_agreements(registry, "w1")
        _, more = notifications.send_due(registry, "w1")
        if not more and not spread:
            return
    raise AssertionError("the deliveries did not settle in time")


# -- agreements -------------------------------------------------------------------------------------------


def _holding(tmp_path: Path, retail: str, finance: str) -> Path:
    mesh = Path(
        shutil.copytree(
            REPO / "examples/holding", tmp_path / "mesh", ignore=shutil.ignore_patterns("lake", ".meshplane")
        )
    )
    add_targets(mesh / "domains/retail/domain.yaml", retail)
    add_targets(mesh / "domains/finance/domain.yaml", finance)
    return mesh


def test_a_request_reaches_the_provider_and_the_decisions_the_requester(url: str, tmp_path: Path) -> None:
    with Receiver() as retail, Receiver() as finance:
        mesh = _holding(tmp_path, _webhook("ops", retail.url), _webhook("fin", finance.url))
        with Registry(url) as registry:
            apply_mesh(mesh, registry=registry, actor="test")
            asked = request_agreement(registry, FINANCE, consumer="finance.ledger", provider="retail.sales",
                                      port="orders", purpose="monthly revenue close")  # fmt: skip
            _drain(registry)
            assert [p["event"]["kind"] for p in retail.payloads()] == ["agreement.requested"]
            assert finance.payloads() == []
            decide_agreement(registry, RETAIL, asked.id, approve=True, reason="fine")
            other = request_agreement(registry, FINANCE, consumer="finance.revenue", provider="retail.sales",
                                      port="orders", purpose="revenue by day")  # fmt: skip
            decide_agreement(registry, RETAIL, other.id, approve=False, reason="use finance.ledger")
            revoke_agreement(registry, RETAIL, asked.id, reason="the port is being retired")
            _drain(registry)
            logged = {d.agreement_event_id for d in registry_deliveries(registry)}
            shown = notifications.agreement_deliveries(registry, asked.id)
        assert [(d["eventKind"], d["domain"], d["state"]) for d in shown] == [
            ("agreement.requested", "retail", "delivered"),
            ("agreement.approved", "finance", "delivered"),
            ("agreement.revoked", "finance", "delivered"),
        ]

        requested = retail.payloads()[0]
        assert requested["schema"] == notices.AGREEMENT_SCHEMA and requested["kind"] == "agreement"
        agreement = requested["agreement"]
        assert (agreement["consumer"], agreement["consumerDomain"]) == ("finance.ledger", "finance")
        assert (agreement["provider"], agreement["port"]) == ("retail.sales", "orders")
        assert agreement["purpose"] == "monthly revenue close" and agreement["url"] == f"{PUBLIC}/agreements"
        assert requested["recipient"] == {"domain": "retail", "audience": "provider"}
        # the provider hears the requests; the requester hears the decisions, each once
        assert [p["event"]["kind"] for p in retail.payloads()] == ["agreement.requested", "agreement.requested"]
        assert [(p["event"]["kind"], p["agreement"]["consumer"]) for p in finance.payloads()] == [
            ("agreement.approved", "finance.ledger"),
            ("agreement.rejected", "finance.revenue"),
            ("agreement.revoked", "finance.ledger"),
        ]
        rejected = finance.payloads()[1]
        assert rejected["event"]["reason"] == "use finance.ledger" and rejected["event"]["actor"].startswith("rita")
        assert rejected["agreement"]["url"] == f"{PUBLIC}/products/finance.revenue"
        assert rejected["recipient"] == {"domain": "finance", "audience": "consumer"}
        assert _signed(retail) and _signed(finance)
        assert next(h["x-meshplane-event"] for h, _ in finance.accepted) == "agreement.approved"
        assert len(logged) == 5 and None not in logged  # every message is in the delivery log


def registry_deliveries(registry: Registry) -> list[store.Delivery]:
    """Every delivery about an agreement, oldest first."""
    import sqlalchemy as sa

    with registry.read() as session:
        query = sa.select(store.Delivery).where(store.Delivery.agreement_event_id.is_not(None))
        return list(session.scalars(query.order_by(store.Delivery.id)))


def test_a_receiver_that_is_down_never_holds_up_the_transition(url: str, tmp_path: Path) -> None:
    down = Receiver()
    address = down.url
    down.server.server_close()  # nothing listens there
    with Receiver() as finance:
        mesh = _holding(tmp_path, _webhook("ops", address), _webhook("fin", finance.url))
        with Registry(url) as registry:
            apply_mesh(mesh, registry=registry, actor="test")
            asked = request_agreement(registry, FINANCE, consumer="finance.ledger", provider="retail.sales",
                                      port="orders", purpose="close")  # fmt: skip
            decided = decide_agreement(registry, RETAIL, asked.id, approve=True)
            assert decided.state is AgreementState.ACTIVE
            notices.fan_out_agreements(registry, "w1")
            deadline = time.monotonic() + 10
            while not finance.accepted and time.monotonic() < deadline:
                notifications.send_due(registry, "w1")
            states = {(d.target, d.state) for d in registry_deliveries(registry)}
    assert [p["event"]["kind"] for p in finance.payloads()] == ["agreement.approved"]
    assert ("ops", "pending") in states and ("fin", "delivered") in states


def test_a_target_filter_applies_to_agreement_events(url: str, tmp_path: Path) -> None:
    with Receiver() as retail, Receiver() as finance:
        mesh = _holding(
            tmp_path,
            _webhook("ops", retail.url, "    events: [opened, agreement.requested]\n"),
            _webhook("fin", finance.url, "    events: [opened, resolved]\n"),
        )
        assert not [d for d in lint_path(mesh).diagnostics if d.file and d.file.endswith("domain.yaml")]
        with Registry(url) as registry:
            apply_mesh(mesh, registry=registry, actor="test")
            asked = request_agreement(registry, FINANCE, consumer="finance.ledger", provider="retail.sales",
                                      port="orders", purpose="close")  # fmt: skip
            decide_agreement(registry, RETAIL, asked.id, approve=True)
            _drain(registry)
    assert [p["event"]["kind"] for p in retail.payloads()] == ["agreement.requested"]
    assert finance.payloads() == []  # its filter names incident events only


def test_lint_refuses_an_unknown_event_in_a_filter(tmp_path: Path) -> None:
    mesh = _holding(tmp_path, _webhook("ops", "https://hooks.example/r", "    events: [agreement.maybe]\n"), "")
    found = [d for d in lint_path(mesh).diagnostics if d.file and d.file.endswith("retail/domain.yaml")]
    assert found and "agreement.maybe" in found[0].message


def test_transitions_made_before_migration_0016_are_not_sent(url: str, tmp_path: Path) -> None:
    with Receiver() as retail:
        mesh = _holding(tmp_path, _webhook("ops", retail.url), _webhook("fin", retail.url))
        with Registry(url) as registry:
            apply_mesh(mesh, registry=registry, actor="test")
            request_agreement(registry, FINANCE, consumer="finance.ledger", provider="retail.sales", port="orders",
                              purpose="close")  # fmt: skip
            with registry.engine.connect() as conn, conn.begin():
                command.downgrade(migrate.alembic_config(conn), "0015")
            with registry.engine.connect() as conn, conn.begin():
                command.upgrade(migrate.alembic_config(conn), "head")
            assert notices.fan_out_agreements(registry, "w1") == (0, 0)
    assert retail.payloads() == []


# -- deprecation reminders ---------------------------------------------------------------------------------

OLD_PORT = """  - name: orders
    description: One row per order.
    type: tables
    version: 1.0.0
    contractId: sales.orders.orders
"""


def _deprecated(sunset: str) -> str:
    return OLD_PORT + (
        "    customProperties:\n"
        "      - property: deprecated\n        value: true\n"
        f"      - property: sunsetDate\n        value: '{sunset}'\n"
        "      - property: replacedBy\n        value: orders_v2\n"
    )


def _two_consumers(tmp_path: Path, crm: str, billing: str) -> Path:
    """The corpus mesh with a second consumer domain (billing, a copy of crm) reading sales.orders 1.x."""
    mesh = Path(shutil.copytree(BASE_MESH, tmp_path / "m"))
    crm_dir = mesh / "domains/crm"
    billing_dir = Path(shutil.copytree(crm_dir, mesh / "domains/billing"))
    for path in billing_dir.rglob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("crm", "billing").replace("Crm", "Billing").replace("CRM", "BILLING"), "utf-8")
    add_targets(crm_dir / "domain.yaml", crm)
    add_targets(billing_dir / "domain.yaml", billing)
    return mesh


def _publish_v2(mesh: Path, sunset: str) -> None:
    text = (mesh / SALES_CONTRACT).read_text(encoding="utf-8").replace("version: 1.0.0\n", "version: 2.0.0\n")
    (mesh / f"{ORDERS}/contracts/orders_v2.odcs.yaml").write_text(text, encoding="utf-8")
    edit(mesh, SALES_PRODUCT, OLD_PORT, _deprecated(sunset) + V2_PORT)


def _settle(registry: Registry, receivers: list[Receiver], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        _, more = notifications.send_due(registry, "w1")
        if not more:
            return
    raise AssertionError("the deliveries did not settle in time")


def test_a_reminder_goes_once_per_milestone_to_a_consumer_still_on_the_old_major(url: str, tmp_path: Path) -> None:
    today = datetime.now(UTC)
    sunset = (today + timedelta(days=20)).date()
    with Receiver() as crm, Receiver() as billing:
        mesh = _two_consumers(tmp_path, _webhook("crm-ops", crm.url), _webhook("billing-ops", billing.url))
        with Registry(url) as registry:
            apply_mesh(mesh, registry=registry, actor="test")
            _publish_v2(mesh, sunset.isoformat())
            edit(mesh, CRM_PRODUCT, "  - name: orders\n    version: 1.0.0\n", "  - name: orders\n    version: 2.0.0\n")
            apply_mesh(mesh, registry=registry, actor="test")
            worker = Worker(registry, [NotificationJob(reminder_interval_s=0.001)])
            worker.run_jobs_once()
            _settle(registry, [crm, billing])
            first = list(billing.payloads())
            time.sleep(0.01)
            worker.run_jobs_once()  # the next cycle: nothing new
            assert notices.send_reminders(registry, now=today) == (0, 0)
            _settle(registry, [crm, billing])
            again = list(billing.payloads())
            after = datetime.combine(sunset, datetime.min.time(), UTC) + timedelta(days=1)
            passed = notices.send_reminders(registry, now=after)
            _settle(registry, [crm, billing])
            stats = worker.stats["notifications"]

    assert crm.payloads() == []  # it moved to 2.0.0
    assert len(first) == 1 and again == first and stats.errors == 0
    [reminder] = first
    assert reminder["schema"] == notices.REMINDER_SCHEMA and reminder["kind"] == "deprecation"
    assert reminder["event"]["kind"] == "deprecation.reminder" and reminder["event"]["milestone"] == "sunset-30d"
    assert reminder["port"] == {"product": "sales.orders", "port": "orders", "version": "1.0.0",
                                "contract": "sales.orders.orders"}  # fmt: skip
    assert reminder["sunsetDate"] == sunset.isoformat() and reminder["daysToSunset"] == 20
    assert reminder["replacedBy"]["port"] == "orders_v2"
    assert reminder["consumer"]["name"] == "billing.customers" and reminder["consumer"]["domain"] == "billing"
    assert reminder["recipient"] == {"domain": "billing", "audience": "consumer"}
    assert reminder["url"] == f"{PUBLIC}/migrations"
    assert _signed(billing)
    # the sunset passing is the next milestone: one more reminder
    assert passed == (1, 1)
    assert [p["event"]["milestone"] for p in billing.payloads()] == ["sunset-30d", "sunset-passed"]


def test_milestones() -> None:
    today = datetime(2027, 1, 1, tzinfo=UTC).date()
    assert notices.milestone_of(None, today) == "deprecated"
    assert notices.milestone_of(today + timedelta(days=90), today) == "deprecated"
    assert notices.milestone_of(today + timedelta(days=30), today) == "sunset-30d"
    assert notices.milestone_of(today + timedelta(days=7), today) == "sunset-7d"
    assert notices.milestone_of(today, today) == "sunset-7d"
    assert notices.milestone_of(today - timedelta(days=1), today) == "sunset-passed"


def test_text_of_agreement_and_reminder_payloads() -> None:
    payload: dict[str, Any] = {
        "kind": "agreement",
        "event": {"kind": "agreement.requested", "to": "requested", "actor": "claire", "at": "t", "reason": "x"},
        "agreement": {"id": 3, "consumer": "finance.ledger", "consumerDomain": "finance", "provider": "retail.sales",
                      "providerDomain": "retail", "port": "orders", "purpose": "close", "state": "requested",
                      "endDate": None, "url": f"{PUBLIC}/agreements"},
    }  # fmt: skip
    title, text = notifications.render(payload)
    assert title == "meshplane usage agreement requested: finance.ledger → retail.sales/orders"
    assert "Purpose: close" in text and f"Decide: {PUBLIC}/agreements" in text
