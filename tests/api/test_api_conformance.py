"""The OpenAPI document tells the truth: schemathesis, every check and every phase, 0 failures.

The server is tested in-process (ASGI) from its own ``/openapi.json``, as an admin (so writes get
past authorization), on a fresh copy of the example world, on SQLite and PostgreSQL. Every phase
runs (examples, coverage, fuzzing, stateful) with every check of schemathesis: no 5xx; what the
document declares valid is accepted and what it declares invalid refused; every status code,
content type, header and body is documented; ``Allow`` on a 405 lists the documented methods;
stateful sequences (create, then read) hold; and so on.

Bounded by counts, never by a clock: `EXAMPLES` generated requests per operation and phase on
SQLite, `POSTGRES_EXAMPLES` on PostgreSQL (``MESHPLANE_CONFORMANCE_EXAMPLES`` raises them for a
longer run); generation is deterministic (derandomized, a fixed seed, no example database), so a
run sends the same requests every time.

Two documented rules sit outside JSON Schema, and the configuration says so rather than
loosening a check:

- NUL characters are refused in URLs and bodies (400 `nul-character`, docs/api.md): generation
  sends none (``allow-x00 = false``); tests/api/test_api_errors.py covers the refusal.
- Some bodies carry rules a JSON Schema cannot state (`BEYOND_SCHEMA`): a bundle's YAML is
  judged by lint and the plan, an OpenLineage event by the OpenLineage JSON Schema, an agreement
  by the products it names. For those operations a schema-valid request may be refused with the
  listed status, and `refused_by_rules_only` checks that such a refusal is one of those rules
  (its problem type), never a request-validation problem: the server and the document agree on
  everything the document says.
"""

from __future__ import annotations

import os
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from api_support import World, build_world, copy_world
from fastapi.testclient import TestClient
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events, from_schema

from meshplane.api import create_app
from meshplane.api.problems import PROBLEM_MEDIA_TYPE, TYPE_BASE
from meshplane.registry import Registry
from meshplane.settings import Settings

EXAMPLES = int(os.environ.get("MESHPLANE_CONFORMANCE_EXAMPLES", "25"))
POSTGRES_EXAMPLES = max(EXAMPLES // 2, 5)
SEED = 19

BEYOND_SCHEMA: dict[tuple[str, str], tuple[int, frozenset[str]]] = {
    ("POST", "/api/v1/apply"): (422, frozenset({"invalid", "plan-refused"})),
    ("POST", "/api/v1/agreements"): (422, frozenset({"invalid"})),
    ("POST", "/api/v1/migrations/agreements"): (422, frozenset({"invalid"})),  # toPort is the agreement's port
    ("POST", "/api/v1/lineage"): (400, frozenset({"invalid-event"})),
    ("POST", "/api/v1/lineage/batch"): (400, frozenset({"invalid-event"})),
    ("POST", "/api/v1/tokens"): (422, frozenset({"invalid"})),
    ("POST", "/api/v1/products/{product_id}/dbt-link"): (422, frozenset({"invalid"})),  # lake data only
}
"""Operations whose schema-valid requests may still break a rule JSON Schema cannot state: the status
such a refusal has, and the problem types (`urn:meshplane:problem:…`) it may carry."""

ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
"""schemathesis' default statuses of a schema-valid request (5xx fails `not_a_server_error`)."""


@schemathesis.check
def refused_by_rules_only(ctx: Any, response: Any, case: Any) -> bool | None:
    """A schema-valid request refused by an operation of `BEYOND_SCHEMA` is refused by one of its rules."""
    meta = case.meta
    rule = BEYOND_SCHEMA.get((case.method.upper(), case.operation.path))
    if meta is None or rule is None or not meta.generation.mode.is_positive or response.status_code != rule[0]:
        return None
    kind = str((response.json() or {}).get("type", "")).removeprefix(TYPE_BASE)
    if kind not in rule[1]:
        raise AssertionError(f"a schema-valid request was refused as `{kind}`: {response.text[:300]}")
    return None


def _config(world: World, examples: int) -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "headers": {"Authorization": f"Bearer {world.tokens['admin']}"},
            "workers": 1,
            "continue-on-failure": True,
            "suppress-health-check": ["all"],
            "generation": {
                "max-examples": examples,
                "deterministic": True,
                "database": "none",
                "allow-x00": False,
            },
            "checks": {"enabled": True},
            "phases": {name: {"enabled": True} for name in ("examples", "coverage", "fuzzing", "stateful")},
            "operations": [
                {
                    "include-name": f"{method} {path}",
                    "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, str(status)]}},
                }
                for (method, path), (status, _) in BEYOND_SCHEMA.items()
            ],
        }
    )


