"""`meshplane serve`: the real executable serves the API of a mesh's registry on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from meshplane.cli.app import app

REPO = Path(__file__).resolve().parents[2]
MESHPLANE = Path(sys.executable).parent / "meshplane"
runner = CliRunner()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment(level: str = "warning") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MESHPLANE_")}
    return {**env, "MESHPLANE_LOG_LEVEL": level}


@pytest.fixture
def mesh(tmp_path: Path) -> Path:
    """The example mesh, applied to its default SQLite registry, with an admin token in `admin.token`."""
    folder = Path(
        shutil.copytree(
            REPO / "examples/holding", tmp_path / "holding", ignore=shutil.ignore_patterns("lake", ".meshplane")
        )
    )
    env = environment()
    subprocess.run([str(MESHPLANE), "apply", str(folder), "--yes", "--init"], check=True, capture_output=True, env=env)
    created = subprocess.run(
        [str(MESHPLANE), "token", "create", "--role", "admin", "--mesh", str(folder)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    (tmp_path / "admin.token").write_text(created.stdout.strip(), encoding="utf-8")
    return folder


@pytest.fixture
def serve(mesh: Path) -> Iterator[Callable[..., str]]:
    processes: list[subprocess.Popen[str]] = []

    def start(*extra: str, level: str = "warning") -> str:
        port = free_port()
        process = subprocess.Popen(
            [str(MESHPLANE), "serve", "--host", "127.0.0.1", "--port", str(port), "--mesh", str(mesh), *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=environment(level),
        )
        processes.append(process)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"meshplane serve exited: {process.stdout.read() if process.stdout else ''}")
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    return url
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError("meshplane serve did not answer within 60 s")

    start.processes = processes  # type: ignore[attr-defined]
    yield start
    for process in processes:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@pytest.mark.slow
def test_serve_a_mesh(serve: Callable[..., str], mesh: Path) -> None:
    url = serve(level="info")
    token = (mesh.parent / "admin.token").read_text(encoding="utf-8")
    wrong = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{url}/api/v1/domains", headers=headers).json()["total"] == 5
    assert httpx.get(f"{url}/api/v1/domains").status_code == 401
    assert httpx.get(f"{url}/api/v1/domains", headers={"Authorization": f"Bearer {wrong}"}).status_code == 401
    assert httpx.get(f"{url}/openapi.json").json()["info"]["title"] == "meshplane"
    process = serve.processes[-1]  # type: ignore[attr-defined]
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=20)
    assert 'GET /api/v1/domains HTTP/1.1" 200' in output  # the access log
    assert "rejected token" in output  # the refusal, by token id
    for secret in (token, wrong):
        assert secret not in output and secret.split("_", 2)[2] not in output


def test_serve_refuses_several_workers_on_sqlite(mesh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MESHPLANE_DATABASE_URL", raising=False)
    result = runner.invoke(app, ["serve", "--mesh", str(mesh), "--workers", "2"])
    assert result.exit_code == 2
    assert "needs a PostgreSQL registry" in result.stderr and "one writer" in result.stderr


def test_serve_says_at_once_when_its_port_is_taken(mesh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MESHPLANE_DATABASE_URL", raising=False)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = runner.invoke(app, ["serve", "--mesh", str(mesh), "--port", str(port)])
    assert result.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr and "meshplane server on" not in result.stderr


def test_serve_refuses_a_folder_without_a_mesh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MESHPLANE_DATABASE_URL", raising=False)
    result = runner.invoke(app, ["serve", "--mesh", str(tmp_path)])
    assert result.exit_code == 2 and "not a mesh" in result.stderr


def test_serve_help_names_its_options() -> None:
    result = runner.invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--mesh", "--workers"):
        assert option in result.stdout


def _children(pid: int) -> list[int]:
    listed = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False).stdout
    return [int(line) for line in listed.split()]


@pytest.mark.slow
def test_serve_derives_received_lineage_in_its_worker_thread(serve: Callable[..., str], mesh: Path) -> None:
    url = serve()
    token = (mesh.parent / "admin.token").read_text(encoding="utf-8")
    headers = {"Authorization": f"Bearer {token}"}
    orders = str((mesh / "lake/retail/sales/orders").absolute())
    events = [
        {
            "eventType": "COMPLETE",
            "eventTime": "2026-11-20T10:00:00Z",
            "producer": "https://example.org/tests",
            "run": {"runId": f"00000000-0000-4000-8000-{i:012d}"},
            "job": {"namespace": "airflow-finance", "name": "x"},
            "inputs": [{"namespace": "file", "name": orders}],
            "outputs": [],
        }
        for i in range(50)
    ]
    assert httpx.post(f"{url}/api/v1/lineage/batch", json=events, headers=headers).status_code == 200
    deadline = time.monotonic() + 30
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:  # the status endpoint reads only: the server's worker does the work
        status = httpx.get(f"{url}/api/v1/lineage/status", headers=headers).json()
        if status["derivation"]["waiting"] == 0 and status["workers"]:
            break
        time.sleep(0.1)
    assert status["derivation"]["waiting"] == 0 and status["derivation"]["failed"] == 0
    assert status["counts"]["runs"] == 50
    (worker,) = status["workers"]
    assert worker["alive"] and worker["pid"] == serve.processes[-1].pid  # type: ignore[attr-defined]
    assert not _children(serve.processes[-1].pid)  # type: ignore[attr-defined]  # a thread, no process
