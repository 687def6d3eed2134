"""The PostgreSQL scale path: no global lock for ingest, several derivers side by side, several servers.

* ingest transactions proceed while an exclusive write (an apply) holds its lock, and while each other
  is open;
* two workers (separate registries, as two processes would have) derive every event exactly once;
* `uvicorn --factory meshplane.api.app:create_app --workers 2` plus one `meshplane worker`: events are
  derived within 2 s.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
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

from meshplane.access import Principal
from meshplane.lineage import check_event
from meshplane.registry import Registry
from meshplane.registry import lineage as store
from meshplane.registry.worker import Worker
from meshplane.service import derivation
from meshplane.service import lineage as service
from meshplane.service.gitops import apply_mesh
from meshplane.settings import get_settings

pytestmark = pytest.mark.postgres

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "holding"
MESHPLANE = Path(sys.executable).parent / "meshplane"
ADMIN = Principal.local_admin("tests")


@pytest.fixture
def mesh(tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, str]]:
    monkeypatch.delenv("MESHPLANE_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    folder = Path(shutil.copytree(EXAMPLE, tmp_path / "holding", ignore=shutil.ignore_patterns("lake", ".meshplane")))
    with Registry(postgres_url) as registry:
        apply_mesh(folder, registry=registry, actor="tests")
    yield folder, postgres_url


def _event(orders: str, i: int) -> dict[str, Any]:
    return {
        "eventType": "COMPLETE",
        "eventTime": "2026-11-20T10:00:00Z",
        "producer": "https://example.org/tests",
        "run": {"runId": str(uuid.UUID(int=i + 1))},
        "job": {"namespace": "airflow-finance", "name": f"job-{i % 7}"},
        "inputs": [{"namespace": "file", "name": orders}],
        "outputs": [],
    }


def _counts(registry: Registry) -> dict[str, int]:
    with registry.read() as session:
        return store.lineage_counts(session)


def test_ingest_proceeds_while_an_apply_holds_the_exclusive_lock_and_while_another_ingest_is_open(
    mesh: tuple[Path, str],
) -> None:
    folder, url = mesh
    orders = str((folder / "lake/retail/sales/orders").absolute())
    release = threading.Event()
    holding: list[str] = []

    def hold(what: str) -> Any:
        def work(session: Any) -> None:
            session.execute(sa.text("SELECT 1"))
            holding.append(what)
            assert release.wait(30), "never released"

        return work

    with Registry(url) as registry:
        rows = service._event_rows([check_event(json.dumps(_event(orders, 1)))], "tests", None)
        apply_like = threading.Thread(target=registry.write, args=(hold("apply"),), kwargs={"exclusive": True})
        open_ingest = threading.Thread(
            target=registry.write, args=(lambda s: (service._store(s, rows), hold("ingest")(s)),)
        )
        apply_like.start()
        open_ingest.start()
        deadline = time.monotonic() + 10
        while len(holding) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sorted(holding) == ["apply", "ingest"]  # both transactions are open at once
        started = time.monotonic()
        statuses = service.ingest(
            registry, [check_event(json.dumps(_event(orders, i))) for i in range(2, 12)], actor="t"
        )
        assert time.monotonic() - started < 5 and statuses.count(service.IngestStatus.STORED) == 10
        release.set()
        apply_like.join(30)
        open_ingest.join(30)
        assert _counts(registry)["events"] == 11


def test_two_workers_derive_every_event_exactly_once(mesh: tuple[Path, str]) -> None:
    folder, url = mesh
    orders = str((folder / "lake/retail/sales/orders").absolute())
    with Registry(url) as registry:
        body = json.dumps([_event(orders, i) for i in range(1_500)])
        assert service.receive_batch(registry, body, ADMIN).count(service.IngestStatus.STORED) == 1_500
    registries = [Registry(url), Registry(url)]
    workers = [Worker(r, [derivation.DerivationJob(chunk=50)], poll_s=0.01, heartbeat_s=0.5) for r in registries]
    try:
        for worker in workers:
            worker.start()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and service.lineage_status(registries[0])["derivation"]["waiting"]:
            time.sleep(0.05)
    finally:
        for registry in registries:
            registry.close()
    done = [w.stats["lineage-derivation"].done for w in workers]
    assert sum(done) == 1_500 and all(d > 0 for d in done), done  # both worked, and no event twice
    with Registry(url) as registry:
        counts = _counts(registry)
        assert counts["runs"] == 1_500 and counts["datasets"] == 1_500
        assert service.lineage_status(registry)["derivation"]["failed"] == 0


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_two_server_processes_and_one_worker_derive_within_two_seconds(mesh: tuple[Path, str], tmp_path: Path) -> None:
    folder, url = mesh
    env = {k: v for k, v in os.environ.items() if not k.startswith("MESHPLANE_")}
    env |= {"MESHPLANE_DATABASE_URL": url, "MESHPLANE_LOG_LEVEL": "warning"}
    token = subprocess.run(
        [str(MESHPLANE), "token", "create", "--role", "admin"],
        env=env,
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    port = _free_port()
    servers = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "meshplane.api.app:create_app", "--workers", "2",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    worker = subprocess.Popen(
        [str(MESHPLANE), "worker", "--quiet"], env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {token}"}
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        orders = str((folder / "lake/retail/sales/orders").absolute())
        with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
            for i in range(40):
                assert client.post("/api/v1/lineage", json=_event(orders, i)).status_code == 201
            sent = time.monotonic()
            status: dict[str, Any] = {}
            while time.monotonic() - sent < 2.0:
                status = client.get("/api/v1/lineage/status").json()
                if status["derivation"]["waiting"] == 0 and status["counts"]["runs"] == 40:
                    break
                time.sleep(0.05)
            assert status["derivation"]["waiting"] == 0 and status["counts"]["runs"] == 40, status["derivation"]
            assert any(w["alive"] for w in status["workers"])
    finally:
        for process in (servers, worker):
            process.send_signal(signal.SIGTERM)
        for process in (servers, worker):
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
