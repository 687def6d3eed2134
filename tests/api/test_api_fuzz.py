"""Property-based fuzzing of the OpenAPI document (schemathesis, in-process ASGI): no answer is a 5xx.

One test per operation of ``/openapi.json`` and registry (SQLite, PostgreSQL), each on a fresh copy of
the example world, as an admin (so writes get past authorization; generated ``Authorization`` headers
of negative cases are kept), with valid (positive) and invalid (negative) generated requests.

Bounded by counts, never by a clock: `EXAMPLES` requests per operation and mode on SQLite,
`POSTGRES_EXAMPLES` on PostgreSQL (``MESHPLANE_FUZZ_EXAMPLES`` raises them for a longer run).
Hypothesis is derandomized, without deadline or example database, and every test starts from the
same world: a test sends the same requests in every run, in any order and in any process. Each test
checks on its own what it reached: its operation got valid requests, and they got past
authorization.
"""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from api_support import World, build_world, copy_world
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from meshplane.api import create_app
from meshplane.registry import Registry
from meshplane.settings import Settings

EXAMPLES = int(os.environ.get("MESHPLANE_FUZZ_EXAMPLES", "12"))
POSTGRES_EXAMPLES = max(EXAMPLES // 2, 5)


def _schema() -> Any:
    app = create_app(Registry("sqlite:///:memory:", auto_upgrade=False), settings=Settings())
    return schemathesis.openapi.from_asgi("/openapi.json", app)


SCHEMA = _schema()
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


@pytest.fixture(scope="module")
def postgres_template(
    postgres_server_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, World]]:
    """The example world in a PostgreSQL database of this process, copied (as a template) per test."""
    import sqlalchemy as sa

    name = f"mp_fuzz_template_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(postgres_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        world = build_world(f"{postgres_server_url.rsplit('/', 1)[0]}/{name}", tmp_path_factory.mktemp("fuzz-pg"))
        yield name, world
    finally:
        _drop(admin, name)
        admin.dispose()


def _drop(admin: Any, name: str) -> None:
    import sqlalchemy as sa

    with admin.connect() as conn:
        conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name})
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))


@pytest.fixture
def postgres_world(postgres_server_url: str, postgres_template: tuple[str, World]) -> Iterator[World]:
    """A fresh copy of the PostgreSQL world (CREATE DATABASE … TEMPLATE), dropped afterwards."""
    import sqlalchemy as sa

    template, world = postgres_template
    name = f"mp_fuzz_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            # a template must have no session: close any the world's registry left behind
            conn.execute(
                sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": template}
            )
            conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        yield World(f"{postgres_server_url.rsplit('/', 1)[0]}/{name}", world.mesh, dict(world.tokens))
        _drop(admin, name)
    finally:
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fuzz_world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[World, Any, int]]:
    """A fresh world on the registry of the parameter, its API, and the number of examples per mode."""
    if request.param == "sqlite":
        world, examples = copy_world(request.getfixturevalue("world_template"), tmp_path), EXAMPLES
    else:
        world, examples = request.getfixturevalue("postgres_world"), POSTGRES_EXAMPLES
    with Registry(world.registry_url) as registry:
        yield world, create_app(registry, settings=Settings()), examples


def _fuzz(operation: Any, app: Any, token: str, mode: GenerationMode, examples: int) -> tuple[Counter[int], list[str]]:
    """Send up to `examples` generated requests; their status codes, and the 5xx answers."""
    statuses: Counter[int] = Counter()
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
        headers = dict(case.headers or {})
        if mode is GenerationMode.POSITIVE or "authorization" not in {k.lower() for k in headers}:
            headers["Authorization"] = f"Bearer {token}"
        case.headers = headers
        response = case.call(app=app)
        statuses[response.status_code] += 1
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
    return statuses, failures


@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
def test_no_server_error(operation: Any, fuzz_world: tuple[World, Any, int]) -> None:
    world, app, examples = fuzz_world
    valid, failures = _fuzz(operation, app, world.tokens["admin"], GenerationMode.POSITIVE, examples)
    invalid, more = _fuzz(operation, app, world.tokens["admin"], GenerationMode.NEGATIVE, examples)
    failures += more
    assert not failures, "\n\n".join(failures[:5])
    # what this test reached on its own: valid requests were sent, and the admin token let them in
    assert valid, f"no valid request was generated for {operation.label}"
    assert set(valid) - {401, 403}, f"every valid request to {operation.label} was refused: {dict(valid)}"
    print(f"{operation.label}: valid {dict(valid)}, invalid {dict(invalid)}")
