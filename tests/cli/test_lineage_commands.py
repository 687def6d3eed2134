"""`meshplane lineage PRODUCT` and `meshplane movements`: JSON shapes, tables, filters, exit codes, registry or server."""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from meshplane.access import Principal
from meshplane.cli.app import app
from meshplane.registry import Registry
from meshplane.registry import lineage as store
from meshplane.service import lineage as service
from meshplane.service.gitops import apply_mesh
from meshplane.service.registries import open_mesh_registry
from meshplane.service.tokens import create_token
from meshplane.settings import get_settings

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "holding"
OPERATOR = Principal.local_admin("tests")
FLOW_KEYS = [
    "fromDomain", "toDomain", "fromProduct", "toProduct", "port", "runs", "runsCovered", "runsNotCovered", "rows",
    "bytes", "lastSeen", "agreement", "declared", "flags", "receivedBy",
]  # fmt: skip

runner = CliRunner()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def mesh(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The example mesh applied to its registry (the default SQLite file, or PostgreSQL via the environment)."""
    for name in ("MESHPLANE_DATABASE_URL", "MESHPLANE_TOKEN", "MESHPLANE_SERVER_URL"):
        monkeypatch.delenv(name, raising=False)
    if request.param == "postgresql":
        monkeypatch.setenv("MESHPLANE_DATABASE_URL", request.getfixturevalue("postgres_url"))
    get_settings.cache_clear()
    folder = Path(shutil.copytree(EXAMPLE, tmp_path / "holding", ignore=shutil.ignore_patterns("lake", ".meshplane")))
    with open_mesh_registry(folder, create=True) as registry:  # a registry made on purpose (`db init`)
        apply_mesh(folder, registry=registry, actor="tests")
    yield folder
    get_settings.cache_clear()


def registry_of(mesh: Path) -> Registry:
    return open_mesh_registry(mesh)


def invoke(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def run(mesh: Path, job: str, reads: list[str], writes: str | None, at: str = "2026-11-20T10:00:00Z") -> dict[str, Any]:
    lake = (mesh / "lake").absolute()
    namespace, _, name = job.partition("/")
    return {
        "eventType": "COMPLETE", "eventTime": at, "producer": "https://example.org/tests",
        "run": {"runId": str(uuid.uuid4())}, "job": {"namespace": namespace, "name": name},
        "inputs": [{"namespace": "file", "name": f"{lake}/{r}", "inputFacets": {"inputStatistics": {"rowCount": 10, "size": 99}}}
                   for r in reads],
        "outputs": [{"namespace": "file", "name": f"{lake}/{writes}/part-0.parquet"}] if writes else [],
    }  # fmt: skip


def observed(mesh: Path, *, derive: bool = True) -> None:
    """Logistics reads retail orders (declared); marketing reads them without declaring; finance's ledger runs twice.

    With `derive`, the events are derived afterwards (what the server's worker does).
    """
    events = [
        run(mesh, "airflow-logistics/shipments", ["retail/sales/orders"], "logistics/shipments/shipments"),
        run(mesh, "airflow-marketing/enrich", ["retail/sales/orders"], "marketing/campaign_performance/campaign_kpis"),
        run(
            mesh,
            "airflow-finance/ledger",
            ["retail/sales/orders"],
            "finance/ledger/ledger_entries",
            "2026-11-18T05:00:00Z",
        ),
        run(
            mesh,
            "airflow-finance/ledger",
            ["retail/sales/orders"],
            "finance/ledger/ledger_entries",
            "2026-11-19T05:00:00Z",
        ),
        run(mesh, "airflow-finance/revenue", ["finance/ledger/ledger_entries"], "finance/revenue/daily_revenue"),
    ]
    with registry_of(mesh) as registry:
        outcome = service.receive_batch(registry, json.dumps(events), OPERATOR)
        if derive:
            service.derive_pending(registry)
    assert outcome.count(service.IngestStatus.FAILED) == 0


# --- movements ---------------------------------------------------------------------------------------------


def test_movements_json_is_exactly_the_documented_shape(mesh: Path) -> None:
    observed(mesh)
    result = invoke("movements", "--mesh", str(mesh), "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    # portFlags: flags of the ports the flows touch; unresolved: datasets, runs, events that resolved to no port;
    # external: datasets of known external systems (mesh.yaml lineage.externalSystems)
    assert list(document) == ["flows", "portFlags", "unresolved", "external"]
    assert all(list(flow) == FLOW_KEYS for flow in document["flows"])
    by_pair = {(f["fromProduct"], f["toProduct"]): f for f in document["flows"]}
    ledger = by_pair[("retail.sales", "finance.ledger")]
    assert (ledger["runs"], ledger["rows"], ledger["bytes"], ledger["declared"]) == (2, 20, 198, True)
    assert ledger["lastSeen"] == "2026-11-19T05:00:00Z" and ledger["agreement"] == "none"
    assert by_pair[("retail.sales", "marketing.campaign_performance")]["flags"] == ["no-agreement", "undeclared-input"]
    assert by_pair[("finance.ledger", "finance.revenue")]["flags"] == []
    assert by_pair[("finance.ledger", "finance.revenue")]["agreement"] == "not-required"


@pytest.mark.parametrize("days", [("2026-12-05", "2026-12-01"), ("2026-12-01", "2026-12-01")])
def test_movements_refuses_an_empty_or_inverted_range(mesh: Path, days: tuple[str, str]) -> None:
    result = invoke("movements", "--mesh", str(mesh), "--since", days[0], "--until", days[1])
    assert result.exit_code == 2 and f"--since ({days[0]}) must be before --until ({days[1]})" in result.output


def test_movements_table_shows_flows_and_the_domain_matrix(mesh: Path) -> None:
    observed(mesh)
    result = invoke("movements", "--mesh", str(mesh))
    assert result.exit_code == 0, result.output
    for text in ("flows", "domain x domain", "retail.sales", "no-agreement, undeclared-input", "4 flow(s), 3 flagged"):
        assert text in result.stdout, text


def test_movements_in_a_period_and_per_day(mesh: Path) -> None:
    observed(mesh)
    result = invoke(
        "movements", "--mesh", str(mesh), "--since", "2026-11-19", "--until", "2026-11-20", "--format", "json"
    )
    flows = json.loads(result.stdout)["flows"]
    assert [(f["toProduct"], f["runs"]) for f in flows] == [("finance.ledger", 1)]
    daily = json.loads(invoke("movements", "--mesh", str(mesh), "--by-day", "--format", "json").stdout)["flows"]
    assert sorted(f["day"] for f in daily if f["toProduct"] == "finance.ledger") == ["2026-11-18", "2026-11-19"]
    assert "day" in invoke("movements", "--mesh", str(mesh), "--by-day").stdout


def test_fail_on_flags_exits_1_only_when_a_flow_is_flagged(mesh: Path) -> None:
    assert invoke("movements", "--mesh", str(mesh), "--fail-on-flags").exit_code == 0
    assert "no data movements observed" in invoke("movements", "--mesh", str(mesh)).stdout
    observed(mesh)
    assert invoke("movements", "--mesh", str(mesh), "--fail-on-flags", "--format", "json").exit_code == 1


@pytest.mark.parametrize(
    "args",
    [["--since", "yesterday"], ["--until", "2026-13-01"], ["--format", "yaml"]],
)
def test_movements_usage_errors_exit_2(mesh: Path, args: list[str]) -> None:
    result = invoke("movements", "--mesh", str(mesh), *args)
    assert result.exit_code == 2


# --- lineage -------------------------------------------------------------------------------------------------


def test_lineage_json_walks_both_ways_or_one(mesh: Path) -> None:
    observed(mesh)
    both = json.loads(invoke("lineage", "retail.sales", "--mesh", str(mesh), "--format", "json").stdout)
    assert both["product"] == "retail.sales" and both["direction"] == "both"
    assert {n["product"] for n in both["nodes"]} == {
        "retail.sales", "logistics.shipments", "marketing.campaign_performance", "finance.ledger", "finance.revenue",
    }  # fmt: skip
    up = json.loads(
        invoke(
            "lineage", "finance.revenue", "--upstream", "--depth", "1", "--mesh", str(mesh), "--format", "json"
        ).stdout
    )
    assert [(e["fromProduct"], e["toProduct"]) for e in up["edges"]] == [("finance.ledger", "finance.revenue")]
    down = json.loads(
        invoke("lineage", "finance.ledger", "--downstream", "--mesh", str(mesh), "--format", "json").stdout
    )
    assert [e["toProduct"] for e in down["edges"]] == ["finance.revenue"]
    table = invoke("lineage", "retail.sales", "--mesh", str(mesh)).stdout
    assert "marketing.campaign_performance (marketing)" in table and "undeclared-input" in table


def test_lineage_errors(mesh: Path) -> None:
    assert "no observed lineage" in invoke("lineage", "retail.sales", "--mesh", str(mesh)).stdout
    unknown = invoke("lineage", "no.such", "--mesh", str(mesh))
    assert unknown.exit_code == 2 and "not registered" in unknown.output
    assert invoke("lineage", "retail.sales", "--upstream", "--downstream", "--mesh", str(mesh)).exit_code == 2
    assert invoke("lineage", "retail.sales", "--mesh", str(mesh / "domains")).exit_code == 0  # a folder inside the mesh


# --- through a server ---------------------------------------------------------------------------------------


class _Server:
    def __init__(self, app_: Any) -> None:
        import uvicorn

        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app_, log_level="warning", log_config=None))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)

    def __enter__(self) -> _Server:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(20)
        self.socket.close()


def test_both_commands_read_a_server_with_a_token(mesh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from meshplane.api import create_app
    from meshplane.settings import Settings

    observed(mesh)
    local_movements = json.loads(invoke("movements", "--mesh", str(mesh), "--format", "json").stdout)
    local_graph = json.loads(invoke("lineage", "retail.sales", "--mesh", str(mesh), "--format", "json").stdout)
    with registry_of(mesh) as registry:
        token = create_token(registry, OPERATOR, role="reader", name="cli").token
        with _Server(create_app(registry, settings=Settings())) as server:
            refused = invoke("movements", "--server-url", server.url, "--format", "json")
            assert refused.exit_code == 2 and "no token" in refused.output
            monkeypatch.setenv("MESHPLANE_TOKEN", token)
            get_settings.cache_clear()
            remote = invoke("movements", "--server-url", server.url, "--format", "json")
            assert remote.exit_code == 0, remote.output
            assert json.loads(remote.stdout) == local_movements
            graph = invoke("lineage", "retail.sales", "--server-url", server.url, "--token", token, "--format", "json")
            assert json.loads(graph.stdout) == local_graph
            table = invoke("movements", "--server-url", server.url, "--since", "2026-11-19")
            assert table.exit_code == 0 and "domain x domain" in table.stdout
            bad = invoke("movements", "--server-url", server.url, "--token", "mp_abcdefgh_" + "x" * 43)
            assert bad.exit_code == 2 and "401" in bad.output


# --- worker ----------------------------------------------------------------------------------------------------


def test_worker_once_catches_up_and_retries_failed_events(mesh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from meshplane.service import derivation

    observed(mesh, derive=False)
    with registry_of(mesh) as registry:
        assert service.lineage_status(registry)["derivation"]["waiting"] == 5
    result = invoke("worker", "--once", "--mesh", str(mesh))
    assert result.exit_code == 0 and "derived 5 event(s)" in result.output, result.output
    assert "derived 0 event(s)" in invoke("worker", "--once", "--mesh", str(mesh)).output
    late = run(mesh, "airflow-finance/late", ["retail/sales/orders"], None)
    with registry_of(mesh) as registry:  # an event whose derivation fails: exit 1 naming it, then retried
        received = service.receive_event(registry, json.dumps(late), OPERATOR)
        with registry.read() as session:
            event_id = session.execute(
                sa.select(store.StoredEvent.id).where(store.StoredEvent.fingerprint == received.fingerprint)
            ).scalar_one()

    def boom(*_: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(derivation._Batch, "observe", boom)
    failed = invoke("worker", "--once", "--mesh", str(mesh))
    assert failed.exit_code == 1 and f"event {event_id}: RuntimeError: boom" in failed.output
    monkeypatch.undo()
    again = invoke("worker", "--once", "--retry-failed", "--mesh", str(mesh))
    assert "1 failed event(s) queued again" in again.output and "derived 1 event(s)" in again.output


@pytest.mark.parametrize("width", [80, 100])
def test_movements_tables_fit_the_width_without_cutting_ids(
    mesh: Path, width: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    observed(mesh)
    monkeypatch.setenv("COLUMNS", str(width))
    result = invoke("movements", "--mesh", str(mesh))
    assert result.exit_code == 0, result.output
    text = result.stdout
    words = {word for line in text.splitlines() for word in line.replace(",", " ").split()}
    ids = ("retail.sales", "marketing.campaign_performance", "finance.ledger", "logistics.shipments", "ledger_entries")
    for whole in (*ids, "[marketing]", "no-agreement", "undeclared-input"):  # each on one line, never cut
        assert whole in words, whole
    assert "4 flow(s), 3 flagged" in text and "…" not in text and "[red]" not in text
    assert max(len(line.rstrip()) for line in text.splitlines() if not line.startswith("(")) <= width
    assert "--wide shows every column" in text  # amounts left out at this width, and said so
    wide = invoke("movements", "--mesh", str(mesh), "--wide")
    assert "bytes" in wide.stdout and "--wide shows" not in wide.stdout


@pytest.mark.parametrize("width", [80, 100])
def test_lineage_table_fits_the_width_without_cutting_ids(
    mesh: Path, width: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    observed(mesh)
    monkeypatch.setenv("COLUMNS", str(width))
    result = invoke("lineage", "retail.sales", "--mesh", str(mesh))
    assert result.exit_code == 0, result.output
    text = result.stdout
    words = {word for line in text.splitlines() for word in line.replace(",", " ").split()}
    ids = ("retail.sales", "marketing.campaign_performance", "finance.ledger", "logistics.shipments", "orders")
    for whole in (*ids, "(marketing)", "undeclared-input"):  # each on one line, never cut
        assert whole in words, whole
    assert "…" not in text and "[red]" not in text
    assert max(len(line.rstrip()) for line in text.splitlines()[1:] if not line.startswith("(")) <= width
    wide = invoke("lineage", "retail.sales", "--mesh", str(mesh), "--wide")
    assert "rows" in wide.stdout and "--wide shows" not in wide.stdout


@pytest.mark.parametrize("width", [80, 100])
def test_lineage_unresolved_table_fits_the_width_without_cutting_ids(
    mesh: Path, width: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = run(mesh, "airflow-marketing/enrich", [], "marketing/campaign_performance/campaign_kpis")
    event["inputs"] = [{"namespace": "kafka://broker:9092", "name": "orders.created"},
                       {"namespace": "postgres://ops-db:5432", "name": "wms.public.stock_levels"}]  # fmt: skip
    with registry_of(mesh) as registry:
        service.receive_batch(registry, json.dumps([event]), OPERATOR)
        service.derive_pending(registry)
    monkeypatch.setenv("COLUMNS", str(width))
    result = invoke("lineage", "unresolved", "--mesh", str(mesh))
    assert result.exit_code == 0, result.output
    text = result.stdout
    words = {word for line in text.splitlines() for word in line.replace(",", " ").split()}
    for whole in ("kafka://broker#orders.created", "postgres://ops-db#wms.public.stock_levels"):  # never cut
        assert whole in words, whole
    assert width < 100 or "airflow-marketing/enrich" in words  # the job too, where there is room
    assert "2 dataset(s) in 1 run(s)" in text and "…" not in text
    assert max(len(line.rstrip()) for line in text.splitlines() if not line.startswith(("(", "2 dataset"))) <= width
    wide = invoke("lineage", "unresolved", "--mesh", str(mesh), "--wide")
    assert "events" in wide.stdout and "2026-11-20T10:00:00" in wide.stdout and "--wide shows" not in wide.stdout
