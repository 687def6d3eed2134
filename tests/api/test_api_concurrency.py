"""20 parallel clients against a real uvicorn server on 127.0.0.1, on SQLite and on PostgreSQL.

No lost update, no duplicate: concurrent approvals of one agreement give one approval; concurrent
identical requests one agreement; concurrent applies of one bundle one write; concurrent applies of
different domains' changes never revert one another; concurrent test run publishing loses nothing.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from api_support import OPERATOR, LiveServer, World, build_world, bundle, run_document

from meshplane.api import create_app
from meshplane.registry import Registry
from meshplane.registry import models as m
from meshplane.registry.access import AgreementEvent, UsageAgreement
from meshplane.service.agreements import request_agreement
from meshplane.settings import Settings

CLIENTS = 20
REQUEST = {"consumer": "retail.sales", "provider": "customer.profiles", "port": "customers", "purpose": "orders"}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[World, Registry, str]]:
    """A world on a fresh database, served by uvicorn on 127.0.0.1."""
    url = (
        f"sqlite:///{tmp_path / 'registry.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    world = build_world(url, tmp_path)
    with Registry(url) as registry, LiveServer(create_app(registry, settings=Settings())) as server:
        yield world, registry, server.url


def race(base_url: str, calls: list[Callable[[httpx.Client], httpx.Response]]) -> list[httpx.Response]:
    """Run every call at the same moment, each from its own client (and connection)."""
    barrier = threading.Barrier(len(calls))
    answers: list[Any] = [None] * len(calls)

    def worker(index: int) -> None:
        with httpx.Client(base_url=base_url, timeout=120) as client:
            barrier.wait()
            try:
                answers[index] = calls[index](client)
            except Exception as exc:  # reported by the assertion below
                answers[index] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    failed = [a for a in answers if not isinstance(a, httpx.Response)]
    print(f"\n{len(calls)} clients: {dict(Counter(getattr(a, 'status_code', 'error') for a in answers))}")
    assert not failed, failed[:3]
    assert all(a.status_code < 500 for a in answers), [a.text for a in answers if a.status_code >= 500][:3]
    return answers


def statuses(answers: list[httpx.Response]) -> Counter[int]:
    return Counter(a.status_code for a in answers)


def test_concurrent_approvals_of_one_agreement(served: tuple[World, Registry, str]) -> None:
    world, registry, url = served
    agreement = request_agreement(registry, OPERATOR, **REQUEST)
    approvers = ["maintainer:customer", "admin"]

    def approve(who: str) -> Callable[[httpx.Client], httpx.Response]:
        url = f"/api/v1/agreements/{agreement.id}/approve"
        return lambda c: c.post(url, json={"reason": who}, headers=world.headers(who))

    calls = [approve(approvers[i % 2]) for i in range(CLIENTS)]
    answers = race(url, calls)
    assert statuses(answers) == {200: 1, 409: CLIENTS - 1}
    with registry.read() as session:
        events = (
            session.execute(sa.select(AgreementEvent.to_state).where(AgreementEvent.agreement_id == agreement.id))
            .scalars()
            .all()
        )
        state = session.get(UsageAgreement, agreement.id)
        audits = session.execute(
            sa.select(sa.func.count()).select_from(m.AuditEntry).where(m.AuditEntry.action == "agreement.approved")
        ).scalar_one()
    assert Counter(events) == {"requested": 1, "approved": 1, "active": 1}
    assert state is not None and state.state == "active" and audits == 1
    winner = next(a for a in answers if a.status_code == 200).json()
    assert state.decided_by == winner["decidedBy"]


def test_concurrent_identical_requests_make_one_agreement(served: tuple[World, Registry, str]) -> None:
    world, registry, url = served
    calls = [lambda c: c.post("/api/v1/agreements", json=REQUEST, headers=world.headers("maintainer:retail"))] * CLIENTS
    answers = race(url, calls)
    assert statuses(answers) == {201: 1, 409: CLIENTS - 1}
    with registry.read() as session:
        rows = session.execute(sa.select(UsageAgreement.id, UsageAgreement.state)).all()
    assert len(rows) == 1 and rows[0].state == "requested"


def _apply_count(registry: Registry) -> int:
    with registry.read() as session:
        query = sa.select(sa.func.count()).select_from(m.AuditEntry).where(m.AuditEntry.action == "apply")
        return int(session.execute(query).scalar_one())


def test_concurrent_applies_of_one_bundle_write_once(served: tuple[World, Registry, str]) -> None:
    world, registry, url = served
    files = bundle(world.mesh, {"domains/retail/domain.yaml": lambda t: t.replace("Runs the group", "Runs it all")})
    before = _apply_count(registry)
    calls = [lambda c: c.post("/api/v1/apply", json={"files": files}, headers=world.headers("maintainer:retail"))]
    answers = race(url, calls * CLIENTS)
    assert statuses(answers) == {200: CLIENTS}
    applied = [a.json()["applied"] for a in answers]
    assert applied.count(True) == 1
    assert _apply_count(registry) == before + 1
    with registry.read() as session:
        domain = session.get(m.Domain, "retail")
        assert domain is not None and domain.description and domain.description.startswith("Runs it all")


def test_concurrent_applies_of_different_domains_lose_nothing(served: tuple[World, Registry, str]) -> None:
    world, registry, url = served
    domains = ["retail", "customer", "finance", "marketing", "logistics"]
    before = _apply_count(registry)

    def bundle_of(domain: str) -> dict[str, str]:
        rename = {f"domains/{domain}/domain.yaml": lambda t: re.sub(r"(?m)^name: (.*)$", r"name: \1 (changed)", t)}
        return bundle(world.mesh, rename)

    bundles = {d: bundle_of(d) for d in domains}

    def apply(domain: str) -> Callable[[httpx.Client], httpx.Response]:
        headers = world.headers(f"maintainer:{domain}")
        return lambda c: c.post("/api/v1/apply", json={"files": bundles[domain]}, headers=headers)

    calls = [apply(domains[i % len(domains)]) for i in range(CLIENTS)]
    answers = race(url, calls)
    assert set(statuses(answers)) <= {200, 403, 409}, statuses(answers)
    won = {domains[i % len(domains)] for i, a in enumerate(answers) if a.status_code == 200 and a.json()["applied"]}
    assert won, "no apply went through"
    assert _apply_count(registry) == before + sum(1 for a in answers if a.status_code == 200 and a.json()["applied"])
    with registry.read() as session:
        changed = {d.id for d in session.execute(sa.select(m.Domain)).scalars() if (d.name or "").endswith("(changed)")}
    assert changed == won  # every applied change is still there; nothing else changed
    for answer in answers:  # a stale bundle is refused: it would revert another domain's change
        if answer.status_code in (403, 409):
            assert any(d in answer.json()["detail"] for d in domains) or "registry changed" in answer.json()["detail"]


def test_concurrent_publishing_of_test_runs(served: tuple[World, Registry, str]) -> None:
    """The same 5 runs sent by every client at once (retries racing): each stored once, every answer names them."""
    world, registry, url = served
    with registry.read() as session:
        before = session.execute(sa.select(sa.func.count()).select_from(m.TestRun)).scalar_one()
    documents = [run_document() for _ in range(5)]
    for day, document in enumerate(documents, start=1):
        document["startedAt"] = f"2026-10-{day:02d}T10:00:00Z"
    runs = {"runs": documents}
    calls = [lambda c: c.post("/api/v1/test-runs", json=runs, headers=world.headers("maintainer:retail"))] * CLIENTS
    answers = race(url, calls)
    assert set(statuses(answers)) <= {200, 201} and 201 in statuses(answers), statuses(answers)
    ids = {tuple(a.json()["ids"]) for a in answers}
    assert len(ids) == 1 and len(set(next(iter(ids)))) == 5  # every answer: the same 5 runs
    assert sum(a.json()["recorded"] for a in answers) == 5
    with registry.read() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(m.TestRun)).scalar_one() == before + 5
