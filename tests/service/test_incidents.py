"""Incidents: opened by a failing check, updated while it fails, auto-resolved by a pass, reopened; ack and resolve.

SQLite and PostgreSQL (the `mesh_registry` fixture): test runs are stored as CI or the worker
stores them, and the worker's incident pass (`process_test_runs`) turns them into incidents.
"""

from __future__ import annotations

import shutil
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from monitor_support import EXAMPLE

from meshplane.access import Principal, Role
from meshplane.diagnostics import MeshplaneError
from meshplane.errors import AccessDenied, Conflict, NotFound
from meshplane.registry import Registry, store_test_run
from meshplane.registry import incidents as store
from meshplane.service import incidents
from meshplane.service.gitops import apply_mesh

ORDERS = "retail.sales.orders"
CHECK = "orders.order_id.required"
OPERATOR = Principal.local_admin("ops")
RETAIL = Principal("rita", Role.MAINTAINER, "retail")
FINANCE = Principal("fred", Role.MAINTAINER, "finance")
READER = Principal("rea", Role.READER)
START = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def _run(minute: int, status: str, *, contract: str = ORDERS, observed: int = 3) -> dict[str, Any]:
    at = START + timedelta(minutes=minute)
    return {
        "contract": {"id": contract, "version": "1.2.0"},
        "server": "lake",
        "engine": "duckdb",
        "result": status,
        "startedAt": at.isoformat(),
        "finishedAt": (at + timedelta(seconds=2)).isoformat(),
        "checks": [
            {"id": CHECK, "kind": "required", "object": "orders", "property": "order_id", "status": status,
             "severity": "error", "observed": observed if status == "failed" else 0, "threshold": "= 0",
             "message": f"{observed} nulls" if status == "failed" else "no nulls"},
            {"id": "orders.row_count", "kind": "rowCount", "status": "passed", "severity": "error", "observed": 9},
        ],
    }  # fmt: skip


def _store(registry: Registry, document: dict[str, Any]) -> int:
    run_id, _ = store_test_run(registry, document, actor="ci")
    return run_id


def _only(registry: Registry) -> dict[str, Any]:
    page = incidents.list_incidents(registry, contract=ORDERS)
    assert page.total == 1, page.items
    return page.items[0]


def test_an_incident_opens_updates_resolves_and_reopens(mesh_registry: tuple[Path, Registry]) -> None:
    _, registry = mesh_registry
    first = _store(registry, _run(0, "failed"))
    runs, counts, more = incidents.process_test_runs(registry)
    assert (runs, counts.opened, more) == (1, 1, False)
    opened = _only(registry)
    assert (opened["state"], opened["check"], opened["domain"], opened["product"], opened["port"]) == (
        "open", CHECK, "retail", "retail.sales", "orders"
    )  # fmt: skip
    assert (opened["occurrences"], opened["observed"], opened["lastTestRun"]) == (1, 3, first)

    _store(registry, _run(10, "failed", observed=5))
    assert incidents.process_test_runs(registry)[1].updated == 1
    updated = _only(registry)
    assert updated["id"] == opened["id"] and updated["occurrences"] == 2 and updated["observed"] == 5
    assert updated["lastSeenAt"] == (START + timedelta(minutes=10, seconds=2)).isoformat()

    _store(registry, _run(20, "passed"))
    assert incidents.process_test_runs(registry)[1].resolved == 1
    resolved = _only(registry)
    assert resolved["state"] == "resolved" and resolved["resolved"]["reason"] == incidents.PASSED
    assert resolved["resolved"]["by"] == incidents.AUTO_ACTOR

    _store(registry, _run(30, "failed"))
    assert incidents.process_test_runs(registry)[1].reopened == 1
    reopened = _only(registry)
    assert (reopened["id"], reopened["state"], reopened["reopened"], reopened["resolved"]) == (
        opened["id"], "open", 1, None
    )  # fmt: skip
    assert incidents.process_test_runs(registry)[0] == 0  # nothing new: nothing read twice

    trail = incidents.get_incident(registry, opened["id"])["events"]
    assert [(e["kind"], e["from"], e["to"]) for e in trail] == [
        ("opened", None, "open"), ("resolved", "open", "resolved"), ("reopened", "resolved", "open")
    ]  # fmt: skip


