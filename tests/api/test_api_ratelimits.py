"""Rate limits: per token, and per client address without a valid token; 429 with Retry-After; /health never."""

from __future__ import annotations

import httpx
import pytest
from api_support import LiveServer, World
from fastapi.testclient import TestClient

from meshplane.api import create_app
from meshplane.diagnostics import MeshplaneError
from meshplane.registry import Registry
from meshplane.settings import Settings, get_settings


def _client(registry: Registry, **settings: object) -> TestClient:
    return TestClient(create_app(registry, settings=Settings(**settings)), raise_server_exceptions=False)


def _assert_429(response: object, setting: str) -> None:
    assert response.status_code == 429, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    retry_after = int(response.headers["retry-after"])  # type: ignore[attr-defined]
    assert 1 <= retry_after <= 60
    problem = response.json()  # type: ignore[attr-defined]
    assert problem["type"] == "urn:meshplane:problem:too-many-requests"
    assert f"MESHPLANE_{setting.upper()}" in problem["detail"] and f"retry after {retry_after} s" in problem["detail"]


def test_a_token_past_its_limit_is_429_with_retry_after_and_others_go_on(registry: Registry, world: World) -> None:
    with _client(registry, rate_limit_token="3/minute") as client:
        for _ in range(3):
            assert client.get("/api/v1/domains", headers=world.headers("reader")).status_code == 200
        refused = client.get("/api/v1/domains", headers=world.headers("reader"))
        _assert_429(refused, "rate_limit_token")
        assert "at most 3 per minute" in refused.json()["detail"]
        write = client.post("/api/v1/tokens", json={"role": "reader"}, headers=world.headers("reader"))
        assert write.status_code == 429  # before the body or the role is looked at
        assert client.get("/api/v1/domains", headers=world.headers("admin")).status_code == 200
        for _ in range(10):
            assert client.get("/health").status_code == 200


def test_anonymous_requests_are_limited_per_address(registry: Registry, world: World) -> None:
    with _client(registry, anonymous_read=True, rate_limit_address="2/minute") as client:
        assert [client.get("/api/v1/domains").status_code for _ in range(2)] == [200, 200]
        _assert_429(client.get("/api/v1/domains"), "rate_limit_address")
        assert "from testclient" in client.get("/api/v1/products").json()["detail"]
        _assert_429(client.get("/openapi.json"), "rate_limit_address")
        assert client.get("/api/v1/domains", headers=world.headers("reader")).status_code == 200  # counted per token
        assert client.get("/health").status_code == 200


def test_refused_tokens_count_per_address_and_then_no_token_is_verified(registry: Registry, world: World) -> None:
    with _client(registry, rate_limit_address="2/minute", token_cache_seconds=5) as client:
        assert client.get("/api/v1/domains", headers=world.headers("admin")).status_code == 200  # remembered now
        bad = {"Authorization": "Bearer mp_aaaaaaaa_" + "x" * 43}
        assert [client.get("/api/v1/domains", headers=bad).status_code for _ in range(2)] == [401, 401]
        _assert_429(client.get("/api/v1/domains", headers=bad), "rate_limit_address")
        # a token not verified yet is not looked up from a spent address; a remembered one goes on
        spent = client.get("/api/v1/domains", headers=world.headers("reader"))
        _assert_429(spent, "rate_limit_address")
        assert "too many requests with refused tokens from testclient" in spent.json()["detail"]
        assert client.get("/api/v1/domains", headers=world.headers("admin")).status_code == 200
        assert client.get("/api/v1/domains").status_code == 401  # anonymous requests have a count of their own


def test_off_turns_a_limit_off(registry: Registry, world: World) -> None:
    with _client(registry, anonymous_read=True, rate_limit_address="off", rate_limit_token="off") as client:
        assert {client.get("/api/v1/domains").status_code for _ in range(30)} == {200}
        assert {client.get("/api/v1/domains", headers=world.headers("reader")).status_code for _ in range(30)} == {200}
    with _client(registry, anonymous_read=True, rate_limit_address="5/minute") as client:
        assert 429 in {client.get("/api/v1/domains").status_code for _ in range(30)}


@pytest.mark.parametrize("value", ["lots", "600", "10/fortnight"])
def test_a_bad_limit_setting_names_the_variable(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("MESHPLANE_RATE_LIMIT_TOKEN", value)
    get_settings.cache_clear()
    with pytest.raises(MeshplaneError) as refused:
        get_settings()
    assert f"MESHPLANE_RATE_LIMIT_TOKEN={value!r}" in refused.value.message


def test_every_api_operation_documents_429(client: TestClient, world: World) -> None:
    document = client.get("/openapi.json").json()
    for path, operations in document["paths"].items():
        if path.startswith("/api/"):
            for method, operation in operations.items():
                assert "429" in operation["responses"], (method, path)


def test_a_real_server_counts_the_client_address_and_says_when_to_retry(registry: Registry, world: World) -> None:
    app = create_app(registry, settings=Settings(anonymous_read=True, rate_limit_address="3/minute"))
    with LiveServer(app) as server, httpx.Client(base_url=server.url) as http:
        assert [http.get("/api/v1/domains").status_code for _ in range(3)] == [200, 200, 200]
        refused = http.get("/api/v1/domains")
        _assert_429(refused, "rate_limit_address")
        assert "from 127.0.0.1" in refused.json()["detail"]
        assert http.get("/api/v1/domains", headers=world.headers("reader")).status_code == 200
        assert http.get("/health").status_code == 200