def _run(world: World, examples: int) -> tuple[list[str], dict[str, Counter[int]], Counter[str], list[str]]:
    """Every failure of a whole schemathesis run, the statuses of valid requests per operation, cases per phase,
    and the operations of the document."""
    with Registry(world.registry_url) as registry:
        app = create_app(registry, settings=Settings())
        schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=_config(world, examples))
        operations = [result.ok().label for result in schema.get_all_operations()]
        failures: list[str] = []
        valid: dict[str, Counter[int]] = defaultdict(Counter)
        phases: Counter[str] = Counter()
        for event in from_schema(schema).execute():
            if isinstance(event, events.ScenarioFinished):
                recorder = event.recorder
                phases[event.phase.value] += len(recorder.cases)
                for case_id, node in recorder.cases.items():
                    interaction = recorder.interactions.get(case_id)
                    meta = node.value.meta
                    if interaction and interaction.response and meta and meta.generation.mode.is_positive:
                        valid[node.value.operation.label][interaction.response.status_code] += 1
                for checks in recorder.checks.values():
                    for check in checks:
                        if check.failure_info is not None:
                            failure = check.failure_info.failure
                            failures.append(
                                f"{check.name} on {recorder.label}: {failure.title}\n{str(failure.message)[:600]}\n"
                                f"{check.failure_info.code_sample[:1500]}"
                            )
            elif isinstance(event, events.NonFatalError):
                failures.append(f"error in {event.label}: {event.info.message}")
            elif isinstance(event, events.FatalError):
                failures.append(f"fatal error: {event.exception!r}")
            elif isinstance(event, events.EngineFinished):
                failures += [f"{failure.title}: {failure.message}" for failure in event.failures]
    return failures, valid, phases, operations


@pytest.fixture(scope="module")
def postgres_template(
    postgres_server_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, World]]:
    """The example world in a PostgreSQL database of this process, copied (as a template) per test."""
    import sqlalchemy as sa

    name = f"mp_conformance_template_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(postgres_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        world = build_world(f"{postgres_server_url.rsplit('/', 1)[0]}/{name}", tmp_path_factory.mktemp("st-pg"))
        yield name, world
    finally:
        _drop(admin, name)
        admin.dispose()


def _drop(admin: Any, name: str) -> None:
    import sqlalchemy as sa

    with admin.connect() as conn:
        conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name})
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))


