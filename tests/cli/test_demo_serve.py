"""`meshplane demo --serve`: the demo, then the cockpit on its registry — URL printed, served, stopped by SIGTERM."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from meshplane.cli.app import app


def test_port_needs_serve(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--dir", str(tmp_path / "work"), "--port", "8123"])
    assert result.exit_code == 2 and "--port needs --serve" in result.output
    assert not (tmp_path / "work").exists()


def test_a_port_in_use_is_told_before_the_demo_runs(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(app, ["demo", "--dir", str(tmp_path / "work"), "--serve", "--port", str(port)])
    assert result.exit_code == 2 and f"cannot listen on 127.0.0.1:{port}" in result.output
    assert not (tmp_path / "work").exists()  # nothing of the demo ran


@pytest.mark.slow
def test_demo_serves_the_cockpit_until_sigterm(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MESHPLANE_")}
    command = [sys.executable, "-m", "meshplane", "demo", "--dir", str(tmp_path / "work"), "--rows", "10"]
    process = subprocess.Popen(
        [*command, "--serve", "--port", "0"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in process.stdout or ():
            lines.put(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        url = None
        while url is None:
            line = lines.get(timeout=240)  # the demo itself takes half a minute
            if found := re.search(r"Cockpit: (http://127\.0\.0\.1:\d+/)", line):
                url = found.group(1)
        token = re.search(r"token (mp_\S+)", lines.get(timeout=10))
        assert token is not None
        home = httpx.get(url, timeout=30)
        assert home.status_code == 200 and "<h1>Data products</h1>" in home.text  # anonymous read: the demo's own
        assert "<strong>10</strong>" in home.text  # the example mesh's ten products
        api = httpx.get(url + "api/v1/search", params={"q": "sales"}, headers={"Authorization": f"Bearer {token[1]}"})
        assert api.status_code == 200 and api.json()["items"][0]["id"] == "retail.sales"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    reader.join(timeout=10)
    stderr = process.stderr.read() if process.stderr else ""
    assert process.returncode == 0, stderr
    rest = []
    while not lines.empty():
        rest.append(lines.get())
    assert "cockpit stopped" in "".join(rest) and "Traceback" not in stderr
    assert "nanobind" not in stderr  # what the servers froze is collected at exit (`readmodels.settle`)
