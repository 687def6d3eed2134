"""Monitoring benchmark: the worker's freshness evaluation of many ports in one cycle, and its memory.

    .venv/bin/python benchmarks/monitor.py                 # 2,000 ports on SQLite (the issue's size)
    .venv/bin/python benchmarks/monitor.py --ports 200     # a smoke run

A synthetic mesh (`tests/registry/synthetic_mesh.py`) of --ports output ports, each contract with a
latency SLA of 1 d and a local server whose folder holds one small file, is applied to a fresh
SQLite registry; half the folders are three days old (their ports breach), half fresh.

Timed, separately: parsing the watched ports from the registry (done once per apply: the job keeps
them), and whole evaluation cycles (`service.freshness.evaluate_cycle`: the lineage query, the last
tests' query, one metadata read per port, recording outcomes as incidents). The first cycle opens
an incident per breaching port, later ones count occurrences. Reference in the same run: a bare
loop that only stats each port's folder (the floor of any file-time evaluation); the ratio says
what reading the registry and writing incidents cost.

Memory: the resident set size of this process after a worker ran its monitoring jobs (schedule
synchronisation of every contract, the incident pass, a freshness cycle) over the whole mesh.

Targets (issue 16): one cycle of 2,000 ports <= 1 s on SQLite; worker RSS <= 250 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil

from meshplane.registry import Registry
from meshplane.registry.worker import Worker
from meshplane.service import freshness
from meshplane.service.gitops import apply_mesh
from meshplane.service.incidents import IncidentJob, list_incidents
from meshplane.service.schedules import ScheduleJob

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "registry"))  # test support
from synthetic_mesh import _dump, generate_synthetic_mesh

NOW = datetime.now(UTC)
OLD = (NOW - timedelta(days=3)).timestamp()


def build(root: Path, ports: int) -> None:
    """Write the mesh with a server per contract and one data file per port (half of them old)."""
    mesh = generate_synthetic_mesh(domains=10, products=ports, edges=ports, seed=16)
    mesh.files["mesh.yaml"]["monitoring"] = {"schedule": "1h"}
    index = 0
    for relative, document in mesh.files.items():
        if document.get("kind") == "DataContract":
            folder = f"data/{document['id']}"
            document["servers"] = [{"server": "lake", "type": "local", "path": folder, "format": "parquet"}]
            data = root / "lake" / folder / "part-0.parquet"
            data.parent.mkdir(parents=True, exist_ok=True)
            data.write_bytes(b"PAR1")
            if index % 2:
                os.utime(data, (OLD, OLD))
            index += 1
        _dump(root / relative, document)


def stat_only(ports: list[freshness.WatchedPort]) -> float:
    """The reference: stat every port's folder and compare, nothing else."""
    started = time.perf_counter()
    for port in ports:
        assert port.location is not None
        newest = max(entry.stat().st_mtime for entry in os.scandir(port.location))
        _ = NOW.timestamp() - newest > port.limit_s
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ports", type=int, default=2000)
    parser.add_argument("--cycles", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="meshplane-monitor-") as folder:
        root = Path(folder) / "mesh"
        build(root, args.ports)
        with Registry(f"sqlite:///{folder}/registry.db") as registry:
            started = time.perf_counter()
            apply_mesh(root, registry=registry, actor="benchmark")
            apply_s = time.perf_counter() - started
            started = time.perf_counter()
            with registry.read() as session:
                ports = freshness.watched_ports(session)
            parse_s = time.perf_counter() - started
            cycles = []
            for cycle in range(args.cycles):
                started = time.perf_counter()
                evaluations = freshness.evaluate_cycle(registry, ports, NOW + timedelta(seconds=60 * cycle))
                cycles.append(time.perf_counter() - started)
            breached = sum(1 for e in evaluations if e.breached)
            reference = statistics.median(stat_only(ports) for _ in range(args.cycles))
            worker = Worker(registry, [ScheduleJob(sync_s=0), IncidentJob(), freshness.FreshnessJob(interval_s=0)])
            started = time.perf_counter()
            worker.run_jobs_once()
            worker_s = time.perf_counter() - started
            rss_mb = psutil.Process().memory_info().rss / 2**20
            report = {
                "ports": len(ports),
                "applySeconds": round(apply_s, 2),
                "parsePortsSeconds": round(parse_s, 3),
                "firstCycleSeconds": round(cycles[0], 3),
                "cycleSecondsMedian": round(statistics.median(cycles[1:] or cycles), 3),
                "cycleSecondsMax": round(max(cycles), 3),
                "statOnlySeconds": round(reference, 3),
                "ratioToStatOnly": round(statistics.median(cycles[1:] or cycles) / reference, 1),
                "breached": breached,
                "openIncidents": list_incidents(registry, state="open", limit=1).total,
                "workerPassSeconds": round(worker_s, 2),
                "rssMB": round(rss_mb, 1),
                "targets": {"cycle<=1s": max(cycles) <= 1.0, "rss<=250MB": rss_mb <= 250},
            }
    print(json.dumps(report, indent=2))
    return 0 if all(report["targets"].values()) else 1  # type: ignore[union-attr]


if __name__ == "__main__":
    raise SystemExit(main())
