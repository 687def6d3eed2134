"""The request guard: the caller is known before a body is read; inflation is bounded and off the loop.

The load test runs the real `meshplane serve` in a process of its own and two clients sending gzip
bombs (one without a token, one with a maintainer's), bounded in count and time, on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import gzip
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from api_support import OPERATOR, World
from fastapi import FastAPI

from meshplane.access import Principal, Role
from meshplane.api import create_app
from meshplane.api.guard import MAX_INFLATION_RATIO, WriteRules, inflate
from meshplane.api.security import OWNER_EXTENSION
from meshplane.errors import AccessDenied
from meshplane.registry import Registry
from meshplane.service.tokens import create_token
from meshplane.settings import Settings

MESHPLANE = Path(sys.executable).parent / "meshplane"
BOMB_INFLATED = 64 * 1024 * 1024


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """64 MiB of zeros, gzip: about 65 KB."""
    return gzip.compress(b"\0" * BOMB_INFLATED, compresslevel=9)


def call(
    app: FastAPI, method: str, path: str, headers: dict[str, str], body: bytes
) -> tuple[int, bool, dict[str, Any]]:
    """Send one request straight to the ASGI app: (status, whether the body was read, the answer)."""
    read = False
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal read
        if read:
            return {"type": "http.disconnect"}
        read = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]
    start = next(m for m in sent if m["type"] == "http.response.start")
    answer = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], read, json.loads(answer) if answer else {}


GZIP_JSON = {"Content-Type": "application/json", "Content-Encoding": "gzip"}


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/api/v1/tokens"), ("POST", "/api/v1/lineage"), ("POST", "/api/v1/apply"), ("PUT", "/api/v1/x")],
)
def test_a_write_without_a_token_is_401_before_its_body_is_read(
    app: FastAPI, bomb: bytes, method: str, path: str
) -> None:
    status, read, answer = call(app, method, path, GZIP_JSON, bomb)
    assert (status, read) == (401, False), answer
    assert "authentication required" in answer["detail"]


def test_a_bad_token_is_401_before_the_body_is_read(app: FastAPI, bomb: bytes) -> None:
    for token in ("mp_aaaaaaaa_" + "b" * 43, "not-a-token", ""):
        status, read, _ = call(app, "POST", "/api/v1/lineage", {**GZIP_JSON, "Authorization": f"Bearer {token}"}, bomb)
        assert (status, read) == (401, False)


def test_reads_never_read_a_body_and_public_paths_stay_public(app: FastAPI, world: World, bomb: bytes) -> None:
    status, read, _ = call(app, "GET", "/api/v1/domains", GZIP_JSON, bomb)  # anonymous read is off
    assert (status, read) == (401, False)
    status, read, answer = call(app, "GET", "/api/v1/domains", {**GZIP_JSON, **world.headers("reader")}, bomb)
    assert (status, read) == (200, False) and answer["total"] > 0
    assert call(app, "GET", "/health", {}, b"")[0] == 200
    assert call(app, "GET", "/openapi.json", {}, b"")[0] == 200


def test_a_declared_length_beyond_the_limit_is_413_before_reading(registry: Registry, world: World) -> None:
    app = create_app(registry, settings=Settings(max_request_bytes=4096))
    headers = {**world.headers("admin"), "Content-Type": "application/json", "Content-Length": "5000"}
    status, read, answer = call(app, "POST", "/api/v1/tokens", headers, b"{}")
    assert (status, read) == (413, False) and "max_request_bytes" in answer["detail"]


def test_a_gzip_bomb_from_a_writer_is_stopped_by_the_ratio(app: FastAPI, world: World, bomb: bytes) -> None:
    headers = {**GZIP_JSON, **world.headers("maintainer:retail")}
    status, read, answer = call(app, "POST", "/api/v1/lineage", headers, bomb)
    assert (status, read) == (413, True), answer
    assert f"more than {MAX_INFLATION_RATIO} times" in answer["detail"]


def test_inflation_is_bounded_and_streamed(bomb: bytes) -> None:
    repetitive = b'{"name": "' + b"ab" * 100_000 + b'"}'  # 200 KB, very repetitive: fine below the ratio floor
    assert inflate(gzip.compress(repetitive), 10_000_000) == repetitive
    varied = b'{"name": "' + os.urandom(2_000_000).hex().encode() + b'"}'  # 4 MB, ratio about 2
    assert inflate(gzip.compress(varied), 10_000_000) == varied
    started = time.perf_counter()
    with pytest.raises(Exception, match="times its compressed size"):
        inflate(bomb, 10**9)
    assert time.perf_counter() - started < 0.5  # stopped after a few hundred KiB, not after 64 MiB
    with pytest.raises(Exception, match="exceeds 100000 bytes"):
        inflate(gzip.compress(os.urandom(200_000)), 100_000)


# --- load: /health under two clients sending gzip bombs ---------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _health_p50(port: int, count: int) -> float:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    times = []
    try:
        for _ in range(count):
            started = time.perf_counter()
            connection.request("GET", "/health")
            response = connection.getresponse()
            response.read()
            assert response.status == 200
            times.append(time.perf_counter() - started)
    finally:
        connection.close()
    return statistics.median(times)


ATTACKER = """
import http.client, json, sys, threading, time
from collections import Counter

