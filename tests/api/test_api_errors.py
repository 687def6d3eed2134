"""Every error is RFC 9457 problem+json, with the field and reason; user input never gives a 500."""

from __future__ import annotations

import gzip
import json
import zlib

import pytest
from api_support import World, bundle
from fastapi import FastAPI
from fastapi.testclient import TestClient

from meshplane.api import create_app
from meshplane.api.problems import PROBLEM_MEDIA_TYPE
from meshplane.api.security import OWNER_EXTENSION
from meshplane.registry import Registry
from meshplane.settings import Settings


def assert_problem(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"] and body["type"].startswith("urn:")
    return body


def test_bad_json_is_400_with_line_and_column(client: TestClient, world: World) -> None:
    text = '{\n  "consumer": "retail.sales",\n  "purpose": "x",,\n}'
    response = client.post(
        "/api/v1/agreements",
        content=text,
        headers={**world.headers("admin"), "Content-Type": "application/json"},
    )
    body = assert_problem(response, 400)
    error = body["errors"][0]
    assert (error["line"], error["column"]) == (3, 18)  # the second comma
    assert "line 3" in body["detail"]


def test_a_body_that_is_not_json_is_named(client: TestClient, world: World) -> None:
    response = client.post(
        "/api/v1/agreements", content="consumer=x", headers={**world.headers("admin"), "Content-Type": "text/plain"}
    )
    body = assert_problem(response, 422)
    assert "Content-Type: application/json" in body["errors"][0]["reason"]


def test_validation_names_every_field_and_reason(client: TestClient, world: World) -> None:
    response = client.post(
        "/api/v1/agreements",
        json={"consumer": 7, "provider": "", "port": "x", "purpose": "p", "endDate": "tomorrow", "extra": 1},
        headers=world.headers("admin"),
    )
    body = assert_problem(response, 422)
    fields = {e["field"]: e["reason"] for e in body["errors"]}
    assert set(fields) == {"consumer", "provider", "endDate", "extra"}
    assert all(e["in"] == "body" for e in body["errors"])
    assert "string" in fields["consumer"] and "Extra inputs" in fields["extra"]


def test_nested_fields_have_dotted_paths(client: TestClient, world: World) -> None:
    run = {"contract": {"id": "retail.sales.orders", "version": "1.2.0"}, "result": "great", "startedAt": "x"}
    body = assert_problem(client.post("/api/v1/test-runs", json={"runs": [run]}, headers=world.headers("admin")), 422)
    assert {e["field"] for e in body["errors"]} == {"runs.0.result", "runs.0.startedAt"}


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/domains?limit=0", "limit"),
        ("/api/v1/domains?limit=501", "limit"),
        ("/api/v1/products?offset=-1", "offset"),
        ("/api/v1/test-runs?since=yesterday", "since"),
        ("/api/v1/test-runs?since=0001-01-01T00:00:00%2B05:00", "since"),
        ("/api/v1/agreements/0", "agreement_id"),
        ("/api/v1/agreements/99999999999", "agreement_id"),
        ("/api/v1/agreements?state=happy", "state"),
    ],
)
def test_bad_parameters_are_422(client: TestClient, world: World, url: str, field: str) -> None:
    body = assert_problem(client.get(url, headers=world.headers("reader")), 422)
    assert body["errors"][0]["field"] == field


def test_unknown_routes_and_methods_are_problems(client: TestClient, world: World) -> None:
    assert_problem(client.get("/api/v1/nothing-here", headers=world.headers("reader")), 404)
    assert_problem(client.get("/api/v1/products/no.such", headers=world.headers("reader")), 404)
    assert_problem(client.patch("/api/v1/domains", headers=world.headers("admin")), 405)


def test_nul_characters_are_refused(client: TestClient, world: World) -> None:
    headers = world.headers("admin")
    assert_problem(client.get("/api/v1/products/a%00b", headers=headers), 400)
    assert_problem(client.get("/api/v1/search?q=a%00", headers=headers), 400)
    body = '{"consumer": "a\\u0000", "provider": "b", "port": "c", "purpose": "d"}'
    response = client.post("/api/v1/agreements", content=body, headers={**headers, "Content-Type": "application/json"})
    assert_problem(response, 400)
    escaped = '{"consumer": "a\\\\u0000", "provider": "b", "port": "c", "purpose": "d"}'  # a backslash, then u0000
    response = client.post(
        "/api/v1/agreements", content=escaped, headers={**headers, "Content-Type": "application/json"}
    )
    assert_problem(response, 404)


def test_nan_and_infinity_are_not_json(client: TestClient, world: World) -> None:
    run = {
        "contract": {"id": "retail.sales.orders", "version": "1.2.0"},
        "result": "passed",
        "startedAt": "2026-01-01T00:00:00Z",
        "checks": [{"id": "c", "status": "passed", "observed": float("nan")}],
    }
    text = json.dumps({"runs": [run]})  # Python writes NaN
    response = client.post(
        "/api/v1/test-runs", content=text, headers={**world.headers("admin"), "Content-Type": "application/json"}
    )
    body = assert_problem(response, 422)
    assert "NaN" in body["detail"]


