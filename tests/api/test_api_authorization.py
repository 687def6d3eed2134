"""Authorization: the matrix of every mutating route x every kind of caller, generated from the route table.

Also: reads need a token unless anonymous read is on; bad tokens are 401 even for reads; revoked
tokens stop working; tokens are stored only as hashes and never appear in the server's logs.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from access_matrix import APPLY_SCENARIOS, EXPECTATIONS, PATH_VALUES, SQUATTED_CONTRACT, Expectation, Scenario
from api_support import IDENTITIES, OPERATOR, LiveServer, World, build_world, bundle, copy_world
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from meshplane.api import create_app
from meshplane.api.security import OWNER_EXTENSION
from meshplane.registry import Registry
from meshplane.registry.access import ApiToken
from meshplane.registry.lineage import stored_mesh_settings
from meshplane.service.tokens import create_token
from meshplane.settings import Settings

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}


def route_table() -> list[tuple[str, str, Any]]:
    """(method, path, OpenAPI operation) of every route of the application, from `app.routes` (included
    routers and plain routes alike) and the document that declares them."""
    app = create_app(Registry("sqlite:///:memory:", auto_upgrade=False), settings=Settings())
    paths = app.openapi()["paths"]
    return [
        (method, route.path, paths.get(route.path, {}).get(method.lower(), {}))
        for route in iter_route_contexts(app.routes)
        if route.path is not None
        for method in sorted(route.methods or ())
    ]


WEB_FORMS = ("/signin", "/signout", "/products/", "/agreements/", "/incidents/")
ROUTES = route_table()
MUTATING_ROUTES = sorted((m, p) for m, p, _ in ROUTES if m in MUTATING and not p.startswith(WEB_FORMS))
"""The API's writes. The web cockpit's form targets (``WEB_FORMS``) take a session and a CSRF token, not a
bearer token: tests/web checks them (a forged POST from a reader or another domain is 403)."""
READ_ROUTES = sorted((m, p) for m, p, _ in ROUTES if m == "GET" and p.startswith("/api/"))


def _fill(path: str) -> str:
    url = re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], path)
    return f"{url}?from=1.2.0&to=1.2.0" if url.endswith("/diff") else url


def _caller(identity: str, expectation: Expectation | Scenario) -> str:
    if identity == "other":
        return f"maintainer:{expectation.other}"
    if identity == "owner":
        return f"maintainer:{expectation.owner}"
    return identity


def _call(world: World, method: str, path: str, identity: str, *, anonymous_read: bool = False) -> tuple[int, str]:
    expectation = EXPECTATIONS[(method, path)]
    with Registry(world.registry_url) as registry:
        url, body = expectation.prepare(registry, world)
        app = create_app(registry, settings=Settings(anonymous_read=anonymous_read))
        with TestClient(app, raise_server_exceptions=False) as client:
            response = client.request(method, url, json=body, headers=world.headers(_caller(identity, expectation)))
    return response.status_code, response.text


def test_the_route_table_has_mutating_routes() -> None:
    assert len(MUTATING_ROUTES) >= 9
    assert ("POST", "/api/v1/apply") in MUTATING_ROUTES


@pytest.mark.parametrize(("method", "path"), MUTATING_ROUTES, ids=[f"{m} {p}" for m, p in MUTATING_ROUTES])
def test_every_mutating_route_declares_its_owner_and_has_an_expectation(method: str, path: str) -> None:
    operation = next(r for m, p, r in ROUTES if (m, p) == (method, path))
    owner = operation.get(OWNER_EXTENSION)
    assert owner and owner.get("rule") and owner.get("description"), f"{method} {path} declares no owner (writes(...))"
    assert (method, path) in EXPECTATIONS, f"{method} {path} has no row in tests/api/access_matrix.py EXPECTATIONS"


def test_no_expectation_for_a_route_that_does_not_exist() -> None:
    stale = sorted(set(EXPECTATIONS) - set(MUTATING_ROUTES))
    assert not stale, f"EXPECTATIONS names routes the app does not have: {stale}"


CELLS = [(m, p, who) for m, p in MUTATING_ROUTES for who in IDENTITIES]


@pytest.mark.parametrize(("method", "path", "identity"), CELLS, ids=[f"{m} {p} as {w}" for m, p, w in CELLS])
def test_authorization_matrix(method: str, path: str, identity: str, world: World) -> None:
    assert (method, path) in EXPECTATIONS, f"{method} {path} has no row in EXPECTATIONS"
    status, text = _call(world, method, path, identity)
    expected = EXPECTATIONS[(method, path)].statuses[identity]
    assert status == expected, f"{method} {path} as {identity}: {status} (expected {expected}): {text[:300]}"


LINEAGE_RECEIVERS = {("POST", "/api/v1/lineage"): 201, ("POST", "/api/v1/lineage/batch"): 200}
API_WRITES = [(m, p) for m, p in MUTATING_ROUTES if p.startswith("/api/")]


@pytest.mark.parametrize(("method", "path"), API_WRITES, ids=[f"{m} {p}" for m, p in API_WRITES])
def test_a_lineage_writer_sends_lineage_and_changes_nothing_else(method: str, path: str, world: World) -> None:
    """The shared runner's token (docs/auth.md): the receivers accept it, every other write is 403."""
    with Registry(world.registry_url) as registry:
        world.tokens["lineage-writer"] = create_token(registry, OPERATOR, role="lineage-writer", name="runner").token
    status, text = _call(world, method, path, "lineage-writer")
    assert status == LINEAGE_RECEIVERS.get((method, path), 403), f"{method} {path}: {status}: {text[:300]}"


