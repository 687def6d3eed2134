"""Freshness without scanning: lineage, Delta, Iceberg, file times and the last test, never a row.

Every test runs with the engines guarded: each registered engine (the real DuckDB, Spark and
PostgreSQL engine objects) and the table readers (duckdb, deltalake, pyiceberg) raise if anything
opens them, so a passing test proves that no data was read.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from monitor_support import EXAMPLE

from meshplane.access import Principal, Role
from meshplane.demo.lakegen import generate_lake
from meshplane.engines import commit_times
from meshplane.engines import registry as engines
from meshplane.registry import Registry, store_test_run
from meshplane.registry.worker import Worker
from meshplane.service import derivation, freshness, incidents
from meshplane.service.gitops import apply_mesh
from meshplane.service.lineage import receive_event

CAMPAIGNS = "domains/marketing/products/campaigns/contracts/campaigns.odcs.yaml"


def _guarded(*_args: Any, **_kwargs: Any) -> Any:
    raise AssertionError("the freshness evaluation opened an engine or read a table")


@pytest.fixture(autouse=True)
def no_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every engine and table reader raises if opened."""
    import deltalake
    import duckdb
    from pyiceberg.table import StaticTable

    for engine in engines.all_engines():
        monkeypatch.setattr(engine, "connect", _guarded)
    monkeypatch.setattr(duckdb, "connect", _guarded)
    monkeypatch.setattr(deltalake, "DeltaTable", _guarded)
    monkeypatch.setattr(StaticTable, "from_metadata", _guarded)


@pytest.fixture(scope="module")
def wrote() -> datetime:
    """When the module's lake is written (the fixture below, right after): its tests evaluate around it."""
    return datetime.now(UTC)


@pytest.fixture(scope="module")
def lake_mesh(tmp_path_factory: pytest.TempPathFactory, wrote: datetime) -> Path:
    """The example mesh with its lake (parquet, csv, Iceberg ledger), campaigns rewritten as a Delta table."""
    from deltalake import write_deltalake

    root = tmp_path_factory.mktemp("fresh") / "holding"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("lake", ".meshplane"))
    generate_lake(root, root / "lake", rows=30, seed=7, now=wrote)
    contract = root / CAMPAIGNS
    text = contract.read_text(encoding="utf-8").replace(
        "path: marketing/campaigns/campaigns/*.parquet\n    format: parquet",
        "path: marketing/campaigns/campaigns_delta\n    format: delta",
    )
    contract.write_text(text, encoding="utf-8")
    write_deltalake(str(root / "lake/marketing/campaigns/campaigns_delta"), pa.table({"campaign_id": ["c1"]}))
    return root


@pytest.fixture
def registry(lake_mesh: Path, tmp_path: Path) -> Iterator[Registry]:
    with Registry(f"sqlite:///{tmp_path / 'r.db'}") as reg:
        apply_mesh(lake_mesh, registry=reg, actor="test")
        yield reg


def _by_port(evaluations: list[freshness.Evaluation]) -> dict[tuple[str, str], freshness.Evaluation]:
    return {(e.port.contract_id, e.port.check_id): e for e in evaluations}


def _ports(registry: Registry) -> list[freshness.WatchedPort]:
    with registry.read() as session:
        return freshness.watched_ports(session)


def test_table_metadata_and_file_times_judge_freshness(wrote: datetime, registry: Registry) -> None:
    ports = _ports(registry)
    fresh = _by_port(freshness.evaluate_cycle(registry, ports, wrote + timedelta(minutes=5)))
    ledger = fresh[("finance.ledger.ledger_entries", "sla.freshness")]
    campaigns = fresh[("marketing.campaigns.campaigns", "sla.freshness")]
    orders = fresh[("retail.sales.orders", "sla.latency")]
    assert (ledger.source, ledger.breached) == ("iceberg", False)
    assert (campaigns.source, campaigns.breached) == ("delta", False)
    assert (orders.source, orders.breached) == ("files", False)
    assert abs((campaigns.newest - wrote).total_seconds()) < 120  # the Delta commit time
    assert incidents.list_incidents(registry).total == 0

    late = wrote + timedelta(days=3)
    stale = _by_port(freshness.evaluate_cycle(registry, ports, late))
    still_fresh = {k: (e.source, e.breached) for k, e in stale.items() if not e.breached}
    assert still_fresh == {("retail.catalog.products", "sla.freshness"): ("files", False)}  # 7 days allowed
    opened = {(i["contract"], i["check"]): i for i in incidents.list_incidents(registry, limit=100).items}
    assert len(opened) == len(stale) - 1  # every breach opened its incident in the same cycle
    ledger_incident = opened[("finance.ledger.ledger_entries", "sla.freshness")]
    assert ledger_incident["kind"] == "freshness" and "(from iceberg)" in ledger_incident["message"]
    assert ledger_incident["observed"] > 2.9  # days old

    freshness.evaluate_cycle(registry, ports, late + timedelta(minutes=1))  # still stale: counted again
    again = incidents.list_incidents(registry, contract="finance.ledger.ledger_entries").items
    assert {i["occurrences"] for i in again} == {2}


