"""Engine selection, registration of another engine, and engine names kept inside engines/."""

from __future__ import annotations

import io
import tokenize
from pathlib import Path
from typing import ClassVar

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from meshplane.diagnostics import MeshplaneError
from meshplane.engines import registry
from meshplane.engines.base import Engine
from meshplane.engines.duckdb import DuckDBEngine
from meshplane.service.testing import run_tests
from meshplane.spec.odcs import Server

SRC = Path(__file__).resolve().parents[2] / "src" / "meshplane"


def _server(kind: str) -> Server:
    return Server(server="s", type=kind)


def test_the_server_type_picks_the_engine() -> None:
    assert registry.engine_for(_server("local")).name == "duckdb"
    assert registry.engine_for(_server("duckdb")).name == "duckdb"
    assert registry.engine_for(_server("local"), requested="duckdb").name == "duckdb"


def test_no_engine_for_a_server_type() -> None:
    with pytest.raises(MeshplaneError, match="no engine can test server 's' of type 'kafka'"):
        registry.engine_for(_server("kafka"))


def test_unknown_engine() -> None:
    with pytest.raises(MeshplaneError, match=r"unknown engine 'nope'.*duckdb"):
        registry.engine_for(_server("local"), requested="nope")


class ArrowFlightEngine(DuckDBEngine):
    """A stand-in fourth engine: one class, one `register` call."""

    name: ClassVar[str] = "flight"
    server_types: ClassVar[frozenset[str]] = frozenset({"local"})
    preferred_for: ClassVar[frozenset[str]] = frozenset()


class UnusableEngine(DuckDBEngine):
    name: ClassVar[str] = "unusable"
    server_types: ClassVar[frozenset[str]] = frozenset({"local"})
    preferred_for: ClassVar[frozenset[str]] = frozenset()

    def missing_requirement(self) -> str | None:
        return "install meshplane[unusable]"


@pytest.fixture
def registered():
    added: list[Engine] = []

    def add(engine: Engine) -> Engine:
        registry.register(engine)
        added.append(engine)
        return engine

    yield add
    for engine in added:
        registry.unregister(engine.name)


def _contract(folder: Path) -> Path:
    pq.write_table(pa.table({"id": [1, 2, 2]}), folder / "t.parquet")
    doc = {
        "apiVersion": "v3.1.0", "kind": "DataContract", "id": "c", "version": "1", "status": "active",
        "servers": [{"server": "lake", "type": "local", "path": "t.parquet", "format": "parquet"}],
        "schema": [{"name": "t", "properties": [{"name": "id", "unique": True}]}],
    }  # fmt: skip
    path = folder / "c.odcs.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def test_a_fourth_engine_is_one_class_and_its_registration(tmp_path, registered) -> None:
    registered(ArrowFlightEngine())
    assert "flight" in registry.engine_names()
    # the preferred engine for `local` stays the default; --engine picks the other one
    assert registry.engine_for(_server("local")).name == "duckdb"
    (run,) = run_tests(_contract(tmp_path), engine="flight")
    assert run.engine == "flight"
    assert {c.spec.id: c.status.value for c in run.checks}["t.id.unique"] == "failed"
    # the default engine from settings / mesh.yaml applies when it can serve the server
    assert registry.engine_for(_server("local"), default="flight").name == "flight"
    assert registry.engine_for(_server("duckdb"), default="flight").name == "duckdb"


def test_an_engine_that_cannot_run_says_why(tmp_path, registered) -> None:
    registered(UnusableEngine())
    (run,) = run_tests(_contract(tmp_path), engine="unusable")
    assert run.result.value == "error"
    assert run.error and "install meshplane[unusable]" in run.error


def test_an_engine_that_does_not_serve_the_server(tmp_path) -> None:
    doc = yaml.safe_load(_contract(tmp_path).read_text())
    doc["servers"].insert(0, {"server": "stream", "type": "kafka", "host": "k:9092", "format": "json"})
    (tmp_path / "c.odcs.yaml").write_text(yaml.safe_dump(doc))
    (run,) = run_tests(tmp_path / "c.odcs.yaml")  # the first server an engine can serve
    assert run.server == "lake"
    (run,) = run_tests(tmp_path / "c.odcs.yaml", server="stream")
    assert run.result.value == "error" and run.error and "type 'kafka'" in run.error


ENGINE_NAMES = ("duckdb", "spark", "postgres", "postgresql")
OWN_MODULES = [*sorted((SRC / "checks").rglob("*.py")), SRC / "service" / "testing.py",
               SRC / "cli" / "commands" / "test.py"]  # fmt: skip


@pytest.mark.parametrize("path", OWN_MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_engine_names_appear_only_under_engines(path) -> None:
    """No `if server.type == "duckdb"` outside engines/: names in code (not in comments) are a leak."""
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline)
    leaks = [
        f"{path.name}:{tok.start[0]}: {tok.string}"
        for tok in tokens
        if tok.type in (tokenize.NAME, tokenize.STRING) and any(n in tok.string.lower() for n in ENGINE_NAMES)
        and not (tok.type == tokenize.STRING and tok.string.startswith(('"""', "'''")))
    ]  # fmt: skip
    assert not leaks, leaks
