"""Shared helpers of the lineage tests: where the OpenLineage standard files are, and its example events."""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
OPENLINEAGE = REPO.parent / "shared" / "standards" / "openlineage"
EXAMPLES = OPENLINEAGE / "examples"
EXAMPLE_MESH = REPO / "examples" / "holding"

COMPLETE = {
    "complete/run-complete-full.json",
    "complete/run-start-minimal.json",
    "complete/dataset-event.json",
    "complete/job-event.json",
    "generated/openlineage-python-1.54.0-run-start.json",
    "generated/openlineage-python-1.54.0-run-complete.json",
}
"""Example events that are complete (SOURCE.md): they must pass the strict parse the receiver uses."""

ENVELOPES = {"generated/http-request-envelope.json"}
"""HTTP request envelopes (method, path, headers): they carry no event body."""


def require_standards() -> None:
    """Skip (fail in CI) when the shared OpenLineage standard files are not next to the repo."""
    if EXAMPLES.is_dir():
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"OpenLineage standard files missing: {EXAMPLES}")
    pytest.skip(f"OpenLineage standard files missing: {EXAMPLES}")


@dataclass(frozen=True)
class ExampleEvent:
    """One event of an example file (files may hold a JSON array of several)."""

    file: str
    index: int
    document: dict[str, Any]

    @property
    def complete(self) -> bool:
        return self.file in COMPLETE

    @property
    def id(self) -> str:
        return f"{self.file}[{self.index}]"


def example_files() -> list[str]:
    """Every example file, relative to examples/ (empty when the standard files are missing)."""
    if not EXAMPLES.is_dir():
        return []
    return sorted(p.relative_to(EXAMPLES).as_posix() for p in EXAMPLES.rglob("*.json"))


def example_events() -> list[ExampleEvent]:
    """Every example event; an envelope contributes the event in its body, if it has one."""
    out = []
    for file in example_files():
        data = json.loads((EXAMPLES / file).read_text(encoding="utf-8"))
        if file in ENVELOPES:
            body = data.get("body") or data.get("event")
            data = body if body is not None else []
        for index, document in enumerate(data if isinstance(data, list) else [data]):
            out.append(ExampleEvent(file, index, document))
    return out


def load(file: str, index: int = 0) -> dict[str, Any]:
    """One example event, as a fresh dict."""
    data = json.loads((EXAMPLES / file).read_text(encoding="utf-8"))
    return copy.deepcopy(data[index] if isinstance(data, list) else data)


def walk_paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path (keys and indexes) into a JSON value."""
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from walk_paths(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from walk_paths(item, (*path, i))


def mutants(document: dict[str, Any], seed: int, count: int, replacements: Sequence[Any]) -> list[Any]:
    """Deterministic variants of a JSON document: a value replaced, a key removed, a key added."""
    rng = random.Random(seed)
    paths = [p for p in walk_paths(document) if p]
    out: list[Any] = []
    for _ in range(count):
        mutant = copy.deepcopy(document)
        path = rng.choice(paths)
        parent: Any = mutant
        for key in path[:-1]:
            parent = parent[key]
        action = rng.random()
        if action < 0.6:
            parent[path[-1]] = rng.choice(replacements)
        elif action < 0.85 and isinstance(parent, dict):
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent["_deleted" if rng.random() < 0.5 else "extra"] = rng.choice(replacements)
        out.append(mutant)
    return out


def run_event(**changes: Any) -> dict[str, Any]:
    """A small, complete RunEvent; keyword arguments replace top-level fields."""
    event: dict[str, Any] = {
        "eventType": "COMPLETE",
        "eventTime": "2024-02-01T10:00:00.123Z",
        "producer": "https://example.org/producer",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "facets": {}},
        "job": {"namespace": "airflow-retail", "name": "orders.load", "facets": {}},
        "inputs": [{"namespace": "postgres://shop-db:5432", "name": "shop.public.orders", "facets": {}}],
        "outputs": [{"namespace": "file", "name": "/lake/retail/sales/orders/dt=2024-02-01/part-0.parquet"}],
    }
    event.update(changes)
    return event


def benchmark_events(runs: int, seed: str) -> list[bytes]:
    """The events `benchmarks/lineage.py` sends (2 per run), as JSON bytes, for a lake at ``/lake``."""
    spec = importlib.util.spec_from_file_location("benchmark_lineage", REPO / "benchmarks" / "lineage.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    events: list[bytes] = module.make_events(Path("/lake"), runs, seed)
    return events
