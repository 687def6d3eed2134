"""Usage agreements through the API: lifecycle, audit, auto-approve, end dates, conflicts, listing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from api_support import World
from fastapi.testclient import TestClient

from meshplane.registry import Registry
from meshplane.registry import models as m
from meshplane.registry.access import UsageAgreement

REQUEST = {"consumer": "retail.sales", "provider": "customer.profiles", "port": "customers", "purpose": "enrich orders"}


def post(client: TestClient, world: World, who: str, url: str, body: object = None):  # type: ignore[no-untyped-def]
    return client.post(url, json=body, headers=world.headers(who))


def test_request_approve_revoke_with_history_and_audit(client: TestClient, world: World, registry: Registry) -> None:
    asked = post(client, world, "maintainer:retail", "/api/v1/agreements", REQUEST)
    assert asked.status_code == 201, asked.text
    agreement = asked.json()
    assert agreement["state"] == "requested" and agreement["consumer"] == {
        "product": "retail.sales",
        "domain": "retail",
    }
    assert agreement["provider"] == {"product": "customer.profiles", "domain": "customer", "port": "customers"}
    approved = post(
        client,
        world,
        "maintainer:customer",
        f"/api/v1/agreements/{agreement['id']}/approve",
        {"reason": "standard terms"},
    )
    assert approved.status_code == 200 and approved.json()["state"] == "active", approved.text
    assert approved.json()["decidedBy"].startswith("ci-customer (maintainer of customer")
    revoked = post(
        client,
        world,
        "maintainer:customer",
        f"/api/v1/agreements/{agreement['id']}/revoke",
        {"reason": "contract ended"},
    )
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    history = client.get(f"/api/v1/agreements/{agreement['id']}", headers=world.headers("reader")).json()["history"]
    assert [(h["from"], h["to"]) for h in history] == [
        (None, "requested"),
        ("requested", "approved"),
        ("approved", "active"),
        ("active", "revoked"),
    ]
    assert [h["reason"] for h in history] == ["enrich orders", "standard terms", "approved", "contract ended"]
    assert history[0]["actor"].startswith("ci-retail") and history[3]["actor"].startswith("ci-customer")
    with registry.read() as session:
        audit = session.execute(
            sa.select(m.AuditEntry.action, m.AuditEntry.actor)
            .where(m.AuditEntry.action.like("agreement.%"))
            .order_by(m.AuditEntry.id)
        ).all()
    assert [a.action for a in audit] == [
        "agreement.requested",
        "agreement.approved",
        "agreement.active",
        "agreement.revoked",
    ]
    assert all(a.actor for a in audit)


def test_rejection_needs_a_reason_and_frees_the_port_for_a_new_request(client: TestClient, world: World) -> None:
    first = post(client, world, "maintainer:retail", "/api/v1/agreements", REQUEST).json()
    no_reason = post(client, world, "maintainer:customer", f"/api/v1/agreements/{first['id']}/reject", {})
    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "reason"
    rejected = post(
        client,
        world,
        "maintainer:customer",
        f"/api/v1/agreements/{first['id']}/reject",
        {"reason": "use customer360 instead"},
    )
    assert rejected.json()["state"] == "rejected"
    again = post(client, world, "maintainer:retail", "/api/v1/agreements", REQUEST)
    assert again.status_code == 201 and again.json()["id"] != first["id"]


def test_conflicts(client: TestClient, world: World) -> None:
    first = post(client, world, "maintainer:retail", "/api/v1/agreements", REQUEST).json()
    duplicate = post(client, world, "maintainer:retail", "/api/v1/agreements", {**REQUEST, "purpose": "again"})
    assert duplicate.status_code == 409 and str(first["id"]) in duplicate.json()["detail"]
    url = f"/api/v1/agreements/{first['id']}"
    assert post(client, world, "maintainer:customer", f"{url}/approve").status_code == 200
    twice = post(client, world, "maintainer:customer", f"{url}/approve")
    assert twice.status_code == 409 and "active" in twice.json()["detail"]
    assert post(client, world, "maintainer:customer", f"{url}/reject", {"reason": "late"}).status_code == 409
    assert post(client, world, "admin", f"{url}/revoke", {"reason": "x"}).status_code == 200
    assert post(client, world, "admin", f"{url}/revoke", {"reason": "x"}).status_code == 409


def test_invalid_requests(client: TestClient, world: World) -> None:
    def ask(**changes: object) -> int:
        return post(client, world, "admin", "/api/v1/agreements", {**REQUEST, **changes}).status_code

    assert ask(consumer="no.such") == 404
    assert ask(provider="no.such") == 404
    assert ask(port="no_such_port") == 404
    assert ask(provider="retail.sales", port="orders") == 422  # its own port
    assert ask(purpose="   ") == 422
    assert ask(endDate=(date.today() - timedelta(days=2)).isoformat()) == 422
    assert post(client, world, "admin", "/api/v1/agreements/12345/approve").status_code == 404


def test_auto_approve(client: TestClient, world: World) -> None:
    settings_url = "/api/v1/products/customer.profiles/ports/customers/settings"
    assert client.get(settings_url, headers=world.headers("reader")).json()["autoApprove"] is False
    turned = client.put(settings_url, json={"autoApprove": True}, headers=world.headers("maintainer:customer"))
    assert turned.status_code == 200 and turned.json()["autoApprove"] is True
    assert client.get("/api/v1/products/customer.profiles", headers=world.headers("reader")).json()["outputPorts"][0][
        "autoApprove"
    ]
    granted = post(client, world, "maintainer:retail", "/api/v1/agreements", REQUEST).json()
    assert granted["state"] == "active"
    assert [h["actor"] for h in granted["history"][1:]] == ["meshplane (auto-approve)"] * 2
    unknown = client.put(
        "/api/v1/products/customer.profiles/ports/nope/settings",
        json={"autoApprove": True},
        headers=world.headers("admin"),
    )
    assert unknown.status_code == 404


def test_end_dates_expire_agreements(client: TestClient, world: World, registry: Registry) -> None:
    tomorrow = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    agreement = post(client, world, "maintainer:retail", "/api/v1/agreements", {**REQUEST, "endDate": tomorrow}).json()
    assert agreement["endDate"] == tomorrow
    post(client, world, "maintainer:customer", f"/api/v1/agreements/{agreement['id']}/approve")
    with registry.transaction(immediate=True) as session:  # time passes: the end date is now yesterday
        session.execute(sa.update(UsageAgreement).values(end_date=datetime.now(UTC).date() - timedelta(days=1)))
    shown = client.get(f"/api/v1/agreements/{agreement['id']}", headers=world.headers("reader")).json()
    assert shown["state"] == "expired"
    listed = client.get("/api/v1/agreements", params={"state": "expired"}, headers=world.headers("reader")).json()
    assert [a["id"] for a in listed["items"]] == [agreement["id"]]
    active = client.get("/api/v1/agreements", params={"state": "active"}, headers=world.headers("reader")).json()
    assert active["total"] == 0
    # The next write persists the expiry (audited by the clock), and an expired agreement cannot be revoked.
    refused = post(client, world, "maintainer:retail", f"/api/v1/agreements/{agreement['id']}/revoke", {"reason": "x"})
    assert refused.status_code == 409
    history = client.get(f"/api/v1/agreements/{agreement['id']}", headers=world.headers("reader")).json()["history"]
    assert history[-1]["to"] == "expired" and history[-1]["actor"] == "meshplane (end date)"
    renewed = post(client, world, "maintainer:retail", "/api/v1/agreements", REQUEST)
    assert renewed.status_code == 201


def test_listing_filters(client: TestClient, world: World) -> None:
    post(client, world, "maintainer:retail", "/api/v1/agreements", REQUEST)
    marketing = {
        "consumer": "marketing.campaign_performance",
        "provider": "customer.profiles",
        "port": "customers",
        "purpose": "segments",
    }
    second = post(client, world, "maintainer:marketing", "/api/v1/agreements", marketing).json()
    post(client, world, "maintainer:customer", f"/api/v1/agreements/{second['id']}/approve")

    def ids(**params: object) -> list[int]:
        page = client.get("/api/v1/agreements", params=params, headers=world.headers("reader")).json()
        return [a["id"] for a in page["items"]]

    assert ids() == [second["id"], second["id"] - 1]  # newest first
    assert ids(state="active") == [second["id"]]
    assert ids(state="requested") == [second["id"] - 1]
    assert ids(domain="marketing") == [second["id"]]
    assert ids(domain="customer") == [second["id"], second["id"] - 1]
    assert ids(consumer="retail.sales") == [second["id"] - 1]
    assert ids(provider="customer.profiles", port="customers", limit=1) == [second["id"]]
    port = client.get("/api/v1/products/customer.profiles/ports/customers", headers=world.headers("reader")).json()
    assert port["agreements"] == {"requested": 1, "active": 1} and port["openAgreements"] == 2