port, body_file, token = int(sys.argv[1]), sys.argv[2], sys.argv[3]
body = open(body_file, "rb").read()
stop, seen, lock = threading.Event(), Counter(), threading.Lock()


def attack(token):
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    if token:
        headers["Authorization"] = "Bearer " + token
    deadline = time.monotonic() + 60
    for _ in range(5000):  # bounded in count and time
        if stop.is_set() or time.monotonic() > deadline:
            return
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.request("POST", "/api/v1/lineage", body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            outcome = str(response.status)
        except OSError:  # refused before the body was read: the server may close while it is still sent
            outcome = "closed"
        finally:
            connection.close()
        with lock:
            seen[outcome] += 1
            if sum(seen.values()) == 4:
                print("attacking", flush=True)


threads = [threading.Thread(target=attack, args=(t,)) for t in (None, token)]
for thread in threads:
    thread.start()
sys.stdin.read()  # until the test closes it
stop.set()
for thread in threads:
    thread.join(30)
print(json.dumps(seen), flush=True)
"""
"""Two clients (threads of a process of their own, so they do not share the measuring process's GIL)."""


@pytest.mark.slow
def test_health_stays_fast_under_two_gzip_bomb_clients(world: World, bomb: bytes, tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MESHPLANE_")}
    env |= {"MESHPLANE_DATABASE_URL": world.registry_url, "MESHPLANE_LOG_LEVEL": "error"}
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [str(MESHPLANE), "serve", "--host", "127.0.0.1", "--port", str(port), "--mesh", str(world.mesh)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                _health_p50(port, 1)
                break
            except OSError:
                assert time.monotonic() < deadline, "meshplane serve did not answer within 60 s"
                time.sleep(0.1)
        _health_p50(port, 50)  # warm up
        idle = _health_p50(port, 300)
        (tmp_path / "bomb.gz").write_bytes(bomb)
        attacker = subprocess.Popen(
            [sys.executable, "-c", ATTACKER, str(port), str(tmp_path / "bomb.gz"), world.tokens["maintainer:retail"]],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert attacker.stdout is not None and attacker.stdout.readline().strip() == "attacking"
            attacked = _health_p50(port, 300)
        finally:
            seen = Counter(json.loads(attacker.communicate("", timeout=60)[0].strip().splitlines()[-1]))
        assert seen["401"] > 0 and seen["413"] > 0, seen
        assert not any(status.startswith("5") for status in seen), seen
        # Within 3x of idle (the bound); below 2 ms a loaded machine's scheduling noise decides the ratio
        # (0.36 ms idle vs 1.17 ms attacked was seen in CI), the 560 ms of before is far above either.
        bound = max(3 * idle, 0.002)
        assert attacked <= bound, f"/health p50 {attacked * 1000:.2f} ms under attack, {idle * 1000:.2f} ms idle"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        log.close()


# --- the role, before the body (issue 19: a reader's 14 MiB bundle was parsed before its 403) -----------

JSON_ONLY = {"Content-Type": "application/json"}


@pytest.fixture
def lineage_writer(registry: Registry) -> str:
    """A lineage-writer token of the world."""
    return create_token(registry, OPERATOR, role="lineage-writer", name="runner").token


@pytest.mark.parametrize(
    ("who", "method", "path", "says"),
    [
        ("reader", "POST", "/api/v1/apply", "reader"),
        ("reader", "POST", "/api/v1/lineage", "reader"),
        ("reader", "POST", "/api/v1/agreements/1/revoke", "reader"),
        ("reader", "PUT", "/api/v1/not-a-route", "reader"),
        ("maintainer:retail", "POST", "/api/v1/tokens", "only an admin may create a token"),
        ("maintainer:retail", "DELETE", "/api/v1/tokens/abcdefgh", "only an admin may revoke a token"),
        ("lineage-writer", "POST", "/api/v1/apply", "lineage-writer"),
        ("lineage-writer", "POST", "/api/v1/test-runs", "lineage-writer"),
    ],
)
def test_a_role_that_can_never_make_a_write_is_403_before_its_body_is_read(
    app: FastAPI, world: World, lineage_writer: str, who: str, method: str, path: str, says: str
) -> None:
    token = lineage_writer if who == "lineage-writer" else world.tokens[who]
    status, read, answer = call(app, method, path, {**JSON_ONLY, "Authorization": f"Bearer {token}"}, b"{}")
    assert (status, read) == (403, False), answer
    assert says in answer["detail"]


@pytest.mark.parametrize(
    ("who", "path", "status"),
    [
        ("maintainer:retail", "/api/v1/lineage", 400),  # `{}` is no event: the body was read and judged
        ("lineage-writer", "/api/v1/lineage", 400),
        ("admin", "/api/v1/tokens", 422),
        ("maintainer:retail", "/api/v1/apply", 422),
    ],
)
def test_a_role_that_may_make_a_write_has_its_body_read(
    app: FastAPI, world: World, lineage_writer: str, who: str, path: str, status: int
) -> None:
    token = lineage_writer if who == "lineage-writer" else world.tokens[who]
    answer_status, read, answer = call(app, "POST", path, {**JSON_ONLY, "Authorization": f"Bearer {token}"}, b"{}")
    assert (answer_status, read) == (status, True), answer


def test_write_rules_come_from_the_declared_ownership() -> None:
    rules = WriteRules()
    owner = {"rule": "admin", "description": "only admins"}
    rules.load(
        {
            "paths": {
                "/api/v1/things/{thing_id}": {"get": {}, "delete": {OWNER_EXTENSION: owner, "summary": "Drop"}},
                "/api/v1/things/special": {"post": {OWNER_EXTENSION: {"rule": "any-writer"}}},
                "/web/form": {"post": {}},
            }
        }
    )
    assert rules.operation("DELETE", "/api/v1/things/x1") == {OWNER_EXTENSION: owner, "summary": "Drop"}
    assert rules.operation("POST", "/api/v1/things/special") == {OWNER_EXTENSION: {"rule": "any-writer"}}
    assert rules.operation("GET", "/api/v1/things/x1") is None  # reads are not indexed
    assert rules.operation("DELETE", "/api/v1/things/x1/more") is None
    assert rules.operation("POST", "/web/form") is None  # only /api/ paths
    maintainer = Principal(name="m", role=Role.MAINTAINER, domain="retail")
    rules.require("POST", "/api/v1/things/special", maintainer)
    rules.require("PUT", "/api/v1/unknown", maintainer)  # undeclared: writers only
    with pytest.raises(AccessDenied, match="only an admin may drop"):
        rules.require("DELETE", "/api/v1/things/x1", maintainer)
    with pytest.raises(AccessDenied, match="reader"):
        rules.require("PUT", "/api/v1/unknown", Principal(name="r", role=Role.READER))