@pytest.mark.parametrize(("method", "path"), MUTATING_ROUTES, ids=[f"{m} {p}" for m, p in MUTATING_ROUTES])
def test_anonymous_read_never_opens_writes(method: str, path: str, world: World) -> None:
    status, text = _call(world, method, path, "anonymous", anonymous_read=True)
    assert status == 401, text


@pytest.mark.parametrize(("method", "path"), READ_ROUTES, ids=[f"{m} {p}" for m, p in READ_ROUTES])
def test_reads_need_a_token_unless_anonymous_read_is_on(method: str, path: str, registry: Registry) -> None:
    url = _fill(path)
    with TestClient(create_app(registry, settings=Settings())) as closed:
        response = closed.get(url)
        assert response.status_code == 401, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"] == "Bearer"
    with TestClient(create_app(registry, settings=Settings(anonymous_read=True))) as opened:
        response = opened.get(url)
        if path == "/api/v1/tokens":  # tokens are for admins only: anonymous callers must authenticate
            assert response.status_code == 401, response.text
        else:
            assert response.status_code in (200, 404), response.text


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend_world(request: pytest.FixtureRequest, world_template: World, tmp_path: Path) -> World:
    """A fresh example world on SQLite (a copy of the template) or on a new PostgreSQL database."""
    if request.param == "sqlite":
        return copy_world(world_template, tmp_path)
    return build_world(request.getfixturevalue("postgres_url"), tmp_path)


def _stored_ids(registry: Registry) -> set[str]:
    """Every domain, product and contract id of the registry, and the mesh.yaml settings last applied."""
    with registry.engine.connect() as conn:
        ids = {
            f"{table}:{row}"
            for table in ("domains", "products", "contracts")
            for row in conn.execute(sa.text(f"SELECT id FROM {table}")).scalars()
        }
    with registry.read() as session:
        return ids | {f"mesh.yaml:{json.dumps(stored_mesh_settings(session), sort_keys=True)}"}


@pytest.mark.parametrize("name", sorted(APPLY_SCENARIOS))
def test_apply_scenarios_of_the_matrix(name: str, backend_world: World) -> None:
    """Each caller applies the scenario's bundle (admin last: it may write); refusals change nothing."""
    scenario = APPLY_SCENARIOS[name]
    with Registry(backend_world.registry_url) as registry:
        before = _stored_ids(registry)
        with TestClient(create_app(registry, settings=Settings()), raise_server_exceptions=False) as client:
            for identity in IDENTITIES:
                url, body = scenario.prepare(registry, backend_world)
                headers = backend_world.headers(_caller(identity, scenario))
                response = client.post(url, json=body, headers=headers)
                expected = scenario.statuses[identity]
                assert response.status_code == expected, f"{name} as {identity}: {response.text[:400]}"
                if identity == "owner":
                    detail = response.json()["detail"]
                    assert all(part in detail for part in scenario.names), detail
                if identity != "admin":
                    assert _stored_ids(registry) == before, f"{name} as {identity} changed the registry"
    assert f"contracts:{SQUATTED_CONTRACT}" not in before


def test_a_maintainer_may_revoke_from_the_consumer_side(world: World) -> None:
    with Registry(world.registry_url) as registry:
        url, body = EXPECTATIONS[("POST", "/api/v1/agreements/{agreement_id}/revoke")].prepare(registry, world)
        with TestClient(create_app(registry, settings=Settings())) as client:
            response = client.post(url, json=body, headers=world.headers("maintainer:retail"))
    assert response.status_code == 200, response.text


def test_apply_of_another_domains_change_is_403(client: TestClient, world: World) -> None:
    change = {"domains/finance/domain.yaml": lambda t: t.replace("Group accounting", "Group accounting (new)")}
    files = bundle(world.mesh, change)
    answer = client.post("/api/v1/apply", json={"files": files}, headers=world.headers("maintainer:retail"))
    assert answer.status_code == 403, answer.text
    assert "finance" in answer.json()["detail"]
    dry = client.post(
        "/api/v1/apply", json={"files": files, "dryRun": True}, headers=world.headers("maintainer:retail")
    )
    assert dry.status_code == 403
    own = client.post("/api/v1/apply", json={"files": files}, headers=world.headers("maintainer:finance"))
    assert own.status_code == 200 and own.json()["applied"] is True, own.text


