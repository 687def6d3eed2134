"""Hostile YAML in bundles posted to ``POST /api/v1/apply`` (issue 19): a fast 422 naming the file and the limit.

A 6.8 KB billion-laughs contract once grew the server past 5 GB; 10,000-deep nesting and recursive
aliases were 500s. Each is now one diagnostic with the bundle path, the line and the limit, and
nothing is written.
"""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa
from api_support import World, bundle
from fastapi.testclient import TestClient

from meshplane.registry import Registry
from meshplane.registry import models as m
from meshplane.spec.yamlsource import MAX_YAML_ALIAS_NODES, MAX_YAML_BYTES, MAX_YAML_DEPTH

CONTRACT = "domains/retail/products/sales/contracts/orders.odcs.yaml"


def billion_laughs(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


CASES = {
    "billion laughs": (billion_laughs(), "yaml-alias-limit", f"{MAX_YAML_ALIAS_NODES:,}"),
    "10,000-deep nesting": ("x: " + "[" * 10_000 + "]" * 10_000 + "\n", "yaml-too-deep", f"{MAX_YAML_DEPTH} levels"),
    "recursive alias": ("a: &x [1, {b: *x}]\n", "yaml-recursive-alias", "recursive alias"),
}


def written(registry: Registry) -> tuple[int, int]:
    with registry.read() as session:
        audits = session.execute(sa.select(sa.func.count()).select_from(m.AuditEntry)).scalar_one()
        versions = session.execute(sa.select(sa.func.count()).select_from(m.ContractVersion)).scalar_one()
    return audits, versions


@pytest.mark.parametrize(("text", "code", "limit"), CASES.values(), ids=CASES.keys())
@pytest.mark.parametrize("dry_run", [False, True])
def test_a_hostile_bundle_file_is_a_422_naming_the_file_and_the_limit(
    client: TestClient, world: World, registry: Registry, text: str, code: str, limit: str, dry_run: bool
) -> None:
    before = written(registry)
    files = bundle(world.mesh, {CONTRACT: text})
    started = time.perf_counter()
    answer = client.post("/api/v1/apply", json={"files": files, "dryRun": dry_run}, headers=world.headers("admin"))
    assert time.perf_counter() - started < 10
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    diagnostics = [d for d in answer.json()["diagnostics"] if d["code"] == code]
    assert len(diagnostics) == 1, answer.json()
    assert diagnostics[0]["file"] == CONTRACT and diagnostics[0]["line"]
    assert limit in diagnostics[0]["message"]
    assert written(registry) == before


def test_a_bundle_file_beyond_the_size_limit_is_refused_before_it_is_written(
    client: TestClient, world: World, registry: Registry
) -> None:
    before = written(registry)
    files = bundle(world.mesh, {CONTRACT: "x: '" + "a" * MAX_YAML_BYTES + "'\n"})
    answer = client.post("/api/v1/apply", json={"files": files}, headers=world.headers("admin"))
    assert answer.status_code == 422, answer.status_code  # below the request limit (max_request_bytes)
    assert answer.headers["content-type"] == "application/problem+json"
    assert f"{MAX_YAML_BYTES:,}" in answer.json()["detail"]
    assert answer.json()["diagnostics"][0]["file"] == f"files[{CONTRACT!r}]"
    assert written(registry) == before
