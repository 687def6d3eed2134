"""Services for the conformance suite: what each engine's parametrized tests need to run.

Tests parametrized with ``engine="spark"`` get the `spark` mark and share one Spark session for
the whole test session; ``engine="postgres"`` tests get the `postgres` mark and a fresh database
each (``postgres_url``). A missing service skips them outside CI and fails them in CI
(`require_service`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from provisioners import SERVICE_FIXTURES, postgres_credentials, use_service

from meshplane.engines import registry

MARKS = {"spark": pytest.mark.spark, "postgres": pytest.mark.postgres}
ROOT_CONFTEST = Path(__file__).resolve().parents[2] / "conftest.py"


def require_service(config: pytest.Config, available: bool, reason: str) -> None:
    """`require_service` of tests/conftest.py: skip outside CI, fail in CI.

    Every conftest.py here is the module `conftest`, so the root one is looked up among the plugins
    pytest loaded rather than imported by name.
    """
    for plugin in config.pluginmanager.get_plugins():
        path = getattr(plugin, "__file__", None)
        if path and Path(path).resolve() == ROOT_CONFTEST:
            plugin.require_service(available, reason)
            return
    raise LookupError(f"{ROOT_CONFTEST} is not loaded")


@pytest.hookimpl(tryfirst=True)  # before tests/conftest.py's hook, which groups the Spark tests for xdist
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        engine = callspec.params.get("engine") if callspec is not None else None
        if engine in MARKS:
            item.add_marker(MARKS[engine])


@pytest.fixture(scope="session")
def spark_engine(pytestconfig: pytest.Config) -> Iterator[Any]:
    """The Spark engine with its session started once for every Spark test; stopped at the end."""
    engine = registry.engine_named("spark")
    problem = engine.missing_requirement()
    require_service(pytestconfig, problem is None, f"Spark cannot run here: {problem}")
    engine.session()
    yield engine
    engine.stop()


@pytest.fixture(autouse=True)
def _engine_service(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    callspec = getattr(request.node, "callspec", None)
    engine = callspec.params.get("engine") if callspec is not None else None
    fixture = SERVICE_FIXTURES.get(engine or "")
    if fixture is None:
        return
    value = request.getfixturevalue(fixture)
    use_service(engine, value)
    if engine == "postgres":
        for name, secret in postgres_credentials(value).items():
            monkeypatch.setenv(name, secret)
