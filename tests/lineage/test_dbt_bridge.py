"""Acceptance of the dbt bridge with a real dbt project: dbt-core 1.10 + dbt-duckdb + openlineage-dbt 1.54.

The finance team's dbt project reads retail's ``orders`` port through a source with an
``external_location`` and writes its own ``daily_revenue`` port with an ``external`` model;
``dbt-ol run`` and ``dbt-ol build`` send their events to a live ``meshplane serve`` (its worker
derives them) with ``OPENLINEAGE_URL`` and ``OPENLINEAGE_API_KEY``, as a user would. Before the
link both relations are unresolved, with the dbt suggestion; after ``meshplane dbt link`` the runs
join the cross-domain flow, with column usage from dbt's column lineage, and the tests of ``dbt-ol build``
are assertion results of the written port in the test-run history (``meshplane test-runs``).

dbt runs from ``.venv-dbt`` (``make dbt-venv``, pins in ``constraints-dbt.txt``): its pins differ
from the project's, so it is a venv of its own, called as a subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from test_receiver_support import REPO, ServerProcess, World, build_world
from typer.testing import CliRunner

from meshplane.cli.app import app
from meshplane.registry import Registry
from meshplane.registry import lineage as store
from meshplane.settings import get_settings

pytestmark = pytest.mark.slow

DBT_BIN = REPO / ".venv-dbt" / "bin"
runner = CliRunner()


@pytest.fixture(scope="module")
def dbt_bin() -> Path:
    """The dbt venv; missing: skipped outside CI, a failure in CI (`make test` installs it)."""
    if not (DBT_BIN / "dbt-ol").is_file():
        reason = "dbt is not installed in .venv-dbt (run `make dbt-venv`)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"required service missing in CI: {reason}")
        pytest.skip(reason)
    return DBT_BIN


def _lake_orders(lake: Path) -> None:
    folder = lake / "retail" / "sales" / "orders"
    folder.mkdir(parents=True, exist_ok=True)
    (lake / "finance" / "revenue" / "daily_revenue").mkdir(parents=True, exist_ok=True)
    duckdb.sql(
        "COPY (SELECT * FROM (VALUES ('o-1', DATE '2026-11-19', 'DE', 'EUR', 10.5), "
        "('o-2', DATE '2026-11-19', 'DE', 'EUR', 4.5), ('o-3', DATE '2026-11-20', 'FR', 'EUR', 7.0)) "
        "AS t(order_id, order_date, country_code, currency, total_amount)) "
        f"TO '{folder / 'part-0.parquet'}' (FORMAT parquet)"
    )


def _project(folder: Path, lake: Path) -> Path:
    """The finance team's dbt project: a source on retail's orders, an external model on its own port."""
    project = folder / "finance_dbt"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text(
        "name: finance\nversion: '1.0'\nprofile: finance\nmodel-paths: [models]\n", encoding="utf-8"
    )
    (project / "profiles.yml").write_text(
        "finance:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        f"      path: {folder / 'finance.duckdb'}\n      threads: 1\n",
        encoding="utf-8",
    )
    (project / "models" / "schema.yml").write_text(
        f"""version: 2
sources:
  - name: sales
    meta:
      external_location: "read_parquet('{lake}/retail/sales/{{name}}/*.parquet')"
    tables:
      - name: orders
        columns:
          - name: order_id
            data_tests: [not_null, unique]
models:
  - name: daily_revenue
    config:
      materialized: external
      location: "{lake}/finance/revenue/daily_revenue/data.parquet"
    columns:
      - name: revenue_date
        data_tests: [not_null, unique]
      - name: gross_revenue
""",
        encoding="utf-8",
    )
    (project / "models" / "daily_revenue.sql").write_text(
        "select order_date as revenue_date, country_code, currency, count(*) as order_count,\n"
        "       sum(total_amount) as gross_revenue\n"
        "from {{ source('sales', 'orders') }}\ngroup by all\n",
        encoding="utf-8",
    )
    return project


@pytest.fixture(scope="module")
def setting(tmp_path_factory: pytest.TempPathFactory, dbt_bin: Path) -> Iterator[tuple[World, Path, ServerProcess]]:
    folder = tmp_path_factory.mktemp("dbt-bridge")
    world = build_world(folder, f"sqlite:///{folder / 'registry.db'}")
    _lake_orders(world.lake)
    project = _project(folder, world.lake)
    with ServerProcess(world.registry_url) as server:
        yield world, project, server


def dbt_ol(project: Path, server: ServerProcess, token: str, command: str) -> None:
    """``dbt-ol COMMAND`` in the project, sending to the server as the user's environment says."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MESHPLANE_", "OPENLINEAGE", "DBT_"))}
    env |= {
        "PATH": f"{DBT_BIN}{os.pathsep}{env.get('PATH', '')}",
        "OPENLINEAGE_URL": server.url,
        "OPENLINEAGE_API_KEY": token,
        "DBT_PROFILES_DIR": str(project),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
    }
    done = subprocess.run(
        [str(DBT_BIN / "dbt-ol"), command, "--project-dir", str(project)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-3000:])
    assert "Emitted" in done.stdout + done.stderr, done.stdout[-2000:]


