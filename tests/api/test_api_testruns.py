"""Test runs: CI publishes them (also with the HTTP client), history and pass rates per contract."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from api_support import LiveServer, World, run_document
from fastapi import FastAPI
from fastapi.testclient import TestClient

from meshplane.api.client import ApiClient, publish_test_runs, publishable_run
from meshplane.checks import TestRun
from meshplane.diagnostics import MeshplaneError


def publish(client: TestClient, world: World, who: str, *runs: dict):  # type: ignore[no-untyped-def,type-arg]
    return client.post("/api/v1/test-runs", json={"runs": list(runs)}, headers=world.headers(who))


def test_publish_and_read_back(client: TestClient, world: World) -> None:
    document = run_document(result="failed")
    document["checks"][0]["dimension"] = "completeness"  # unknown keys are kept
    answer = publish(client, world, "maintainer:retail", document)
    assert answer.status_code == 201 and answer.json()["recorded"] == 1, answer.text
    run_id = answer.json()["ids"][0]
    run = client.get(f"/api/v1/test-runs/{run_id}", headers=world.headers("reader")).json()
    assert run["contract"] == {"id": "retail.sales.orders", "version": "1.2.0"} and run["domain"] == "retail"
    assert run["result"] == "failed" and run["registeredVersion"] is True
    assert run["recordedBy"].startswith("ci-retail (maintainer of retail")
    assert run["checks"][0]["id"] == "orders.order_id.required" and run["checks"][0]["dimension"] == "completeness"
    assert run["startedAt"].startswith("2026-11-20T10:00:00")


def test_a_run_sent_again_is_stored_once(client: TestClient, world: World) -> None:
    document = run_document(result="warning")
    first = publish(client, world, "maintainer:retail", document)
    assert first.status_code == 201 and first.json() == {"ids": first.json()["ids"], "recorded": 1, "duplicates": 0}
    reordered = dict(reversed(list(document.items())))  # the same run, keys in another order
    again = publish(client, world, "maintainer:retail", reordered, run_document(result="failed"))
    assert again.status_code == 201, again.text
    assert again.json()["ids"][0] == first.json()["ids"][0]
    assert again.json()["recorded"] == 1 and again.json()["duplicates"] == 1
    retried = publish(client, world, "maintainer:retail", document)
    assert retried.status_code == 200 and retried.json()["duplicates"] == 1
    runs = client.get("/api/v1/test-runs", headers=world.headers("reader")).json()
    assert runs["total"] == 2
    changed = {**document, "result": "failed"}  # a different run (another result): stored
    assert publish(client, world, "maintainer:retail", changed).json()["recorded"] == 1


def test_history_and_pass_rates(client: TestClient, world: World) -> None:
    for day, result in enumerate(["passed", "warning", "failed", "passed", "error"], start=10):
        run = run_document(result=result)
        run["startedAt"] = f"2026-11-{day}T10:00:00Z"
        assert publish(client, world, "maintainer:retail", run).status_code == 201
    publish(client, world, "maintainer:customer", run_document("customer.profiles.customers", "1.0.0"))
    history = client.get(
        "/api/v1/test-runs", params={"contract": "retail.sales.orders"}, headers=world.headers("reader")
    ).json()
    assert history["total"] == 5 and [r["result"] for r in history["items"]][:2] == ["error", "passed"]
    failed = client.get("/api/v1/test-runs", params={"result": "failed"}, headers=world.headers("reader")).json()
    assert failed["total"] == 1
    recent = client.get(
        "/api/v1/test-runs",
        params={"since": "2026-11-13T00:00:00Z", "domain": "retail"},
        headers=world.headers("reader"),
    ).json()
    assert recent["total"] == 2
    rates = client.get("/api/v1/test-runs/pass-rates", headers=world.headers("reader")).json()
    by_contract = {r["contract"]: r for r in rates["items"]}
    orders = by_contract["retail.sales.orders"]
    assert (orders["runs"], orders["passed"], orders["warning"], orders["failed"], orders["error"]) == (5, 2, 1, 1, 1)
    assert orders["passRate"] == pytest.approx(0.6) and orders["lastResult"] == "error"
    assert orders["lastRunAt"].startswith("2026-11-14") and orders["domain"] == "retail"
    assert by_contract["customer.profiles.customers"]["passRate"] == 1.0
    only = client.get("/api/v1/test-runs/pass-rates", params={"domain": "customer"}, headers=world.headers("reader"))
    assert [r["contract"] for r in only.json()["items"]] == ["customer.profiles.customers"]


@pytest.mark.parametrize("role", ["maintainer:retail", "admin"])
def test_runs_of_unregistered_contracts_are_refused(client: TestClient, world: World, role: str) -> None:
    long_unicode = "ü" * 200
    for contract in ("lab.experiment.data", long_unicode):
        refused = publish(client, world, role, run_document(contract, "0.1.0"))
        assert refused.status_code == 404, refused.text
        detail = refused.json()["detail"]
        assert "not registered" in detail and contract[:100] in detail and len(detail) < 400
    mixed = publish(client, world, role, run_document(), run_document("lab.experiment.data", "0.1.0"))
    assert mixed.status_code == 404 and "lab.experiment.data" in mixed.json()["detail"]
    assert client.get("/api/v1/test-runs", headers=world.headers("reader")).json()["total"] == 0


def test_one_foreign_run_refuses_the_whole_request(client: TestClient, world: World) -> None:
    mine, theirs = run_document(), run_document("finance.ledger.ledger_entries", "1.0.0")
    assert publish(client, world, "maintainer:retail", mine, theirs).status_code == 403
    assert client.get("/api/v1/test-runs", headers=world.headers("reader")).json()["total"] == 0


def test_publishable_runs_leave_samples_behind() -> None:
    started = datetime(2026, 1, 1, tzinfo=UTC)
    nameless = TestRun(None, None, None, None, started, started, error="bad file")
    assert publishable_run(nameless) is None
    document = run_document()
    document["checks"][0]["samples"] = [{"order_id": "ORD-1", "email": "someone@example.com"}]
    cleaned = publishable_run(document)
    assert cleaned is not None and "samples" not in cleaned["checks"][0]
    assert "samples" in document["checks"][0]  # the caller's document is untouched


def test_publish_test_runs_over_http(app: FastAPI, world: World) -> None:
    started = datetime(2026, 1, 1, tzinfo=UTC)
    runs = [run_document(), TestRun(None, None, None, None, started, started, error="no contract")]
    with LiveServer(app) as server:
        result = publish_test_runs(server.url, world.tokens["maintainer:retail"], runs)
        assert len(result.ids) == 1 and result.skipped == 1
        with pytest.raises(MeshplaneError, match="403") as refused:
            publish_test_runs(server.url + "/api/v1/", world.tokens["maintainer:finance"], [run_document()])
        assert refused.value.exit_code == 1
        with pytest.raises(MeshplaneError, match="401") as bad:
            publish_test_runs(server.url, "mp_aaaaaaaa_" + "b" * 40, [run_document()])
        assert bad.value.exit_code == 2
        with ApiClient(server.url, world.tokens["reader"]) as reader:
            page = reader.call("GET", "/test-runs")
        assert page["total"] == 1


def test_an_unreachable_server_is_a_clear_error() -> None:
    with pytest.raises(MeshplaneError, match="cannot reach"):
        publish_test_runs("http://127.0.0.1:1", "mp_aaaaaaaa_" + "b" * 40, [run_document()])
    with pytest.raises(MeshplaneError, match="http"):
        ApiClient("ftp://example", None)


def test_meshplane_test_publish(app: FastAPI, world: World, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """`meshplane test CONTRACT --publish URL` sends its runs to the server with MESHPLANE_TOKEN."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    import yaml
    from typer.testing import CliRunner

    from meshplane.cli.app import app as cli
    from meshplane.settings import get_settings

    pq.write_table(pa.table({"id": [1, 2, 3]}), tmp_path / "orders.parquet")
    contract = {
        "apiVersion": "v3.1.0",
        "kind": "DataContract",
        "id": "retail.sales.orders",  # registered (a run of an unregistered contract is refused)
        "version": "9.0.0",
        "status": "active",
        "servers": [{"server": "lake", "type": "local", "path": "orders.parquet", "format": "parquet"}],
        "schema": [{"name": "orders", "properties": [{"name": "id", "logicalType": "integer", "unique": True}]}],
    }
    file = tmp_path / "orders.odcs.yaml"
    file.write_text(yaml.safe_dump(contract, sort_keys=False), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MESHPLANE_TOKEN", world.tokens["admin"])
    get_settings.cache_clear()
    with LiveServer(app) as server:
        result = CliRunner().invoke(cli, ["test", str(file), "--no-record", "--quiet", "--publish", server.url])
        assert result.exit_code == 0, result.output
        assert "published 1 run(s)" in result.stderr
        with ApiClient(server.url, world.tokens["reader"]) as reader:
            runs = reader.call("GET", "/test-runs", params={"contract": "retail.sales.orders"})
    assert runs["total"] == 1 and runs["items"][0]["result"] == "passed" and runs["items"][0]["checkCount"] >= 1
    assert world.tokens["admin"] not in result.output


def test_a_run_has_one_fingerprint_whether_recorded_by_the_cli_or_sent_through_the_api() -> None:
    from meshplane.api.client import publishable_run
    from meshplane.api.routes.testruns import TestRunIn
    from meshplane.registry.testruns import run_fingerprint

    local = run_document(result="failed")  # as `meshplane test` records it in its own registry
    local["startedAt"], local["finishedAt"] = "2026-11-20T11:00:00+01:00", "2026-11-20T10:00:02+00:00"
    local["checks"][0]["samples"] = [{"order_id": None}]
    sent = publishable_run(local)  # what `--publish URL` sends (no samples) ...
    assert sent is not None
    received = TestRunIn.model_validate(sent).model_dump(mode="json", by_alias=True)  # ... and the server reads
    assert received != local
    assert run_fingerprint(received) == run_fingerprint(local)
    assert run_fingerprint({**local, "result": "passed"}) != run_fingerprint(local)
