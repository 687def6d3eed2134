"""Personal data only for authenticated callers: with anonymous read on, no read route shows an anonymous
caller a team member's e-mail address or name, or who did what; tokens see everything. The OpenAPI
document names no token shape."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from access_matrix import PATH_VALUES
from api_support import World, run_document
from fastapi.testclient import TestClient

from meshplane.api import create_app
from meshplane.api.redaction import HIDDEN, redact
from meshplane.registry import Registry
from meshplane.service.incidents import process_test_runs
from meshplane.settings import Settings


def _people(world: World) -> set[str]:
    """Every team member's username (e-mail address) and name in the example mesh's files."""
    found: set[str] = set()

    def walk(value: Any, in_team: bool = False) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if in_team and key in ("username", "name") and isinstance(item, str):
                    found.add(item)
                walk(item, in_team or key in ("team", "members"))
        elif isinstance(value, list):
            for item in value:
                walk(item, in_team)

    for path in world.mesh.rglob("*.yaml"):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        team = document.get("team") if isinstance(document, dict) else None
        if isinstance(team, dict):
            found.discard(team.get("name"))  # a team's own name is not personal
            walk(team.get("members") or [], in_team=True)
        elif isinstance(team, list):
            walk(team, in_team=True)
    return {p for p in found if p}


@pytest.fixture
def opened(registry: Registry, world: World) -> Iterator[TestClient]:
    """The API with anonymous read on, an agreement, a failed test run recorded by a maintainer, its incident."""
    settings = Settings(anonymous_read=True, worker_in_server="off")
    with TestClient(create_app(registry, settings=settings)) as client:
        asked = client.post(
            "/api/v1/agreements",
            json={"consumer": "retail.sales", "provider": "customer.profiles", "port": "customers", "purpose": "x"},
            headers=world.headers("maintainer:retail"),
        )
        assert asked.status_code == 201, asked.text
        ran = client.post(
            "/api/v1/test-runs",
            json={"runs": [run_document(result="failed")]},
            headers=world.headers("maintainer:retail"),
        )
        assert ran.status_code == 201, ran.text
        _, counts, _ = process_test_runs(registry)  # the worker's incidents job, once: incident 1
        assert counts.opened >= 1
        yield client


def _read_urls(client: TestClient) -> list[str]:
    urls = []
    for path, operations in client.get("/openapi.json").json()["paths"].items():
        if "get" in operations and path.startswith("/api/") and path != "/api/v1/tokens":
            url = re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], path)
            urls.append(f"{url}?from=1.2.0&to=1.2.0" if url.endswith("/diff") else url)
    return urls


def test_no_read_route_shows_an_anonymous_caller_personal_data(opened: TestClient, world: World) -> None:
    people = _people(world)
    assert "anna.schmidt@retail.holding.example" in people and "Anna Schmidt" in people
    token_ids = {token.split("_")[1] for token in world.tokens.values()}
    urls = _read_urls(opened)
    assert len(urls) >= 15
    seen_hidden = 0
    shown_to_a_token = 0
    for url in [*urls, "/api/v1/search?q=orders", "/api/v1/products?domain=retail"]:
        shown_to_a_token += any(p in opened.get(url, headers=world.headers("reader")).text for p in people)
        anonymous = opened.get(url)
        assert anonymous.status_code == 200, (url, anonymous.text)
        text = anonymous.text
        leaked = sorted(p for p in people | {"@retail.holding.example"} if p in text)
        assert not leaked, f"{url} shows {leaked} to an anonymous caller"
        assert not any(token_id in text for token_id in token_ids), f"{url} names a token to an anonymous caller"
        assert anonymous.headers["vary"] == "Authorization"
        seen_hidden += text.count(json.dumps(HIDDEN))
    assert seen_hidden > 10
    assert shown_to_a_token >= 3  # a domain, a product and a contract version do hold personal data


def test_authenticated_callers_see_team_members_and_actors(opened: TestClient, world: World) -> None:
    reader = world.headers("reader")
    domain = opened.get("/api/v1/domains/retail", headers=reader)
    assert domain.headers["vary"] == "Authorization"
    members = domain.json()["team"]["members"]
    assert {"username": "anna.schmidt@retail.holding.example", "name": "Anna Schmidt", "role": "owner"} in members
    assert "lea.fischer@retail.holding.example" in json.dumps(domain.json()["document"]["team"])
    agreement = opened.get("/api/v1/agreements/1", headers=reader).json()
    assert agreement["requestedBy"].startswith("ci-retail (maintainer of retail, token ")


def test_an_anonymous_caller_sees_roles_not_people(opened: TestClient) -> None:
    domain = opened.get("/api/v1/domains/retail").json()
    assert domain["team"]["name"] == "Retail Data Team"
    assert domain["team"]["members"] == [
        {"username": HIDDEN, "role": "owner"},
        {"username": HIDDEN, "role": "data engineer"},
        {"username": HIDDEN, "role": "data steward"},
    ]
    assert domain["document"]["team"]["members"][0] == {"username": HIDDEN, "role": "owner"}
    assert domain["document"]["support"][0]["channel"] == "#retail-data"  # a channel is not a person
    version = opened.get("/api/v1/contracts/retail.sales.orders/versions/1.2.0").json()
    assert version["document"]["team"]["members"] == [{"username": HIDDEN, "role": "owner"}]
    assert opened.get("/api/v1/agreements/1").json()["requestedBy"] == HIDDEN
    assert opened.get("/api/v1/test-runs/1").json()["recordedBy"] == HIDDEN


def test_an_anonymous_caller_cannot_search_by_owner(opened: TestClient, world: World) -> None:
    refused = opened.get("/api/v1/search", params={"owner": "anna"})
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    assert "searching by owner needs a token" in refused.json()["detail"]
    found = opened.get("/api/v1/search", params={"owner": "anna"}, headers=world.headers("reader")).json()
    assert found["total"] > 0 and all("owner" in item["matched"] for item in found["items"])
    assert opened.get("/api/v1/search", params={"owner": ""}).status_code == 200  # no criterion given


def test_redact_rules() -> None:
    contract = {
        "team": [{"username": "jo@example.org", "name": "Jo", "role": "owner", "dateIn": "2024-01-01"}],
        "roles": [{"role": "analyst", "firstLevelApprovers": "Jo Doe", "secondLevelApprovers": "jo@example.org"}],
        "support": [{"channel": "jo@example.org", "url": "mailto:jo@example.org", "tool": "email"}],
        "description": {"purpose": "Ask jo.doe+data@mail.example.co.uk or the #data channel."},
        "schema": [{"name": "orders", "properties": [{"name": "email", "logicalType": "string"}]}],
        "events": [{"actor": "ci (maintainer of retail, token abcdefgh)", "at": "2026-12-01"}],
        "receivedBy": ["ci", "airflow"],
        "count": 3,
    }
    seen = redact(contract)
    assert seen["team"] == [{"username": HIDDEN, "role": "owner"}]
    assert seen["roles"] == [{"role": "analyst", "firstLevelApprovers": HIDDEN, "secondLevelApprovers": HIDDEN}]
    assert seen["support"] == [{"channel": HIDDEN, "url": f"mailto:{HIDDEN}", "tool": "email"}]
    assert seen["description"]["purpose"] == f"Ask {HIDDEN} or the #data channel."
    assert seen["schema"] == contract["schema"]  # a column named email is not personal data
    assert seen["events"] == [{"actor": HIDDEN, "at": "2026-12-01"}]
    assert seen["receivedBy"] == [HIDDEN, HIDDEN] and seen["count"] == 3
    assert contract["team"][0]["name"] == "Jo"  # the input is not changed


@pytest.mark.parametrize("anonymous_read", [False, True])
def test_the_openapi_document_names_no_token_shape(registry: Registry, anonymous_read: bool) -> None:
    with TestClient(create_app(registry, settings=Settings(anonymous_read=anonymous_read))) as client:
        document = client.get("/openapi.json")
        assert document.status_code == 200  # public: it describes the software, not the installation
        scheme = document.json()["components"]["securitySchemes"]["HTTPBearer"]
        assert scheme["scheme"] == "bearer" and "bearerFormat" not in scheme
        assert "mp_" not in document.text and "[a-z2-7]" not in document.text
        assert client.get("/docs").status_code == 200


def test_without_anonymous_read_nothing_is_redacted_for_tokens(client: TestClient, world: World) -> None:
    domain = client.get("/api/v1/domains/retail", headers=world.headers("reader"))
    assert "anna.schmidt@retail.holding.example" in domain.text and "vary" not in domain.headers
