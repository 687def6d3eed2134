"""A registry that cannot be written, under a real `meshplane serve` (issue 19, Why 5 and 11).

A read-only registry answers writes with 503 problem+json naming no path (SQLite: the file made
read-only before the server starts; PostgreSQL: ``default_transaction_read_only``). A SQLite
registry made immutable *while serving* (``chattr +i`` on its files, as root) once killed the
server with SIGBUS and no log line: SQLite maps the ``-shm`` file, and a write to a mapped page of
an immutable file is a SIGBUS. Now the server logs one line per refused request and answers 503;
it keeps serving `/health`, and serves again once the flag is cleared.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from hostile_support import Served, World, assert_clean_log, fingerprint

from read_only_support import read_only

TOKEN_BODY = json.dumps({"role": "reader", "name": "late"}).encode()


def writes(world: World) -> list[tuple[str, bytes]]:
    """Writes of several kinds: a token, a test run, a lineage event."""
    run = {
        "contract": {"id": "retail.sales.orders", "version": "1.2.0"},
        "server": "lake",
        "engine": "duckdb",
        "result": "passed",
        "startedAt": "2026-11-20T10:00:00Z",
        "finishedAt": "2026-11-20T10:00:02Z",
        "checks": [],
    }
    event = {
        "eventType": "COMPLETE",
        "eventTime": "2026-11-20T10:00:00Z",
        "producer": "https://github.com/meshplane/hostile-suite",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": "airflow-marketing", "name": "performance.build_kpis"},
    }
    return [
        ("/api/v1/tokens", TOKEN_BODY),
        ("/api/v1/test-runs", json.dumps({"runs": [run]}).encode()),
        ("/api/v1/lineage", json.dumps(event).encode()),
    ]


def assert_503(served: Served, world: World, path: str, body: bytes) -> None:
    """A write refused with 503 problem+json, one line, no location of the registry."""
    headers = {"Content-Type": "application/json", **world.headers("admin")}
    status, answer_headers, answer = served.request("POST", path, body, headers)
    assert status == 503, (status, answer[:500])
    assert answer_headers["content-type"] == "application/problem+json"
    detail = json.loads(answer)["detail"]
    assert "read-only" in detail and "\n" not in detail and "/" not in detail, detail


@pytest.fixture(scope="module")
def read_only_url(world: World) -> str:
    """The world's registry as a read-only one: PostgreSQL refuses writes by setting, SQLite by file mode."""
    if world.registry_url.startswith("postgresql"):
        return world.registry_url + "?options=-c%20default_transaction_read_only%3Don"
    return world.registry_url


@pytest.fixture(scope="module")
def read_only_served(world: World, read_only_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`meshplane serve` over the read-only registry (SQLite: file and folder read-only before it starts)."""
    seen = World(read_only_url, world.mesh, world.tokens)
    file = Path(world.registry_url.removeprefix("sqlite:///")) if world.registry_url.startswith("sqlite") else None
    with (
        read_only(*([file] if file is not None else [])),
        Served(seen, Path(tmp_path_factory.mktemp("serve"))) as server,
    ):
        yield server


def test_a_read_only_registry_answers_writes_with_503(
    read_only_served: Served, world: World, engine: sa.Engine
) -> None:
    before = fingerprint(engine)
    for path, body in writes(world):
        with read_only_served.watch() as seen:
            assert_503(read_only_served, world, path, body)
        seen[0].check()
    status, _, _ = read_only_served.request("GET", "/api/v1/domains", headers=world.headers("reader"))
    assert status == 200  # reads go on
    assert_clean_log(read_only_served.new_log(), unavailable=True)
    assert read_only_served.alive
    assert fingerprint(engine) == before


@pytest.fixture
def immutable_served(world: World, tmp_path: Path) -> Iterator[tuple[Served, Path]]:
    """A server on a private copy of a SQLite world (its files are made immutable by the test)."""
    if not world.registry_url.startswith("sqlite"):
        pytest.skip("chattr +i applies to a SQLite file")
    if os.geteuid() != 0 or shutil.which("chattr") is None:
        pytest.skip("`chattr +i` needs root and chattr")
    source = Path(world.registry_url.removeprefix("sqlite:///"))
    file = tmp_path / "registry.db"
    shutil.copyfile(source, file)
    copy = World(f"sqlite:///{file}", world.mesh, world.tokens)
    # The check before each transaction cannot close the gap between itself and SQLite's write to the mapping:
    # a transaction of the server's worker under way at the very moment of `chattr` still faults. The worker
    # polls every 0.2 s by default; here it sleeps through the test, so that the test sees the requests' path.
    with Served(copy, tmp_path, MESHPLANE_WORKER_POLL_SECONDS="60", MESHPLANE_WORKER_HEARTBEAT_SECONDS="300") as server:
        yield server, file


@pytest.mark.parametrize("suffixes", [("-shm",), ("", "-wal", "-shm")], ids=["shm", "every-file"])
def test_a_registry_made_immutable_while_serving_is_503_and_one_log_line(
    immutable_served: tuple[Served, Path], suffixes: tuple[str, ...]
) -> None:
    served, file = immutable_served
    world = served.world
    status, _, _ = served.request("GET", "/api/v1/domains", headers=world.headers("admin"))
    assert status == 200 and Path(f"{file}-shm").exists()  # SQLite has mapped its WAL index
    os.sync()  # the mapped pages written back: the next write to one faults (a SIGBUS on an immutable file)
    files = [path for path in (Path(f"{file}{suffix}") for suffix in suffixes) if path.exists()]  # -shm alone: a SIGBUS
    assert subprocess.run(["chattr", "+i", *map(str, files)], check=False).returncode == 0
    try:
        served.new_log()
        for path, body in writes(world):
            with served.watch() as seen:
                assert_503(served, world, path, body)
            seen[0].check()
        status, _, answer = served.request("GET", "/api/v1/domains", headers=world.headers("reader"))
        assert status == 503 and b"read-only" in answer  # reading writes to the mapped index too
        assert served.alive, served.log_file.read_text()[-3000:]
        log = served.new_log()
        refusals = [line for line in log.splitlines() if "is immutable (chattr +i) or not writable" in line]
        assert len(refusals) >= 3 and all(line.startswith(("ERROR", "WARNING")) for line in refusals), log
        assert "Traceback" not in log, log
    finally:
        subprocess.run(["chattr", "-i", *map(str, files)], check=False)
    status, _, _ = served.request(
        "POST", "/api/v1/tokens", TOKEN_BODY, {"Content-Type": "application/json", **world.headers("admin")}
    )
    assert status == 201  # writable again: the server carried on