def test_gzip_bodies_are_accepted(client: TestClient, world: World) -> None:
    body = gzip.compress(json.dumps({"role": "reader", "name": "zipped"}).encode())
    headers = {**world.headers("admin"), "Content-Type": "application/json", "Content-Encoding": "gzip"}
    response = client.post("/api/v1/tokens", content=body, headers=headers)
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "zipped"
    deflated = zlib.compress(json.dumps({"role": "reader", "name": "deflated"}).encode())
    response = client.post("/api/v1/tokens", content=deflated, headers={**headers, "Content-Encoding": "deflate"})
    assert response.status_code == 201, response.text


def test_bad_and_unknown_encodings(client: TestClient, world: World) -> None:
    headers = {**world.headers("admin"), "Content-Type": "application/json"}
    assert_problem(
        client.post("/api/v1/tokens", content=b"not gzip", headers={**headers, "Content-Encoding": "gzip"}), 400
    )
    assert_problem(client.post("/api/v1/tokens", content=b"{}", headers={**headers, "Content-Encoding": "br"}), 415)


def test_too_large_bodies_are_413(registry: Registry, world: World) -> None:
    app = create_app(registry, settings=Settings(max_request_bytes=4096))
    with TestClient(app) as small:
        headers = {**world.headers("admin"), "Content-Type": "application/json"}
        big = json.dumps({"role": "reader", "name": "x" * 5000})
        assert_problem(small.post("/api/v1/tokens", content=big, headers=headers), 413)
        bomb = gzip.compress(b'{"role": "reader", "name": "' + b"x" * 1_000_000 + b'"}')
        assert len(bomb) < 4096
        assert_problem(small.post("/api/v1/tokens", content=bomb, headers={**headers, "Content-Encoding": "gzip"}), 413)


def test_an_unexpected_error_is_a_500_problem_without_details(
    registry: Registry, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from meshplane.service import catalog

    def boom(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(catalog, "list_domains", boom)
    with TestClient(create_app(registry, settings=Settings()), raise_server_exceptions=False) as client:
        body = assert_problem(client.get("/api/v1/domains", headers=world.headers("reader")), 500)
    assert "secret" not in json.dumps(body)


def test_an_unreachable_registry_is_503(world: World) -> None:
    registry = Registry("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2", auto_upgrade=False)
    with TestClient(create_app(registry, settings=Settings()), raise_server_exceptions=False) as client:
        assert_problem(client.get("/api/v1/domains", headers=world.headers("reader")), 503)
        assert client.get("/health").status_code == 200


def test_yaml_errors_in_a_bundle_name_the_file_and_line(client: TestClient, world: World) -> None:
    files = bundle(world.mesh, {"domains/retail/domain.yaml": lambda t: t.replace("tags: [", "tags: [[", 1)})
    body = assert_problem(client.post("/api/v1/apply", json={"files": files}, headers=world.headers("admin")), 422)
    diagnostic = body["diagnostics"][0]
    assert diagnostic["file"] == "domains/retail/domain.yaml" and diagnostic["line"] >= 7
    assert diagnostic["code"] == "yaml-syntax"


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("../escape.yaml", "'..'"),
        ("/etc/passwd.yaml", "relative"),
        ("domains\\retail\\domain.yaml", "relative"),
        ("domains/retail/notes.txt", "YAML"),
        ("domains//x.yaml", "'..'"),
    ],
)
def test_bundle_paths_are_checked(client: TestClient, world: World, path: str, reason: str) -> None:
    files = {**bundle(world.mesh), path: "a: 1\n"}
    body = assert_problem(client.post("/api/v1/apply", json={"files": files}, headers=world.headers("admin")), 422)
    assert any(reason in d["message"] for d in body["diagnostics"]), body


def test_a_bundle_needs_a_mesh_file(client: TestClient, world: World) -> None:
    files = {k: v for k, v in bundle(world.mesh).items() if k != "mesh.yaml"}
    body = assert_problem(client.post("/api/v1/apply", json={"files": files}, headers=world.headers("admin")), 422)
    assert body["diagnostics"][0]["code"] == "bundle-without-mesh"


def test_openapi_document(app: FastAPI, client: TestClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["info"]["title"] == "meshplane"
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method.upper() in ("POST", "PUT", "PATCH", "DELETE"):
                assert OWNER_EXTENSION in operation, f"{method} {path}"
                assert {"401", "403", "422"} <= set(operation["responses"]), f"{method} {path}"
            if path.startswith("/api/"):
                problem = operation["responses"]["401"]["content"]
                assert PROBLEM_MEDIA_TYPE in problem, f"{method} {path}"