def _orders_written(registry: Registry, lake_mesh: Path, at: datetime, sender: Principal, job: str) -> None:
    """A completed run of `job` writing retail's orders port at `at`, sent by `sender`, derived."""
    namespace, _, name = job.partition("/")
    event = {
        "eventType": "COMPLETE",
        "eventTime": at.isoformat().replace("+00:00", "Z"),
        "producer": "https://example.org/tests",
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": namespace, "name": name},
        "outputs": [{"namespace": "file", "name": str((lake_mesh / "lake/retail/sales/orders").absolute())}],
    }
    receive_event(registry, event, sender)
    derivation.derive_pending(registry)


def _orders_freshness(registry: Registry, at: datetime) -> set[tuple[str, str, bool]]:
    ports = [p for p in _ports(registry) if p.contract_id == "retail.sales.orders"]
    return {(e.port.check_id, e.source, e.breached) for e in freshness.evaluate_cycle(registry, ports, at)}


def test_lineage_is_read_first_and_a_completed_run_keeps_a_port_fresh(
    wrote: datetime, registry: Registry, lake_mesh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    late = wrote + timedelta(days=3)
    _orders_written(
        registry, lake_mesh, late - timedelta(hours=1), Principal.local_admin("tests"), "airflow-retail/orders.load"
    )
    for name in ("delta_commit_time", "iceberg_commit_time", "newest_file_time"):  # not even metadata
        monkeypatch.setattr(commit_times, name, _guarded)
    monkeypatch.setattr(freshness, "table_time", _guarded)
    assert _orders_freshness(registry, late) == {("sla.freshness", "lineage", False), ("sla.latency", "lineage", False)}


def test_a_run_another_domains_maintainer_reports_never_makes_a_port_fresh(
    wrote: datetime, registry: Registry, lake_mesh: Path
) -> None:
    late = wrote + timedelta(days=3)
    finance = Principal("claire", Role.MAINTAINER, "finance")  # retail's port, finance's token
    _orders_written(registry, lake_mesh, late - timedelta(hours=1), finance, "airflow-finance/orders.fake_writer")
    assert _orders_freshness(registry, late) == {("sla.freshness", "files", True), ("sla.latency", "files", True)}


def test_the_last_contract_test_measures_a_port_without_lineage_or_data(
    mesh_registry: tuple[Path, Registry],
) -> None:
    _, registry = mesh_registry  # the example mesh without a lake: SQLite and PostgreSQL
    tested = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    run = {
        "contract": {"id": "retail.sales.orders", "version": "1.2.0"}, "result": "passed",
        "startedAt": tested.isoformat(), "finishedAt": tested.isoformat(),
        "checks": [{"id": "sla.freshness", "kind": "sla.freshness", "status": "passed", "severity": "error",
                    "observed": 0.5, "threshold": "<= 1 d", "message": "newest … 0.5 d old"}],
    }  # fmt: skip
    store_test_run(registry, run, actor="ci")
    ports = [p for p in _ports(registry) if p.contract_id == "retail.sales.orders"]
    by_check = _by_port(freshness.evaluate_cycle(registry, ports, tested + timedelta(hours=1)))
    measured = by_check[("retail.sales.orders", "sla.freshness")]
    assert (measured.source, measured.breached) == ("test", False)
    assert measured.newest == tested - timedelta(hours=12)
    assert by_check[("retail.sales.orders", "sla.latency")].breached is None  # nothing knows it: left alone
    freshness.evaluate_cycle(registry, ports, tested + timedelta(days=2))
    [breach] = incidents.list_incidents(registry, state="open").items
    assert (breach["check"], breach["kind"]) == ("sla.freshness", "freshness") and "(from test)" in breach["message"]


def test_the_job_evaluates_once_per_cycle_whichever_worker(wrote: datetime, registry: Registry) -> None:
    clock = [wrote + timedelta(minutes=5)]
    jobs = [freshness.FreshnessJob(clock=lambda: clock[0], interval_s=60) for _ in range(2)]
    workers = [Worker(registry, [job], worker_id=f"w{i}") for i, job in enumerate(jobs)]
    done = [w.run_jobs_once() or w.stats["freshness"].done for w in workers]
    assert done[0] > 0 and done[1] == 0  # the second worker found the cycle taken
    clock[0] += timedelta(seconds=61)
    assert workers[1].run_jobs_once() is False and workers[1].stats["freshness"].done == done[0]
    status = freshness.freshness_status(registry)
    assert status is not None and status["ports"] == done[0] and status["breached"] == 0
