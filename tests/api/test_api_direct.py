"""The direct path (`meshplane.api.direct`): which routes take it, what it refuses, and that it answers as FastAPI would.

The parity test sends the same requests (valid, duplicate, malformed, unauthenticated, forbidden,
gzip, NUL, too large, batches, a server error) once through the application and once through
FastAPI's own routing (the direct layer removed), each to a fresh copy of the same registry, and
compares status, content type, the answer and what got stored.
"""

from __future__ import annotations

import gzip
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lineage"))
from test_receiver_support import World, build_world, copy_world, run_event

from meshplane.api import create_app
from meshplane.api.app import MeshplaneAPI
from meshplane.api.direct import DirectRoutes, direct, direct_routes
from meshplane.api.routes.lineage import Context
from meshplane.api.security import Caller, current_principal, read_access
from meshplane.registry import lineage as store
from meshplane.registry.access import Principal
from meshplane.service import lineage as service
from meshplane.settings import Settings

JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> World:
    folder = tmp_path_factory.mktemp("direct")
    return build_world(folder, f"sqlite:///{folder / 'template.db'}")


def test_the_receiver_routes_take_the_direct_path() -> None:
    from meshplane.registry import Registry

    app = create_app(Registry("sqlite:///:memory:", auto_upgrade=False), settings=Settings())
    routes = direct_routes(app)
    assert set(routes) == {("POST", "/api/v1/lineage"), ("POST", "/api/v1/lineage/batch")}
    assert all(route.read and route.write for route in routes.values())  # the router's read, the route's write


def test_a_direct_route_with_another_dependency_is_refused_at_start_up() -> None:
    async def tenant(request: Request) -> str:
        return request.headers.get("x-tenant", "")

    router = APIRouter(dependencies=[Depends(read_access)])

    @router.post("/things")
    @direct
    async def things(request: Request, context: Context, caller: Caller, who: str = Depends(tenant)) -> JSONResponse:
        return JSONResponse({})

    app = FastAPI()
    app.include_router(router)
    with pytest.raises(TypeError, match=r"direct route /things depends on \['tenant'\]"):
        direct_routes(app)


class _Undirected(MeshplaneAPI):
    """The application without its direct layer: every request goes through FastAPI's routing."""

    def build_middleware_stack(self) -> Any:
        stack = super().build_middleware_stack()
        assert isinstance(stack, DirectRoutes)
        return stack.app


def _answer(client: TestClient, world: World, request: tuple[str, Any, dict[str, str]]) -> tuple[Any, ...]:
    path, body, headers = request
    response = client.post(path, content=body, headers=headers)
    try:
        payload = response.json()
    except ValueError:
        payload = response.text
    with world.registry() as registry, registry.read() as session:
        stored = sorted(session.execute(sa.select(store.StoredEvent.fingerprint, store.StoredEvent.received_by)).all())
    return response.status_code, response.headers.get("content-type"), payload, stored


def _requests(world: World) -> list[tuple[str, Any, dict[str, str]]]:
    admin, reader = {**world.headers(), **JSON}, {**world.headers("reader"), **JSON}
    event, other = json.dumps(run_event()), json.dumps(run_event(job="airflow-retail/orders.load"))
    bad = json.dumps(run_event(run_id="run-42"))
    return [
        ("/api/v1/lineage", event, admin),  # stored: 201
        ("/api/v1/lineage", event, admin),  # the same again: 200 duplicate
        ("/api/v1/lineage", bad, admin),  # malformed: 400 naming the field
        ("/api/v1/lineage", "{not json", admin),
        ("/api/v1/lineage", json.dumps(run_event(inputs=[{"namespace": "my#ns", "name": "t"}])), admin),
        ("/api/v1/lineage", other, JSON),  # no token: 401
        ("/api/v1/lineage", other, reader),  # a reader: 403
        ("/api/v1/lineage", other, {**admin, "Authorization": "Bearer mp_abcdefgh_" + "x" * 43}),  # unknown token
        ("/api/v1/lineage", other, {**admin, "Authorization": "Basic abc"}),
        ("/api/v1/lineage", gzip.compress(other.encode()), {**admin, "Content-Encoding": "gzip"}),
        ("/api/v1/lineage", b"\x1f\x8b not gzip", {**admin, "Content-Encoding": "gzip"}),
        ("/api/v1/lineage", other, {**admin, "Content-Encoding": "br"}),
        ("/api/v1/lineage", other.replace("orders", "ord\\u0000ers"), admin),
        ("/api/v1/lineage", "x" * 5000, admin),  # over the limit below: 413
        ("/api/v1/lineage/batch", json.dumps([run_event(), json.loads(bad), run_event()]), admin),
        ("/api/v1/lineage/batch", json.dumps([json.loads(bad)]), admin),
        ("/api/v1/lineage/batch", json.dumps({"not": "an array"}), admin),
        ("/api/v1/lineage/batch", json.dumps([run_event()]), {**world.headers("maintainer:finance"), **JSON}),
    ]


