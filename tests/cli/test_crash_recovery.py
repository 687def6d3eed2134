"""Kill -9 mid-ingest: every acknowledged event is stored exactly once and derived exactly once after restart.

SQLite: `meshplane serve` (its worker is a thread of the server) is killed while clients send
single events and batches, then started again. PostgreSQL: the server and a separate `meshplane
worker` are both killed, then started again. Bounded: a few seconds of load, 60 s to recover.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from meshplane.registry import Registry
from meshplane.registry import lineage as store
from meshplane.service import lineage as service
from meshplane.service.registries import open_mesh_registry
from meshplane.settings import get_settings

REPO = Path(__file__).resolve().parents[2]
MESHPLANE = Path(sys.executable).parent / "meshplane"


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def setup(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Path, dict[str, str], str]]:
    # this process reads the registry too (`_registry`): not through a registry URL another test left in its
    # environment or in the settings cache (it then read another test's empty registry)
    monkeypatch.delenv("MESHPLANE_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    folder = Path(
        shutil.copytree(
            REPO / "examples/holding", tmp_path / "mesh", ignore=shutil.ignore_patterns("lake", ".meshplane")
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MESHPLANE_")}
    env |= {
        "MESHPLANE_LOG_LEVEL": "error",
        "MESHPLANE_WORKER_LEASE_SECONDS": "2",
        "MESHPLANE_TOKEN_CACHE_SECONDS": "60",
    }
    if request.param == "postgresql":
        env["MESHPLANE_DATABASE_URL"] = request.getfixturevalue("postgres_url")
    subprocess.run([str(MESHPLANE), "apply", str(folder), "--yes", "--init"], env=env, check=True, capture_output=True)
    create = [str(MESHPLANE), "token", "create", "--role", "admin", "--mesh", str(folder)]
    token = subprocess.run(create, env=env, check=True, capture_output=True, text=True).stdout.strip()
    yield folder, env, token
    get_settings.cache_clear()


def _start(folder: Path, env: dict[str, str], port: int) -> list[subprocess.Popen[bytes]]:
    quiet: dict[str, Any] = {"env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    serve = [str(MESHPLANE), "serve", "--host", "127.0.0.1", "--port", str(port), "--mesh", str(folder)]
    processes = [subprocess.Popen(serve, **quiet)]
    if "MESHPLANE_DATABASE_URL" in env:  # PostgreSQL: the worker is its own process
        processes.append(subprocess.Popen([str(MESHPLANE), "worker", "--quiet", "--mesh", str(folder)], **quiet))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return processes
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("the server did not start")


def _event(orders: str) -> dict[str, Any]:
    return {
        "eventType": "COMPLETE",
        "eventTime": "2026-11-20T10:00:00Z",
        "producer": "https://example.org/tests",
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": "airflow-finance", "name": "crash"},
        "inputs": [{"namespace": "file", "name": orders}],
        "outputs": [],
    }


@pytest.mark.slow
def test_kill_9_mid_ingest_loses_and_duplicates_nothing(setup: tuple[Path, dict[str, str], str]) -> None:
    folder, env, token = setup
    orders = str((folder / "lake/retail/sales/orders").absolute())
    port = _port()
    processes = _start(folder, env, port)
    acknowledged: set[str] = set()
    stop = threading.Event()

    def send(batched: bool) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}) as client:
            while not stop.is_set():
                events = [_event(orders) for _ in range(50 if batched else 1)]
                try:
                    if batched:
                        answer = client.post("/api/v1/lineage/batch", json=events, timeout=10)
                    else:
                        answer = client.post("/api/v1/lineage", json=events[0], timeout=10)
                except httpx.HTTPError:
                    return  # the server is gone
                if answer.status_code in (200, 201):
                    acknowledged.update(e["run"]["runId"] for e in events)

    senders = [threading.Thread(target=send, args=(b,)) for b in (False, False, True)]
    for sender in senders:
        sender.start()
    time.sleep(2.5)
    for process in processes:
        process.send_signal(signal.SIGKILL)
    for process in processes:
        process.wait(10)
    stop.set()
    for sender in senders:
        sender.join(20)
    assert len(acknowledged) > 100  # the load really ran
    processes = _start(folder, env, port)  # restart: the queue and the claims of the dead worker are taken over
    try:
        with _registry(folder, env) as registry:
            deadline = time.monotonic() + 60
            while service.lineage_status(registry)["derivation"]["waiting"] and time.monotonic() < deadline:
                time.sleep(0.2)
            status = service.lineage_status(registry)
            with registry.read() as session:
                stored_runs = set(session.scalars(sa.select(store.StoredEvent.run_id)))
                derived = session.scalar(sa.select(sa.func.count()).select_from(store.LineageRun))
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(20)
    assert status["derivation"]["waiting"] == 0 and status["derivation"]["failed"] == 0
    assert acknowledged <= stored_runs  # every acknowledged event is stored...
    assert status["counts"]["events"] == len(stored_runs)  # ...once (one event per run)
    assert derived == len(stored_runs) and status["counts"]["datasets"] == len(stored_runs)  # derived once each


def _registry(folder: Path, env: dict[str, str]) -> Registry:
    url = env.get("MESHPLANE_DATABASE_URL")
    return Registry(url) if url else open_mesh_registry(folder)
