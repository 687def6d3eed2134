"""Notifications of incidents to real receivers: who hears what, signatures, retries, dead letters, apprise.

Every receiver is a real HTTP server on 127.0.0.1 (`notify_support.Receiver`); the registry is
SQLite and PostgreSQL (`mesh_registry`'s parameters). The worker's job is driven by its two steps
(`fan_out`, `send_due`) as `NotificationJob.run_once` calls them.
"""

from __future__ import annotations

import hashlib
import hmac
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from notify_support import PUBLIC, Receiver, add_targets, notify_environment

from meshplane.access import Principal, Role
from meshplane.registry import Registry, store_test_run
from meshplane.registry.worker import Worker
from meshplane.service import incidents, notifications
from meshplane.service.gitops import apply_mesh
from meshplane.service.incidents import IncidentJob
from meshplane.service.linting import lint_path
from meshplane.service.notifications import NotificationJob
from meshplane.service.notify import chat
from meshplane.settings import get_settings

REPO = Path(__file__).resolve().parents[2]
ORDERS = "retail.sales.orders"
CHECK = "orders.order_id.required"
SECRET = "s3cret-for-tests"
RETAIL = Principal("rita", Role.MAINTAINER, "retail")


def _run(status: str, *, observed: int = 4) -> dict[str, Any]:
    return {
        "contract": {"id": ORDERS, "version": "1.2.0"}, "server": "lake", "engine": "duckdb", "result": status,
        "startedAt": "2026-11-20T10:00:00+00:00", "finishedAt": "2026-11-20T10:00:02+00:00",
        "checks": [{"id": CHECK, "kind": "required", "object": "orders", "property": "order_id", "status": status,
                    "severity": "error", "observed": observed if status == "failed" else 0, "threshold": "= 0",
                    "message": f"{observed} rows with a null order_id" if status == "failed" else "no nulls"}],
    }  # fmt: skip


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Short backoff and window, a public URL, the webhook secret in the environment."""
    notify_environment(monkeypatch, SECRET)
    yield
    get_settings.cache_clear()


def _mesh(tmp_path: Path, retail: str, finance: str) -> Path:
    mesh = Path(
        shutil.copytree(
            REPO / "examples/holding", tmp_path / "mesh", ignore=shutil.ignore_patterns("lake", ".meshplane")
        )
    )
    add_targets(mesh / "domains/retail/domain.yaml", retail)
    add_targets(mesh / "domains/finance/domain.yaml", finance)
    return mesh


def _webhook(name: str, address: str, extra: str = "") -> str:
    return f"  - name: {name}\n    webhook: {address}\n    secretEnv: HOOK_SECRET\n{extra}"


def _fail_and_open(registry: Registry) -> int:
    store_test_run(registry, _run("failed"), actor="ci")
    incidents.process_test_runs(registry)
    page = incidents.list_incidents(registry, contract=ORDERS)
    return int(page.items[0]["id"])


def _drain(registry: Registry, *, until: Any = None, seconds: float = 20.0) -> None:
    """Run the job's steps until nothing is due (or `until()` holds), within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        spread = notifications.fan_out(registry, "w1")
        _, more = notifications.send_due(registry, "w1")
        if until is not None:
            if until():
                return
            time.sleep(0.05)
        elif not more and not spread.events:
            return
    raise AssertionError("the deliveries did not settle in time")


