"""Shared test fixtures.

Services (PostgreSQL, Spark, Chromium) are real. Outside CI a test whose service is missing is
skipped with the reason; in CI (``CI=true``) it fails instead, so CI can never go green by skipping.

The suite runs in several processes (pytest-xdist, `scripts/run-tests.sh`): a test keeps its state
in its own folder (``tmp_path``), database (``postgres_url``) and environment (``monkeypatch``), and
decides nothing by the clock (Hypothesis: the `meshplane` profile below).
"""

from __future__ import annotations

import gc
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
STANDARDS = SHARED / "standards"
EXAMPLE_MESH = REPO / "examples" / "holding"

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# No ambient terminal size. pytest imports readline early (its capture workaround), and GNU readline
# sets COLUMNS=80 and LINES=24 in the C environment, which the processes pytest starts inherit:
# pytest-xdist's workers see them in os.environ, and a rich Console created at import keeps that
# width for good, whatever COLUMNS a test sets later. Every test process starts without them.
for _name in ("COLUMNS", "LINES"):
    os.environ.pop(_name, None)

# Property tests count examples, never seconds: no deadline, no "too slow" health check, the same
# examples in every run (derandomized, no example database), whatever the machine's load.
hypothesis_settings.register_profile(
    "meshplane",
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "meshplane"))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every Spark test in one xdist group: they share one Spark session (a JVM) per process, so
    `--dist loadgroup` runs them in one process instead of starting the JVM in each."""
    for item in items:
        if item.get_closest_marker("spark") is not None:
            item.add_marker(pytest.mark.xdist_group("spark"))


# The node ids of the Spark tests (a file of its own, and the conformance cases of engine "spark").
SPARK_NODE_IDS = re.compile(r"^tests/engines/test_engine_spark\.py::|-spark\]$")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadgroup`, with the Spark tests in one group even where the mark cannot say so.

    pytest-xdist 3.8 groups by renaming the node ids of marked tests in the workers, which pytest
    9.2's structured node ids ignore (pytest-dev/pytest-xdist#1386): the group marks are dropped
    silently. The scheduler (in the controller, which sees node ids only) therefore also puts the
    Spark tests in the group "spark" by their node id. Delete this hook once xdist honours the marks.
    """
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class LoadGroupWithSpark(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            scope = super()._split_scope(nodeid)
            return "spark" if scope == nodeid and SPARK_NODE_IDS.search(nodeid) else scope

    return LoadGroupWithSpark(config, log)


def require_service(available: bool, reason: str) -> None:
    """Skip (outside CI) or fail (in CI) when a service a test needs is missing."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"required service missing in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    """Every test reads the process settings from its own environment: none sees a `get_settings` cached while
    another test's environment was patched (a registry URL left in the cache sent a read to another registry)."""
    from meshplane.settings import get_settings

    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def pytest_runtest_teardown(item: pytest.Item) -> None:
    """Give the garbage collector back the objects a test froze.

    `meshplane.cli.app.main()` (and `serve`) freeze every object alive after start-up
    (``gc.freeze()``: right for a CLI process, which exits soon). Tests that call them in-process
    would leave the test process frozen: those objects are never collected, not even at exit, where
    DuckDB's binding library (nanobind) then reports DuckDB's objects as ``nanobind: leaked …``.
    """
    if gc.get_freeze_count():
        gc.unfreeze()


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """URL of the test PostgreSQL server (MESHPLANE_TEST_POSTGRES_URL), started by `make test` / CI."""
    url = os.environ.get("MESHPLANE_TEST_POSTGRES_URL", "")
    require_service(bool(url), "MESHPLANE_TEST_POSTGRES_URL is not set (run `make test`, which starts a server)")
    return url


@pytest.fixture
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test; dropped afterwards."""
    import sqlalchemy as sa

    name = f"mp_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:  # server not reachable
        admin.dispose()
        require_service(False, f"PostgreSQL at {postgres_server_url} is not reachable: {exc.orig}")
    base = postgres_server_url.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with admin.connect() as conn:
        conn.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"
            ),
            {"n": name},
        )
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture
def standards_dir() -> Path:
    """The official standards folder (../shared/standards)."""
    require_service(STANDARDS.is_dir(), f"{STANDARDS} is missing (CI checks out shared/ beside the repo)")
    return STANDARDS
