"""`meshplane agreement request|approve|reject|revoke|list` against a real server on 127.0.0.1."""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from typer.testing import CliRunner

from meshplane.access import Principal
from meshplane.api import create_app
from meshplane.cli.app import app
from meshplane.registry import Registry
from meshplane.service.gitops import apply_mesh
from meshplane.service.tokens import create_token
from meshplane.settings import Settings, get_settings

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()
OPERATOR = Principal.local_admin("test")


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, dict[str, str]]]:
    """The example mesh served by uvicorn in a thread; the URL and a token per domain maintainer."""
    for name in ("MESHPLANE_DATABASE_URL", "MESHPLANE_SERVER_URL", "MESHPLANE_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    mesh = Path(
        shutil.copytree(
            REPO / "examples/holding", tmp_path / "mesh", ignore=shutil.ignore_patterns("lake", ".meshplane")
        )
    )
    with Registry(f"sqlite:///{tmp_path / 'r.db'}") as registry:
        apply_mesh(mesh, registry=registry, actor="test")
        tokens = {
            d: create_token(registry, OPERATOR, role="maintainer", domain=d).token for d in ("retail", "customer")
        }
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        # No worker: its jobs read the process settings, which this test changes around each command.
        app = create_app(registry, settings=Settings(worker_in_server="off"))
        config = uvicorn.Config(app, log_level="warning", log_config=None)
        uv = uvicorn.Server(config)
        thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        while not uv.started:
            time.sleep(0.02)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", tokens
        uv.should_exit = True
        thread.join(20)
        sock.close()
    get_settings.cache_clear()


def agreement(*args: str, token: str | None = None, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    environment = dict(env or {})
    if token:
        environment["MESHPLANE_TOKEN"] = token
    get_settings.cache_clear()
    result = runner.invoke(app, ["agreement", *args], env=environment)
    get_settings.cache_clear()
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def test_the_whole_lifecycle(server: tuple[str, dict[str, str]]) -> None:
    url, tokens = server
    env = {"MESHPLANE_SERVER_URL": url}
    asked = agreement(
        "request",
        "retail.sales",
        "customer.profiles",
        "customers",
        "--purpose",
        "enrich orders",
        "--format",
        "json",
        token=tokens["retail"],
        env=env,
    )
    assert asked.exit_code == 0, asked.output
    created = json.loads(asked.stdout)
    assert created["state"] == "requested"
    number = str(created["id"])
    approved = agreement("approve", number, "--reason", "fine", token=tokens["customer"], env=env)
    assert approved.exit_code == 0 and "is active" in approved.stdout and "requested → approved" in approved.stdout
    listed = agreement("list", "--state", "active", "--format", "json", token=tokens["retail"], env=env)
    assert [a["id"] for a in json.loads(listed.stdout)["items"]] == [created["id"]]
    table = agreement("list", token=tokens["retail"], env=env)
    assert "retail.sales" in table.stdout and "1 of 1 agreement(s)" in table.stdout
    revoked = agreement("revoke", number, "--reason", "project ended", "--server-url", url, token=tokens["retail"])
    assert revoked.exit_code == 0 and "is revoked" in revoked.stdout


def test_reject(server: tuple[str, dict[str, str]]) -> None:
    url, tokens = server
    env = {"MESHPLANE_SERVER_URL": url}
    asked = agreement(
        "request",
        "retail.sales",
        "customer.profiles",
        "customers",
        "--purpose",
        "p",
        "--format",
        "json",
        token=tokens["retail"],
        env=env,
    )
    number = str(json.loads(asked.stdout)["id"])
    rejected = agreement(
        "reject", number, "--reason", "use customer360", "--format", "json", token=tokens["customer"], env=env
    )
    assert rejected.exit_code == 0 and json.loads(rejected.stdout)["state"] == "rejected"


def test_migrate_carries_the_purpose_over_to_the_new_port(server: tuple[str, dict[str, str]]) -> None:
    url, tokens = server
    env = {"MESHPLANE_SERVER_URL": url}
    purpose = ["--purpose", "order history", "--format", "json"]
    asked = agreement(
        "request", "customer.customer360", "retail.sales", "orders", *purpose, token=tokens["customer"], env=env
    )
    assert asked.exit_code == 0, asked.output
    moved = agreement(
        "migrate", "customer.customer360", "retail.sales", "orders", "order_lines", "--format", "json",
        token=tokens["customer"], env=env,
    )  # fmt: skip
    assert moved.exit_code == 0, moved.output
    body = json.loads(moved.stdout)
    assert (body["provider"]["port"], body["purpose"], body["state"]) == ("order_lines", "order history", "requested")
    foreign = agreement(
        "migrate", "customer.customer360", "retail.sales", "orders", "order_lines", token=tokens["retail"], env=env
    )
    assert foreign.exit_code == 1 and "403" in foreign.stderr and "customer" in foreign.stderr


def test_refusals_and_errors(server: tuple[str, dict[str, str]]) -> None:
    url, tokens = server
    env = {"MESHPLANE_SERVER_URL": url}
    asked = agreement(
        "request",
        "retail.sales",
        "customer.profiles",
        "customers",
        "--purpose",
        "p",
        "--format",
        "json",
        token=tokens["retail"],
        env=env,
    )
    number = str(json.loads(asked.stdout)["id"])
    forbidden = agreement("approve", number, token=tokens["retail"], env=env)
    assert forbidden.exit_code == 1 and "403" in forbidden.stderr and "customer" in forbidden.stderr
    missing = agreement("approve", "999", token=tokens["customer"], env=env)
    assert missing.exit_code == 2 and "404" in missing.stderr
    invalid = agreement(
        "request", "retail.sales", "customer.profiles", "nope", "--purpose", "p", token=tokens["retail"], env=env
    )
    assert invalid.exit_code == 2 and "no active output port" in invalid.stderr
    bad_date = agreement("request", "a", "b", "c", "--purpose", "p", "--end-date", "soon", token="t", env=env)
    assert bad_date.exit_code == 2 and "YYYY-MM-DD" in bad_date.output
    for result in (forbidden, missing, invalid):
        assert tokens["retail"] not in result.output and tokens["customer"] not in result.output


def test_configuration_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MESHPLANE_SERVER_URL", "MESHPLANE_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    no_server = agreement("list", token="mp_aaaaaaaa_" + "b" * 43)
    assert no_server.exit_code == 2 and "MESHPLANE_SERVER_URL" in no_server.stderr
    no_token = agreement("list", env={"MESHPLANE_SERVER_URL": "http://127.0.0.1:1"})
    assert no_token.exit_code == 2 and "MESHPLANE_TOKEN" in no_token.stderr
    unreachable = agreement("list", token="t", env={"MESHPLANE_SERVER_URL": "http://127.0.0.1:1"})
    assert unreachable.exit_code == 2 and "cannot reach" in unreachable.stderr