def _keep_running(registry: Registry, seconds: float) -> None:
    """Run the job's steps for `seconds` (what is done stays done)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        notifications.fan_out(registry, "w1")
        notifications.send_due(registry, "w1")
        time.sleep(0.05)


def test_provider_and_consumer_domains_hear_signed_messages(url: str, tmp_path: Path) -> None:
    with Receiver() as retail, Receiver() as finance:
        mesh = _mesh(tmp_path, _webhook("ops", retail.url), _webhook("fin", finance.url))
        with Registry(url) as registry:
            apply_mesh(mesh, registry=registry, actor="test")
            incident_id = _fail_and_open(registry)
            _drain(registry)
            incidents.acknowledge(registry, RETAIL, incident_id, note="on it")
            _drain(registry)
            incidents.resolve(registry, RETAIL, incident_id, "fixed")
            _drain(registry)
            shown = incidents.get_incident(registry, incident_id)

        # the provider hears open, ack, resolve; a consumer domain hears open and resolve
        assert [p["event"]["kind"] for p in retail.payloads()] == ["opened", "acknowledged", "resolved"]
        assert [p["event"]["kind"] for p in finance.payloads()] == ["opened", "resolved"]
        for headers, body in retail.accepted + finance.accepted:
            expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            assert hmac.compare_digest(headers["x-meshplane-signature"], expected)
            assert headers["x-meshplane-delivery"].isdigit()
        opened = finance.payloads()[0]
        assert opened["schema"] == notifications.PAYLOAD_SCHEMA
        assert opened["recipient"] == {"domain": "finance", "audience": "consumer"}
        assert opened["incident"]["check"] == CHECK and opened["incident"]["observed"] == 4
        assert opened["incident"]["message"] == "4 rows with a null order_id"
        assert opened["incident"]["firstSeenAt"].startswith("2026-11-20T10:00:02")
        assert opened["incident"]["url"] == f"{PUBLIC}/incidents/{incident_id}"
        consumers = {c["product"]: c for c in opened["affected"]["consumers"]}
        assert {"finance.ledger", "finance.revenue", "logistics.shipments"} <= set(consumers)
        assert sorted(opened["affected"]["yours"]) == ["finance.ledger", "finance.revenue"]
        assert consumers["finance.ledger"]["team"] and "inputPort" in consumers["finance.ledger"]["knownBy"]
        assert retail.payloads()[1]["event"]["note"] == "on it"
        # the delivery log and the blast radius are part of the incident
        assert {d["state"] for d in shown["deliveries"]} == {"delivered"} and len(shown["deliveries"]) == 5
        assert all(len(d["log"]) == 1 and d["log"][0]["ok"] for d in shown["deliveries"])
        assert {c["product"] for c in shown["blastRadius"]} == set(consumers)


def test_a_receiver_answering_500_then_200_gets_the_message_once(url: str, tmp_path: Path) -> None:
    with Receiver([500]) as retail, Receiver() as finance:
        mesh = _mesh(tmp_path, _webhook("ops", retail.url, "    events: [opened]\n"), _webhook("fin", finance.url))
        with Registry(url) as registry:
            apply_mesh(mesh, registry=registry, actor="test")
            incident_id = _fail_and_open(registry)
            _drain(registry, until=lambda: len(retail.accepted) >= 1)
            _keep_running(registry, 0.5)  # later passes send nothing again
            shown = incidents.get_incident(registry, incident_id)
    assert [status for status, _, _ in retail.hits] == [500, 200]
    assert len(retail.accepted) == 1 and len(finance.accepted) == 1
    ops = next(d for d in shown["deliveries"] if d["target"] == "ops")
    assert ops["state"] == "delivered" and ops["attempts"] == 2
    assert [(a["ok"], a["status"]) for a in ops["log"]] == [(False, 500), (True, 200)]
    first, second = (hit[1]["x-meshplane-delivery"] for hit in retail.hits)
    assert first == second  # a retry is the same delivery


def test_a_receiver_down_for_the_whole_window_ends_dead_with_every_attempt_logged(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MESHPLANE_NOTIFY_RETRY_WINDOW_SECONDS", "1.0")
    get_settings.cache_clear()
    with Receiver() as finance:
        down = Receiver()
        address = down.url
        down.server.server_close()  # nothing listens there any more
        mesh = _mesh(tmp_path, _webhook("ops", address), _webhook("fin", finance.url))
        with Registry(url) as registry:
            apply_mesh(mesh, registry=registry, actor="test")
            incident_id = _fail_and_open(registry)

            def settled() -> bool:
                states = {d["state"] for d in incidents.get_incident(registry, incident_id)["deliveries"]}
                return states == {"delivered", "dead"}

            _drain(registry, until=settled)
            shown = incidents.get_incident(registry, incident_id)
    ops = next(d for d in shown["deliveries"] if d["target"] == "ops")
    assert ops["state"] == "dead" and ops["nextAttemptAt"] is None
    assert ops["attempts"] >= 3 and len(ops["log"]) == ops["attempts"]
    assert not any(a["ok"] for a in ops["log"]) and "ConnectError" in (ops["lastError"] or "")
    assert len(finance.accepted) == 1  # the dead target held up nobody


def test_apprise_targets_read_their_address_from_the_environment(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Receiver() as chat, Receiver() as finance:
        monkeypatch.setenv("RETAIL_CHAT", chat.url.removeprefix("http://"))
        target = "  - name: chat\n    apprise: json://${RETAIL_CHAT}\n"
        mesh = _mesh(tmp_path, target, _webhook("fin", finance.url))
        with Registry(url) as registry:
            apply_mesh(mesh, registry=registry, actor="test")
            incident_id = _fail_and_open(registry)
            _drain(registry)
            shown = incidents.get_incident(registry, incident_id)
    [message] = chat.payloads()
    assert message["title"].startswith("meshplane incident opened: retail.sales:orders")
    assert "Observed: 4 (expected = 0)" in message["message"]
    assert "finance.ledger (finance, team" in message["message"]
    assert f"{PUBLIC}/incidents/{incident_id}" in message["message"]
    chat_delivery = next(d for d in shown["deliveries"] if d["target"] == "chat")
    assert chat_delivery["state"] == "delivered" and "address" not in chat_delivery


def test_an_address_never_carries_meshplane_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETAIL_CHAT", "hooks.example/retail")
    monkeypatch.setenv("MESHPLANE_DATABASE_URL", "postgresql://meshplane:secret@db/registry")
    monkeypatch.setenv("EMPTY_ONE", "")
    assert chat.expand("json://${RETAIL_CHAT}") == ("json://hooks.example/retail", None)
    assert chat.expand("json://${UNSET_ONE:-hooks.example/x}") == ("json://hooks.example/x", None)
    for address in ("json://evil.example/${MESHPLANE_DATABASE_URL}", "json://${EMPTY_ONE}"):
        url, problem = chat.expand(address)
        assert url is None and problem is not None and "secret" not in problem


def test_an_unset_secret_is_a_failed_attempt_not_an_unsigned_message(url: str, tmp_path: Path) -> None:
    with Receiver() as retail, Receiver() as finance:
        target = f"  - name: ops\n    webhook: {retail.url}\n    secretEnv: NOT_SET_ANYWHERE\n"
        mesh = _mesh(tmp_path, target, _webhook("fin", finance.url))
        with Registry(url) as registry:
            apply_mesh(mesh, registry=registry, actor="test")
            incident_id = _fail_and_open(registry)
            _drain(registry, until=lambda: len(finance.accepted) == 1)
            ops = next(d for d in incidents.get_incident(registry, incident_id)["deliveries"] if d["target"] == "ops")
    assert retail.hits == []
    assert ops["state"] == "pending" and "NOT_SET_ANYWHERE" in (ops["lastError"] or "")


def test_lint_names_file_and_line_of_bad_targets(tmp_path: Path) -> None:
    targets = "  - name: chat\n    apprise: nosuchscheme://x\n  - name: hook\n    webhook: ftp://files.example/hook\n"
    mesh = _mesh(tmp_path, targets, "  - name: ok\n    webhook: https://hooks.example/fin\n")
    report = lint_path(mesh)
    found = {(d.code, Path(d.file).name, d.line) for d in report.diagnostics if "notification" in d.code}
    lines = (mesh / "domains/retail/domain.yaml").read_text(encoding="utf-8").splitlines()
    scheme_line = next(i for i, text in enumerate(lines, 1) if "nosuchscheme" in text)
    assert found == {
        ("unknown-notification-scheme", "domain.yaml", scheme_line),
        ("invalid-notification", "domain.yaml", scheme_line + 2),
    }
    assert report.has_errors


def test_the_backoff_doubles_up_to_an_hour() -> None:
    assert [notifications.next_delay(n, 30) for n in (1, 2, 3)] == [30, 60, 120]
    assert notifications.next_delay(20, 30) == 3600


def test_a_hanging_target_costs_its_timeout_and_holds_up_no_other_job(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MESHPLANE_NOTIFY_TIMEOUT_SECONDS", "0.5")
    monkeypatch.setenv("MESHPLANE_NOTIFY_BACKOFF_SECONDS", "30")
    get_settings.cache_clear()
    with Receiver(delay_s=5) as hanging, Receiver() as finance:
        mesh = _mesh(tmp_path, _webhook("ops", hanging.url), _webhook("fin", finance.url))
        with Registry(url) as registry:
            apply_mesh(mesh, registry=registry, actor="test")
            incident_id = _fail_and_open(registry)
            worker = Worker(registry, [NotificationJob(), IncidentJob()], worker_id="w")
            started = time.monotonic()
            for _ in range(3):
                worker.run_jobs_once()
            elapsed = time.monotonic() - started
            shown = incidents.get_incident(registry, incident_id)
    states = {d["target"]: (d["state"], d["attempts"]) for d in shown["deliveries"]}
    assert states == {"ops": ("pending", 1), "fin": ("delivered", 1)}  # retried in 30 s, not at once
    assert "ReadTimeout" in next(d["lastError"] for d in shown["deliveries"] if d["target"] == "ops")
    assert elapsed < 5  # one timeout of 0.5 s, not the receiver's 5 s; the other job ran (generous bound)
    assert worker.stats["incidents"].runs == 3


def test_a_worker_built_with_its_own_settings_uses_them_not_the_environments(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MESHPLANE_NOTIFY_TIMEOUT_SECONDS", "4")  # the environment's: would hold the run >= 4 s
    get_settings.cache_clear()
    own = get_settings().model_copy(
        update={"public_url": "https://cockpit.other.example/", "notify_timeout_seconds": 0.5}
    )
    with Receiver(delay_s=5) as hanging, Receiver() as finance:
        mesh = _mesh(tmp_path, _webhook("ops", hanging.url), _webhook("fin", finance.url))
        with Registry(url) as registry:
            apply_mesh(mesh, registry=registry, actor="test")
            incident_id = _fail_and_open(registry)
            worker = Worker(registry, [NotificationJob()], worker_id="w", settings=own)
            started = time.monotonic()
            worker.run_jobs_once()
            elapsed = time.monotonic() - started
    [opened] = finance.payloads()
    assert opened["incident"]["url"] == f"https://cockpit.other.example/incidents/{incident_id}"  # not PUBLIC
    assert elapsed < 3  # the worker's 0.5 s timeout on the hanging receiver, not the environment's 4 s