def test_prune_by_a_maintainer_cannot_retire_other_domains(client: TestClient, world: World) -> None:
    files = {k: v for k, v in bundle(world.mesh).items() if not k.startswith("domains/marketing/")}
    answer = client.post(
        "/api/v1/apply",
        json={"files": files, "prune": True, "dryRun": True},
        headers=world.headers("maintainer:retail"),
    )
    assert answer.status_code == 403 and "marketing" in answer.json()["detail"], answer.text
    admin = client.post(
        "/api/v1/apply", json={"files": files, "prune": True, "dryRun": True}, headers=world.headers("admin")
    )
    assert admin.status_code == 200 and admin.json()["domains"] == ["marketing"], admin.text


@pytest.mark.parametrize(
    "header",
    [
        "Bearer mp_abcdefgh_" + "x" * 43,  # well formed, unknown
        "Bearer not-a-token",
        "Basic dXNlcjpwYXNz",
        "Bearer ",
    ],
)
def test_bad_tokens_are_401_even_for_reads(client: TestClient, header: str) -> None:
    response = client.get("/api/v1/domains", headers={"Authorization": header})
    assert response.status_code == 401, response.text
    assert response.json()["status"] == 401


def test_a_revoked_token_stops_working(client: TestClient, world: World) -> None:
    reader = world.headers("reader")
    assert client.get("/api/v1/domains", headers=reader).status_code == 200
    tokens = client.get("/api/v1/tokens", headers=world.headers("admin")).json()
    reader_id = next(t["id"] for t in tokens if t["name"] == "reader")
    revoked = client.delete(f"/api/v1/tokens/{reader_id}", headers=world.headers("admin"))
    assert revoked.status_code == 200 and revoked.json()["active"] is False
    refused = client.get("/api/v1/domains", headers=reader)
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]


def test_tokens_are_stored_only_as_hashes(client: TestClient, world: World, registry: Registry) -> None:
    created = client.post(
        "/api/v1/tokens", json={"role": "maintainer", "domain": "retail", "name": "ci"}, headers=world.headers("admin")
    )
    assert created.status_code == 201
    secret = created.json()["token"]
    assert client.get("/api/v1/whoami", headers={"Authorization": f"Bearer {secret}"}).json()["domain"] == "retail"
    listed = client.get("/api/v1/tokens", headers=world.headers("admin")).text
    assert secret not in listed and "sha256" not in listed
    every_secret = [*world.tokens.values(), secret]
    with registry.engine.connect() as conn:
        dump = "\n".join(
            str(row)
            for table in sa.inspect(registry.engine).get_table_names()
            for row in conn.execute(sa.text(f'SELECT * FROM "{table}"'))
        )
        hashes = conn.execute(sa.select(ApiToken.sha256)).scalars().all()
    for token in every_secret:
        assert token not in dump
        assert token.split("_", 2)[2] not in dump  # not even the secret part
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes)
    raw = Path(registry.url.sqlite_file or "").read_bytes()
    assert not any(token.encode() in raw for token in every_secret)


def test_server_logs_never_contain_a_token(registry: Registry, world: World, caplog: pytest.LogCaptureFixture) -> None:
    """A real uvicorn server with its access log on: no token in any log record, valid, wrong or new."""
    caplog.set_level(logging.DEBUG)
    good = world.tokens["maintainer:retail"]
    wrong = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    app = create_app(registry, settings=Settings())
    with LiveServer(app, access_log=True) as server, httpx.Client(base_url=server.url) as http:
        for token in (good, wrong, world.tokens["admin"], "mp_zzzzzzzz_" + "s" * 40, "garbage"):
            headers = {"Authorization": f"Bearer {token}"}
            http.get("/api/v1/domains", headers=headers)
            http.get("/api/v1/whoami", headers=headers, params={"q": "x"})
            http.post("/api/v1/agreements", json={"consumer": "nope"}, headers=headers)
            http.post("/api/v1/tokens", json={"role": "admin"}, headers=headers)
        created = http.post("/api/v1/tokens", json={"role": "reader"}, headers=world.headers("admin")).json()["token"]
        http.get("/api/v1/domains", headers={"Authorization": f"Bearer {created}"})
    text = caplog.text + "\n".join(f"{r.getMessage()} {r.args}" for r in caplog.records)
    assert any(r.name.startswith("uvicorn.access") for r in caplog.records), "the access log was not captured"
    assert "rejected token" in text  # the failures are logged, by token id only
    for token in (good, wrong, world.tokens["admin"], created):
        assert token not in text
        assert token.split("_", 2)[2] not in text
