"""Property-based fuzzing of the OpenAPI document (schemathesis, in-process ASGI): no answer is a 5xx.

One test per operation of ``/openapi.json``, each with valid (positive) and invalid (negative)
generated requests, as an admin (so writes get past authorization; generated ``Authorization``
headers of negative cases are kept). Bounded: `EXAMPLES` per operation and mode, and a time budget
for the whole module (`BUDGET_S`); operations reached after the budget is spent send nothing.
``MESHPLANE_FUZZ_EXAMPLES`` / ``MESHPLANE_FUZZ_BUDGET_S`` raise them for a longer run.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from api_support import World, build_world
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from meshplane.api import create_app
from meshplane.registry import Registry
from meshplane.settings import Settings

EXAMPLES = int(os.environ.get("MESHPLANE_FUZZ_EXAMPLES", "12"))
POSTGRES_EXAMPLES = max(EXAMPLES // 2, 5)
BUDGET_S = float(os.environ.get("MESHPLANE_FUZZ_BUDGET_S", "35"))


def _schema() -> Any:
    app = create_app(Registry("sqlite:///:memory:", auto_upgrade=False), settings=Settings())
    return schemathesis.openapi.from_asgi("/openapi.json", app)


SCHEMA = _schema()
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
STATS: Counter[tuple[str, int]] = Counter()
_deadline: list[float] = []


def _over_budget() -> bool:
    if not _deadline:
        _deadline.append(time.monotonic() + BUDGET_S)
    return time.monotonic() > _deadline[0]


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fuzz_world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[World, Any, int]]:
    folder = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    if request.param == "sqlite":
        url, examples = f"sqlite:///{folder / 'fuzz.db'}", EXAMPLES
    else:
        url, examples = _module_postgres_database(request), POSTGRES_EXAMPLES
    world = build_world(url, folder)
    with Registry(url) as registry:
        yield world, create_app(registry, settings=Settings()), examples


def _module_postgres_database(request: pytest.FixtureRequest) -> str:
    """A PostgreSQL database for the module (the function-scoped `postgres_url` fixture cannot be used here)."""
    import uuid

    import sqlalchemy as sa

    server: str = request.getfixturevalue("postgres_server_url")
    name = f"mp_fuzz_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(
                sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name}
            )
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()

    request.addfinalizer(drop)
    return f"{server.rsplit('/', 1)[0]}/{name}"


def _fuzz(operation: Any, app: Any, token: str, mode: GenerationMode, examples: int) -> list[str]:
    failures: list[str] = []

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        if _over_budget():
            return
        headers = dict(case.headers or {})
        if mode is GenerationMode.POSITIVE or "authorization" not in {k.lower() for k in headers}:
            headers["Authorization"] = f"Bearer {token}"
        case.headers = headers
        response = case.call(app=app)
        STATS[(operation.label, response.status_code)] += 1
        if response.status_code >= 500:
            failures.append(f"{response.status_code} {case.as_curl_command()}\n{response.text[:500]}")
        content_type = response.headers.get("content-type", "")
        if response.status_code >= 400:
            assert "application/problem+json" in content_type, (operation.label, response.status_code, content_type)

    try:
        run()
    except Exception as exc:  # only "no valid example exists" is acceptable (e.g. negative GET /health)
        if type(exc).__name__ != "Unsatisfiable":
            raise
    return failures


@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
def test_no_server_error(operation: Any, fuzz_world: tuple[World, Any, int]) -> None:
    world, app, examples = fuzz_world
    failures = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        failures += _fuzz(operation, app, world.tokens["admin"], mode, examples)
    assert not failures, "\n\n".join(failures[:5])


def test_fuzzing_reached_every_operation() -> None:
    """Runs last in this module: every operation got requests, and none answered 5xx."""
    reached = {label for label, _ in STATS}
    assert reached == {op.label for op in OPERATIONS}, sorted({op.label for op in OPERATIONS} - reached)
    assert not [key for key in STATS if key[1] >= 500]
    total = sum(STATS.values())
    by_class = Counter(f"{status // 100}xx" for (_, status), n in STATS.items() for _ in range(n))
    print(f"\nfuzzing: {len(OPERATIONS)} operations, {total} requests, by status class {dict(by_class)}")