def test_people_acknowledge_and_resolve_with_a_reason_in_their_domain(mesh_registry: tuple[Path, Registry]) -> None:
    _, registry = mesh_registry
    _store(registry, _run(0, "failed"))
    incidents.process_test_runs(registry)
    incident_id = _only(registry)["id"]
    for who in (FINANCE, READER, Principal.anonymous()):
        with pytest.raises(AccessDenied):
            incidents.acknowledge(registry, who, incident_id)
    acknowledged = incidents.acknowledge(registry, RETAIL, incident_id, note="looking")
    assert acknowledged["state"] == "acknowledged" and acknowledged["acknowledged"]["by"].startswith("rita")
    with pytest.raises(Conflict):
        incidents.acknowledge(registry, RETAIL, incident_id)
    with pytest.raises(MeshplaneError, match="reason must be one of fixed, false-positive, expected, other"):
        incidents.resolve(registry, RETAIL, incident_id, "bored")
    with pytest.raises(AccessDenied):
        incidents.resolve(registry, FINANCE, incident_id, "fixed")
    resolved = incidents.resolve(registry, OPERATOR, incident_id, "false-positive", note="test data")
    assert resolved["resolved"] == {
        "at": resolved["resolved"]["at"], "by": "ops (admin)", "reason": "false-positive", "note": "test data"
    }  # fmt: skip
    with pytest.raises(Conflict):
        incidents.resolve(registry, OPERATOR, incident_id, "fixed")
    with pytest.raises(NotFound):
        incidents.get_incident(registry, incident_id + 100)
    trail = incidents.get_incident(registry, incident_id)["events"]
    assert [(e["kind"], e["reason"], e["note"]) for e in trail] == [
        ("opened", None, None), ("acknowledged", None, "looking"), ("resolved", "false-positive", "test data")
    ]  # fmt: skip
    assert incidents.list_incidents(registry, state="unresolved").total == 0
    assert incidents.list_incidents(registry, state="resolved", domain="retail").total == 1


def test_a_run_that_could_not_happen_is_an_incident_until_a_run_reads_data(
    mesh_registry: tuple[Path, Registry],
) -> None:
    _, registry = mesh_registry
    broken = _run(0, "error") | {"checks": [], "error": "no dataset could be read"}
    _store(registry, broken)
    _store(registry, _run(1, "failed", contract="not.registered"))  # not a port of the registry: ignored
    incidents.process_test_runs(registry)
    run_incident = _only(registry)
    assert (run_incident["check"], run_incident["message"]) == (incidents.RUN_CHECK, "no dataset could be read")
    _store(registry, _run(5, "passed"))
    incidents.process_test_runs(registry)
    assert incidents.list_incidents(registry, state="unresolved").total == 0


def test_notifiers_claim_each_state_change_once(mesh_registry: tuple[Path, Registry]) -> None:
    _, registry = mesh_registry
    _store(registry, _run(0, "failed"))
    _store(registry, _run(10, "passed"))
    incidents.process_test_runs(registry)
    now = datetime.now(UTC)
    until = now + timedelta(seconds=30)
    first = registry.write(lambda s: store.claim_events(s, "n1", now=now, until=until, limit=1))
    second = registry.write(lambda s: store.claim_events(s, "n2", now=now, until=until))
    assert len(first) == 1 and len(second) == 1 and first != second
    assert registry.write(lambda s: store.mark_notified(s, first, "n2", now)) == 0  # not n2's claim
    assert registry.write(lambda s: store.mark_notified(s, first, "n1", now)) == 1
    later = until + timedelta(seconds=1)  # n2 died: its claim runs out, another notifier takes it
    assert registry.write(lambda s: store.claim_events(s, "n3", now=later, until=later)) == second
    events = incidents.get_incident(registry, _only(registry)["id"])["events"]
    assert [e["notifiedAt"] is not None for e in events] == [True, False]


@pytest.mark.postgres
def test_two_workers_processing_the_same_runs_open_one_incident(postgres_url: str, tmp_path: Path) -> None:

    mesh = Path(shutil.copytree(EXAMPLE, tmp_path / "m", ignore=shutil.ignore_patterns("lake", ".meshplane")))
    with Registry(postgres_url) as registry:
        apply_mesh(mesh, registry=registry, actor="test")
        for minute in range(20):
            _store(registry, _run(minute, "failed"))
    registries = [Registry(postgres_url), Registry(postgres_url)]
    threads = [threading.Thread(target=incidents.process_test_runs, args=(r,), kwargs={"limit": 3}) for r in registries]
    try:
        for _ in range(4):
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
            threads = [threading.Thread(target=incidents.process_test_runs, args=(r,), kwargs={"limit": 3})
                       for r in registries]  # fmt: skip
    finally:
        for registry in registries:
            registry.close()
    with Registry(postgres_url) as registry:
        incident = _only(registry)
        assert incident["occurrences"] == 20  # every run counted once, by one worker or the other
        assert len(incidents.get_incident(registry, incident["id"])["events"]) == 1


def test_one_batch_that_opens_updates_and_resolves_a_key_keeps_its_trail_in_order(
    mesh_registry: tuple[Path, Registry],
) -> None:
    _, registry = mesh_registry
    for minute, status in enumerate(("failed", "failed", "passed", "failed")):
        _store(registry, _run(minute, status))
    counts = incidents.process_test_runs(registry)[1]
    assert (counts.opened, counts.updated, counts.resolved, counts.reopened) == (1, 1, 1, 1)
    incident = _only(registry)
    assert (incident["state"], incident["occurrences"], incident["reopened"]) == ("open", 3, 1)
    trail = incidents.get_incident(registry, incident["id"])["events"]
    assert [e["kind"] for e in trail] == ["opened", "resolved", "reopened"]