def _client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_the_direct_path_answers_as_fastapi_would(template: World, tmp_path: Path) -> None:
    settings = Settings(max_request_bytes=4096)
    answers: dict[str, list[tuple[Any, ...]]] = {}
    requests = _requests(template)  # the same bodies (run ids) and tokens for both copies
    for name, factory in (("direct", MeshplaneAPI), ("fastapi", _Undirected)):
        (tmp_path / name).mkdir()
        world = copy_world(template, tmp_path / name)
        with world.registry() as registry:
            app = create_app(registry, settings=settings)
            app.__class__ = factory  # the same application, with or without its direct layer
            for client in _client(app):
                answers[name] = [_answer(client, world, request) for request in requests]
    assert [a[0] for a in answers["direct"]] == [201, 200, 400, 400, 400, 401, 403, 401, 401, 201, 400, 415, 400, 413, 200,
                                                 400, 400, 200]  # fmt: skip
    assert answers["direct"] == answers["fastapi"]


def test_a_server_error_on_the_direct_path_is_the_usual_500_problem(
    template: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    world = copy_world(template, tmp_path)

    async def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(service, "receive_event_async", broken)
    with world.registry() as registry:
        for client in _client(create_app(registry, settings=Settings())):
            answer = client.post(
                "/api/v1/lineage", content=json.dumps(run_event()), headers={**world.headers(), **JSON}
            )
    assert answer.status_code == 500
    assert answer.json()["detail"] == "internal error (logged on the server)" and "secret" not in answer.text
    assert "unexpected error on POST /api/v1/lineage" in caplog.text


def test_the_token_use_is_noted_after_a_direct_request(template: World, tmp_path: Path) -> None:
    world = copy_world(template, tmp_path)
    with world.registry() as registry:
        for client in _client(create_app(registry, settings=Settings())):
            answer = client.post(
                "/api/v1/lineage", content=json.dumps(run_event()), headers={**world.headers(), **JSON}
            )
            assert answer.status_code == 201
        with registry.read() as session:
            used = session.execute(sa.text("SELECT last_used_at FROM api_tokens WHERE name = 'admin'")).scalar_one()
    assert used is not None


def test_a_direct_route_with_a_parameter_of_its_own_is_refused() -> None:
    router = APIRouter()

    @router.post("/things")
    @direct
    async def things(request: Request, context: Context, caller: Caller, limit: int = 10) -> JSONResponse:
        return JSONResponse({})

    app = FastAPI()
    app.include_router(router)
    with pytest.raises(TypeError, match=r"direct route /things takes \['limit'\]"):
        direct_routes(app)


def test_overridden_dependencies_and_root_paths_go_through_fastapi(template: World, tmp_path: Path) -> None:
    world = copy_world(template, tmp_path)
    body, headers = json.dumps(run_event()), {**world.headers(), **JSON}
    with world.registry() as registry:
        app = create_app(registry, settings=Settings())

        async def nobody() -> Principal:
            return Principal.anonymous()

        app.dependency_overrides[current_principal] = nobody  # as a test of the application would
        for client in _client(app):
            assert client.post("/api/v1/lineage", content=body, headers=headers).status_code == 401
        app.dependency_overrides.clear()
        for client in _client(app):
            # behind a proxy prefix, FastAPI matches the path without it: /api/v1 + /lineage is no route of its
            behind = TestClient(app, root_path="/api/v1")
            assert behind.post("/api/v1/lineage", content=body, headers=headers).status_code == 404
            assert behind.post("/api/v1/api/v1/lineage", content=body, headers=headers).status_code == 201
            assert client.post("/api/v1/lineage", content=body, headers=headers).status_code == 200  # duplicate


def test_a_refused_request_does_not_note_the_token_as_used(template: World, tmp_path: Path) -> None:
    world = copy_world(template, tmp_path)
    with world.registry() as registry:
        for client in _client(create_app(registry, settings=Settings())):
            answer = client.post(
                "/api/v1/lineage", content=json.dumps(run_event()), headers={**world.headers("reader"), **JSON}
            )
            assert answer.status_code == 403
        with registry.read() as session:
            used = session.execute(sa.text("SELECT last_used_at FROM api_tokens WHERE name = 'reader'")).scalar_one()
    assert used is None  # as with FastAPI: a request its dependencies refuse runs no background task