def derived(server: ServerProcess, world: World, at_least: int) -> None:
    """Wait until the server's worker derived every event received (and at least `at_least` were)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = httpx.get(f"{server.url}/api/v1/lineage/status", headers=world.headers("reader"), timeout=10).json()
        if status["counts"]["events"] >= at_least and status["derivation"]["waiting"] == 0:
            return
        time.sleep(0.2)
    raise AssertionError(f"derivation did not catch up: {status['derivation']}")


def cli(*args: str) -> Any:
    get_settings.cache_clear()
    try:
        return runner.invoke(app, list(args), env={"MESHPLANE_DATABASE_URL": None, "MESHPLANE_TOKEN": None})
    finally:
        get_settings.cache_clear()


def test_dbt_ol_runs_resolve_to_the_ports_once_linked(setting: tuple[World, Path, ServerProcess]) -> None:
    world, project, server = setting
    finance = world.tokens["maintainer:finance"]
    dbt_ol(project, server, finance, "run")
    derived(server, world, 4)

    # without the link: both relations are listed, with the dbt suggestion
    listed = cli(
        "lineage", "unresolved", "--format", "json", "--server-url", server.url, "--token", world.tokens["reader"]
    )
    assert listed.exit_code == 0, listed.output
    by_name = {item["name"]: item for item in json.loads(listed.output)["datasets"]}
    for name in ("finance.sales.orders", "finance.main.daily_revenue"):
        assert name in by_name, sorted(by_name)
        assert by_name[name]["namespace"].startswith("duckdb://") and by_name[name]["dbtJob"]
        assert "meshplane dbt link" in by_name[name]["suggestion"]

    # the link: another domain's token is refused, the product's maintainer links
    manifest = project / "target" / "manifest.json"
    base = ("dbt", "link", str(manifest), "--product", "finance.revenue", "--server-url", server.url)
    refused = cli(*base, "--token", world.tokens["maintainer:marketing"])
    assert refused.exit_code != 0 and "403" in refused.output, refused.output
    linked = cli(*base, "--token", finance, "--format", "json")
    assert linked.exit_code == 0, linked.output
    ports = {item["node"]: item["port"] for item in json.loads(linked.output)["links"]}
    assert ports == {
        "source.finance.sales.orders": "retail.sales/orders",
        "model.finance.daily_revenue": "finance.revenue/daily_revenue",
    }

    # events from then on resolve: dbt-ol run and dbt-ol build (with its tests)
    with Registry(world.registry_url) as registry, registry.read() as session:
        before = store.lineage_counts(session)["events"]
    dbt_ol(project, server, finance, "run")
    dbt_ol(project, server, finance, "build")
    derived(server, world, before + 6)
    moved = cli("movements", "--format", "json", "--server-url", server.url, "--token", world.tokens["reader"])
    assert moved.exit_code == 0, moved.output
    flows = json.loads(moved.output)["flows"]
    flow = next(
        f
        for f in flows
        if (f["fromProduct"], f["toProduct"], f["port"]) == ("retail.sales", "finance.revenue", "orders")
    )
    assert flow["fromDomain"] == "retail" and flow["toDomain"] == "finance" and flow["runs"] >= 2
    assert flow["declared"] and flow["agreement"] in ("none", "active", "requested")
    with Registry(world.registry_url) as registry, registry.read() as session:
        usage = {(u.consumer_product, u.provider_product, u.field) for u in store.column_usage_rows(session)}
        written = {
            (r.product, r.port, r.match)
            for r in session.query(store.RunDataset).filter(store.RunDataset.name == "finance.main.daily_revenue")
        }
    assert {
        ("finance.revenue", "retail.sales", "order_date"),
        ("finance.revenue", "retail.sales", "total_amount"),
    } <= usage
    assert ("finance.revenue", "daily_revenue", "linked") in written

    # dbt-ol build's tests are assertion results of the written port, in the test-run history
    with Registry(world.registry_url) as registry, registry.read() as session:
        contracts = {f"{r['product']}/{r['port']}": r["contract_id"] for r in store.load_index(session).rows}
    history = cli(
        "test-runs", "--contract", contracts["finance.revenue/daily_revenue"], "--checks", "--format", "json",
        "--server-url", server.url, "--token", world.tokens["reader"],
    )  # fmt: skip
    assert history.exit_code == 0, history.output
    runs = json.loads(history.output)["items"]
    assert runs and {r["source"] for r in runs} == {"openlineage"}, runs
    assertions = {(c["assertion"], c["column"], c["success"]) for r in runs for c in r["checks"]}
    assert {("not_null", "revenue_date", True), ("unique", "revenue_date", True)} <= assertions, assertions
    assert all(r["result"] == "passed" and r["recordedBy"].startswith("ci-finance") for r in runs)
    # the source's tests are finance's claims about retail's port: no evidence of it, a sender-mismatch
    theirs = cli(
        "test-runs", "--contract", contracts["retail.sales/orders"], "--source", "openlineage", "--format", "json",
        "--server-url", server.url, "--token", world.tokens["reader"],
    )  # fmt: skip
    assert theirs.exit_code == 0 and json.loads(theirs.output)["items"] == [], theirs.output
    flagged = cli("flags", "--format", "json", "--server-url", server.url, "--token", world.tokens["reader"])
    assert "reported as tested by ci-finance" in flagged.output, flagged.output
