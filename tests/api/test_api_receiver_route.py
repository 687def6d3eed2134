"""The OpenLineage receiver is a plain route inside the application's middleware stack.

An operator's middleware (CORS, metrics, tracing) sees every receiver request; the receiver's
OpenAPI operations are declared once and appear in the document; nothing of the store needs
``fcntl`` (the registry imports where it does not exist).
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from meshplane.access import Principal
from meshplane.api import create_app
from meshplane.registry import Registry
from meshplane.service.tokens import create_token
from meshplane.settings import Settings

EVENT = {
    "eventType": "COMPLETE",
    "eventTime": "2026-11-20T10:00:00Z",
    "producer": "https://example.org/tests",
    "job": {"namespace": "airflow-finance", "name": "x"},
    "inputs": [],
    "outputs": [],
}


class CountingMiddleware:
    """What an operator adds: counts requests by method and path."""

    def __init__(self, app: ASGIApp, seen: list[tuple[str, str]]) -> None:
        self.app, self.seen = app, seen

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.seen.append((scope["method"], scope["path"]))
        await self.app(scope, receive, send)


JSON = {"Content-Type": "application/json"}


def test_a_middleware_added_to_the_app_sees_every_receiver_request(tmp_path: Path) -> None:
    seen: list[tuple[str, str]] = []
    with Registry(f"sqlite:///{tmp_path / 'r.db'}") as registry:
        token = create_token(registry, Principal.local_admin("tests"), role="admin").token
        app = create_app(registry, settings=Settings(worker_in_server="off"))
        app.add_middleware(CountingMiddleware, seen=seen)
        headers = {"Authorization": f"Bearer {token}"}
        with TestClient(app) as client:
            answers = [
                client.post("/api/v1/lineage", json=EVENT | {"run": {"runId": str(uuid.uuid4())}}, headers=headers)
                for _ in range(5)
            ]
            answers.append(client.post("/api/v1/lineage", content=b"{", headers=headers | JSON))  # malformed: 400
            answers.append(client.post("/api/v1/lineage", json=EVENT))  # no token: 401
            batch = [EVENT | {"run": {"runId": str(uuid.uuid4())}} for _ in range(3)]
            answers.append(client.post("/api/v1/lineage/batch", json=batch, headers=headers))
    assert [a.status_code for a in answers] == [201] * 5 + [400, 401, 200]
    assert seen.count(("POST", "/api/v1/lineage")) == 7
    assert seen.count(("POST", "/api/v1/lineage/batch")) == 1


def test_the_receiver_is_in_the_openapi_document_once() -> None:
    app = create_app(Registry("sqlite:///:memory:", auto_upgrade=False), settings=Settings())
    document: dict[str, Any] = app.openapi()
    single, batch = document["paths"]["/api/v1/lineage"]["post"], document["paths"]["/api/v1/lineage/batch"]["post"]
    assert single["operationId"] == "receive_event" and batch["operationId"] == "receive_batch"
    assert single["security"] == [{"HTTPBearer": []}] and "x-meshplane-owner" in single
    assert {"200", "201", "400", "401", "403", "413"} <= set(single["responses"])
    operation_ids = [op["operationId"] for item in document["paths"].values() for op in item.values()]
    assert len(operation_ids) == len(set(operation_ids))
    assert json.dumps(document)  # serialisable


def test_the_store_and_the_lineage_service_import_without_fcntl() -> None:
    code = (
        "import sys\n"
        "sys.modules['fcntl'] = None  # as on a platform without it: importing it fails\n"
        "import meshplane.registry, meshplane.service.lineage, meshplane.registry.database, meshplane.registry.worker\n"
        "import meshplane.api.app\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


def test_a_body_that_is_not_json_is_415_naming_the_type_the_document_declares(tmp_path: Path) -> None:
    with Registry(f"sqlite:///{tmp_path / 'r.db'}") as registry:
        token = create_token(registry, Principal.local_admin("tests"), role="admin").token
        app = create_app(registry, settings=Settings(worker_in_server="off"))
        headers = {"Authorization": f"Bearer {token}"}
        body = json.dumps(EVENT | {"run": {"runId": str(uuid.uuid4())}}).encode()
        with TestClient(app) as client:
            for path in ("/api/v1/lineage", "/api/v1/lineage/batch"):
                declared = app.openapi()["paths"][path]["post"]["requestBody"]["content"]
                assert list(declared) == ["application/json"]
                assert "415" in app.openapi()["paths"][path]["post"]["responses"]
                for media in ("text/plain", "application/x-www-form-urlencoded", "", "application/jsonx"):
                    answer = client.post(path, content=body, headers=headers | {"Content-Type": media})
                    assert answer.status_code == 415, (path, media, answer.text)
                    assert answer.json()["type"] == "urn:meshplane:problem:unsupported-media-type"
                    assert "accepts application/json" in answer.json()["detail"]
            typed = headers | {"Content-Type": "application/json; charset=utf-8"}
            assert client.post("/api/v1/lineage", content=body, headers=typed).status_code == 201  # stored once
            assert (
                client.post("/api/v1/lineage", content=body, headers=typed).status_code == 200
            )  # the refusals stored nothing
