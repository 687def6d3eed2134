"""JSON bodies of the FastAPI routes (`api.bodies`): one strict reader, every router uses it."""

from __future__ import annotations

import asyncio
import json

import pytest
from api_support import OPERATOR, World
from fastapi.testclient import TestClient

from meshplane.api.bodies import LOOP_PARSE_LIMIT, DuplicateKeyError, JsonRoute, read_json, read_json_async
from meshplane.api.routes import discover_routes
from meshplane.registry import Registry
from meshplane.service.tokens import list_tokens

JSON = {"Content-Type": "application/json"}


def test_every_router_reads_json_bodies_with_the_strict_reader() -> None:
    for router in discover_routes().routers:
        assert issubclass(router.route_class, JsonRoute), (
            f"{router.routes[0].path if router.routes else router}: build the router with route_class=JsonRoute"
        )


@pytest.mark.parametrize(
    ("text", "key", "at"),
    [
        ('{"role": "reader", "role": "admin"}', "role", 19),
        ('{"a": {"name": 1}, "b": {"name": 2, "x": [{"name": 3}], "name": 4}}', "name", 56),
        ('{"a": "\\",\\"a\\": 1", "a": 2}', "a", 21),
        ('[{"k": 1}, {"k": 2, "k": 3}]', "k", 20),
    ],
)
def test_a_duplicate_key_is_named_where_it_is(text: str, key: str, at: int) -> None:
    with pytest.raises(DuplicateKeyError) as caught:
        read_json(text.encode())
    assert caught.value.msg.startswith(f"duplicate key '{key}'")
    assert caught.value.pos == at and text[at:].startswith(f'"{key}"')


def test_the_same_key_in_other_objects_and_a_byte_order_mark_are_fine() -> None:
    text = '\ufeff{"a": {"name": 1}, "b": [{"name": 2}, {"name": 3}], "name": ["name", "name"]}'
    assert read_json(text.encode()) == json.loads(text[1:])


def test_a_body_that_is_not_utf8_is_refused() -> None:
    with pytest.raises(UnicodeDecodeError):
        read_json('{"a": "é"}'.encode("latin-1"))
    with pytest.raises(UnicodeDecodeError):
        read_json('{"a": 1}'.encode("utf-16"))


def test_a_large_body_reads_the_same_in_a_worker_thread() -> None:
    value = {"files": {f"f{i}.yaml": "x" * 100 for i in range(1_000)}}
    body = json.dumps(value).encode()
    assert len(body) > LOOP_PARSE_LIMIT
    assert asyncio.run(read_json_async(body)) == value
    with pytest.raises(DuplicateKeyError):
        asyncio.run(read_json_async(body[:-2] + b', "f0.yaml": ""}}'))


def test_duplicate_keys_cannot_choose_a_role(client: TestClient, world: World, registry: Registry) -> None:
    before = len(list_tokens(registry, OPERATOR))
    response = client.post(
        "/api/v1/tokens",
        content=b'{"role": "reader", "name": "x",\n "role": "admin"}',
        headers={**world.headers("admin"), **JSON},
    )
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["type"] == "urn:meshplane:problem:invalid-json"
    assert problem["detail"] == (
        "the body is not valid JSON: duplicate key 'role' (a key may appear once per object) at line 2, column 2"
    )
    assert len(list_tokens(registry, OPERATOR)) == before


def test_a_large_bundle_is_read_and_judged_like_a_small_one(client: TestClient, world: World) -> None:
    files = {f"extra/f{i}.yaml": "a: 1\n" + "#" * 100 for i in range(1_000)}
    response = client.post(
        "/api/v1/apply",
        content=json.dumps({"files": files, "dryRun": True}),
        headers={**world.headers("admin"), **JSON},
    )
    assert response.status_code == 422, response.text
    assert "mesh.yaml" in response.json()["detail"]


def test_a_duplicate_key_is_named_on_one_line() -> None:
    with pytest.raises(DuplicateKeyError) as caught:
        read_json(b'{"a\\nb\\"": 1, "a\\nb\\"": 2}')
    assert caught.value.msg.startswith("duplicate key 'a\\nb\\\"'") and "\n" not in caught.value.msg