@pytest.fixture
def postgres_world(postgres_server_url: str, postgres_template: tuple[str, World]) -> Iterator[World]:
    """A fresh copy of the PostgreSQL world (CREATE DATABASE … TEMPLATE), dropped afterwards."""
    import sqlalchemy as sa

    template, world = postgres_template
    name = f"mp_conformance_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            # a template must have no session: close any the world's registry left behind
            conn.execute(
                sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": template}
            )
            conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        yield World(f"{postgres_server_url.rsplit('/', 1)[0]}/{name}", world.mesh, dict(world.tokens))
        _drop(admin, name)
    finally:
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def conformance_world(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[World, int]:
    """A fresh world on the registry of the parameter, and the number of examples per operation and phase."""
    if request.param == "sqlite":
        return copy_world(request.getfixturevalue("world_template"), tmp_path), EXAMPLES
    return request.getfixturevalue("postgres_world"), POSTGRES_EXAMPLES


@pytest.mark.slow
def test_openapi_document_tells_the_truth(conformance_world: tuple[World, int]) -> None:
    world, examples = conformance_world
    failures, valid, phases, operations = _run(world, examples)
    print(f"cases per phase: {dict(phases)}")
    kinds = Counter(failure.split(":", 1)[0] for failure in failures)
    assert not failures, f"{len(failures)} failures: {dict(kinds)}\n\n" + "\n\n".join(failures[:15])
    # what the run reached on its own: every phase ran, and every operation got valid requests past authorization
    assert {"examples", "coverage", "fuzzing", "stateful"} <= set(phases), dict(phases)
    unreached = [label for label in operations if not set(valid[label]) - {401, 403}]
    assert not unreached, f"no valid request got past authorization: {unreached}"


EVERY_API_ROUTE = {"400", "401", "422", "429", "503"}
"""What every ``/api/`` operation may answer: a NUL in the URL, no valid token, invalid parameters, the rate
limit, a registry that is down (schemathesis reaches only some of them)."""
EVERY_WRITE = {"403", "409", "413", "415"}
"""What every write may answer besides: a role or domain that may not, a conflict, a body too large, an encoding."""


def test_every_status_an_operation_can_answer_is_documented(app: Any) -> None:
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            expected = (EVERY_API_ROUTE if path.startswith("/api/") else {"400"}) | (
                EVERY_WRITE if method != "get" else set()
            )
            assert expected <= set(responses), (method, path, sorted(expected - set(responses)))
            for status, response in responses.items():
                if status[0] in "45":  # errors are problem+json only, with the Problem schema
                    assert set(response["content"]) == {PROBLEM_MEDIA_TYPE}, (method, path, status)
                    assert response["content"][PROBLEM_MEDIA_TYPE]["schema"] == {"$ref": "#/components/schemas/Problem"}
            if "429" in responses:
                assert "Retry-After" in responses["429"].get("headers", {}), (method, path)
            if "401" in responses:
                assert "WWW-Authenticate" in responses["401"].get("headers", {}), (method, path)


def test_405_allows_exactly_the_documented_methods(app: Any, client: TestClient, world: World) -> None:
    for path, operations in app.openapi()["paths"].items():
        url = path.replace("{", "").replace("}", "")  # any value of each parameter
        documented = sorted(method.upper() for method in operations)
        for method in sorted({"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"} - set(documented)):
            response = client.request(method, url, headers=world.headers("admin"))
            assert response.status_code == 405, (method, url, response.status_code)
            assert response.headers["allow"] == ", ".join(documented), (method, url)
            if method != "HEAD":
                assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE


LAX = [
    ("GET", "/api/v1/domains?limit=1.0", None, "limit"),
    ("GET", "/api/v1/domains?includeRetired=1", None, "includeRetired"),
    ("GET", "/api/v1/contracts?includeRetired=yes", None, "includeRetired"),
    ("GET", "/api/v1/test-runs?since=0.5", None, "since"),
    ("GET", "/api/v1/test-runs?since=2026-11-20T10:00:00", None, "since"),
    ("GET", "/api/v1/test-runs?since=2026-11-20", None, "since"),
    ("GET", "/api/v1/test-runs/pass-rates?since=9999-12-31T00:00:00Z", None, "since"),
    ("GET", "/api/v1/test-runs/1.0", None, "run_id"),
    ("GET", "/api/v1/lineage/flags?since=0", None, "since"),
    ("GET", "/api/v1/lineage/movements?until=20261120", None, "until"),
    ("GET", "/api/v1/lineage/movements?byDay=on", None, "byDay"),
    ("GET", "/api/v1/lineage/domains/retail?depth=2.0", None, "depth"),
    ("POST", "/api/v1/apply", {"files": {"mesh.yaml": "kind: Mesh\n"}, "dryRun": 0}, "dryRun"),
    ("PUT", "/api/v1/products/retail.sales/ports/orders/settings", {"autoApprove": "true"}, "autoApprove"),
    ("POST", "/api/v1/agreements/1/reject", {"reason": "\x1e \u3000"}, "reason"),
    (
        "POST",
        "/api/v1/agreements",
        {"consumer": "a.b", "provider": "c.d", "port": "p", "purpose": "x", "endDate": 20270101},
        "endDate",
    ),
]
"""Values pydantic would read laxly (`1.0` as 1, `yes` as true, `0.5` as a Unix time) and the document refuses."""


@pytest.mark.parametrize(("method", "url", "body", "field"), LAX, ids=[f"{m} {u} {f}" for m, u, _, f in LAX])
def test_what_the_document_refuses_is_refused(
    client: TestClient, world: World, method: str, url: str, body: Any, field: str
) -> None:
    response = client.request(method, url, json=body, headers=world.headers("admin"))
    assert response.status_code == 422, response.text
    assert response.json()["type"] == TYPE_BASE + "validation"
    assert [error["field"] for error in response.json()["errors"]] == [field]


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/domains?limit=1&offset=0&includeRetired=true",
        "/api/v1/contracts?includeRetired=false",
        "/api/v1/test-runs?since=2026-11-20T10:00:00Z",
        "/api/v1/test-runs?since=2026-11-20t11:00:00.5%2B01:00",
        "/api/v1/lineage/movements?since=2026-11-19&until=2026-11-21&byDay=true",
        "/api/v1/lineage/domains/retail?depth=2",
    ],
)
def test_what_the_document_declares_valid_is_accepted(client: TestClient, world: World, url: str) -> None:
    response = client.get(url, headers=world.headers("admin"))
    assert response.status_code == 200, response.text
