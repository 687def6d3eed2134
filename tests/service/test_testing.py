"""The `test` use case: targets, path resolution, servers, errors, clock, progress, the example mesh."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from meshplane.checks import ObjectDone, Status
from meshplane.demo.lakedata import VIOLATIONS
from meshplane.demo.lakegen import VIOLATING_CONTRACT, generate_lake
from meshplane.diagnostics import MeshplaneError
from meshplane.service.testing import RunFinished, RunStarted, outside_the_lake, run_tests
from meshplane.spec.odcs import Server

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "holding"
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def _contract_doc(cid: str = "c", path: str = "data/{model}.parquet") -> dict:
    return {
        "apiVersion": "v3.1.0", "kind": "DataContract", "id": cid, "version": "1.0.0", "status": "active",
        "servers": [{"server": "lake", "type": "local", "path": path, "format": "parquet"},
                    {"server": "other", "type": "local", "path": "elsewhere/{model}.parquet", "format": "parquet"}],
        "schema": [{"name": "t", "properties": [{"name": "ts", "logicalType": "timestamp"}]}],
        "slaProperties": [{"property": "freshness", "value": 1, "unit": "d", "element": "t.ts"}],
    }  # fmt: skip


def _write(folder: Path, doc: dict, name: str = "c.odcs.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def _data(folder: Path, newest: datetime = NOW) -> None:
    (folder / "data").mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"ts": pa.array([newest], pa.timestamp("us", tz="UTC"))}), folder / "data" / "t.parquet")


def test_a_standalone_contract_file_reads_relative_to_its_folder(tmp_path) -> None:
    path = _write(tmp_path / "contracts", _contract_doc())
    _data(tmp_path / "contracts")
    (run,) = run_tests(path, clock=lambda: NOW)
    assert run.result is Status.PASSED, run.error
    assert run.server == "lake" and run.file and run.file.endswith("c.odcs.yaml")
    assert run.datasets[0].location == str(tmp_path / "contracts" / "data" / "t.parquet")


def test_the_clock_is_injected(tmp_path) -> None:
    path = _write(tmp_path, _contract_doc())
    _data(tmp_path, newest=NOW - timedelta(hours=30))
    (late,) = run_tests(path, clock=lambda: NOW)
    (early,) = run_tests(path, clock=lambda: NOW - timedelta(hours=10))
    assert late.result is Status.FAILED and early.result is Status.PASSED
    assert late.started_at == late.finished_at == NOW


def test_server_selection(tmp_path) -> None:
    path = _write(tmp_path, _contract_doc())
    _data(tmp_path)
    (other,) = run_tests(path, server="other", clock=lambda: NOW)
    assert other.server == "other" and other.result is Status.ERROR  # no data on that server
    assert other.error and "elsewhere" in other.error
    with pytest.raises(MeshplaneError) as unknown:  # a usage error: nothing runs
        run_tests(path, server="prod")
    assert unknown.value.message == "contract 'c' has no server 'prod' (servers: lake, other)"
    doc = _contract_doc()
    del doc["servers"]
    (no_servers,) = run_tests(_write(tmp_path, doc, "n.odcs.yaml"))
    assert no_servers.error and "declares no servers" in no_servers.error


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("missing.odcs.yaml", "no such contract file: missing.odcs.yaml"),
        ("nothing-here", "no mesh found"),
        ("", "give a contract file"),
    ],
)
def test_bad_targets_outside_a_mesh(tmp_path, monkeypatch, target, message) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(MeshplaneError, match=message):
        run_tests(target)


def test_an_invalid_contract_file_is_a_usage_error(tmp_path) -> None:
    path = tmp_path / "bad.odcs.yaml"
    path.write_text("apiVersion: v3.1.0\nkind: DataContract\nid: x\n", encoding="utf-8")
    with pytest.raises(MeshplaneError, match="is not a valid contract") as info:
        run_tests(path)
    assert info.value.diagnostics


def test_an_unknown_engine_is_a_usage_error(tmp_path) -> None:
    with pytest.raises(MeshplaneError, match="unknown engine 'spork'"):
        run_tests(_write(tmp_path, _contract_doc()), engine="spork")


def test_progress_events(tmp_path) -> None:
    doc = _contract_doc()
    doc["schema"].append({"name": "u", "properties": [{"name": "x"}]})
    path = _write(tmp_path, doc)
    _data(tmp_path)
    events: list[object] = []
    run_tests(path, clock=lambda: NOW, progress=events.append)
    assert isinstance(events[0], RunStarted) and events[0].objects == 2
    assert [e.object for e in events if isinstance(e, ObjectDone)] == ["t", "u"]
    assert isinstance(events[-1], RunFinished)
    # object u has no data: its checks are reported, the run is not an error (t could be read)
    assert events[-1].run.result is Status.FAILED


# -- the example mesh ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mesh(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("holding") / "holding"
    shutil.copytree(EXAMPLE, root)
    generate_lake(root, root / "lake", rows=400, seed=7, now=NOW)
    return root


def test_the_example_mesh_passes_except_the_deliberate_violations(mesh) -> None:
    runs = run_tests(None, all_contracts=True, mesh_root=mesh, clock=lambda: NOW)
    assert len(runs) == 11
    by_id = {r.contract_id: r for r in runs}
    for cid, run in by_id.items():
        if cid == VIOLATING_CONTRACT:
            continue
        bad = [(c.spec.id, c.message) for c in run.checks if c.status in (Status.FAILED, Status.ERROR)]
        assert run.result in (Status.PASSED, Status.WARNING) and not bad, (cid, run.error, bad)
    violating = by_id[VIOLATING_CONTRACT]
    assert violating.result is Status.FAILED
    failed = {c.spec.id: c.observed for c in violating.checks if c.status is Status.FAILED}
    assert failed["responses.response_id.unique"] == VIOLATIONS["duplicate_response_ids"]
    assert failed["responses.campaign_id.required"] == VIOLATIONS["null_campaign_ids"]
    assert failed["responses.email.format"] == VIOLATIONS["invalid_emails"]
    assert failed["responses.response_type.invalidValues"] == VIOLATIONS["invalid_response_types"]
    assert "sla.freshness" in failed
    # every format of the example lake was read (parquet, csv, iceberg)
    formats = {d.format for r in runs for d in r.datasets}
    assert {"parquet", "csv", "iceberg"} <= formats


def test_targets_in_a_mesh(mesh, monkeypatch) -> None:
    monkeypatch.chdir(mesh / "domains")  # the mesh is found by walking up
    (one,) = run_tests("retail.sales.orders", clock=lambda: NOW)
    assert one.contract_id == "retail.sales.orders" and one.result is Status.PASSED
    product = run_tests("retail.sales", clock=lambda: NOW)
    assert sorted(r.contract_id or "" for r in product) == ["retail.sales.order_lines", "retail.sales.orders"]
    (by_file,) = run_tests(next((mesh / "domains" / "retail").rglob("orders.odcs.yaml")), clock=lambda: NOW)
    assert by_file.result is Status.PASSED  # relative paths resolve against the mesh lake root
    with pytest.raises(MeshplaneError, match="neither a contract file nor a contract or product id"):
        run_tests("retail.nothing")
    with pytest.raises(MeshplaneError, match="is a folder"):
        run_tests(str(mesh / "domains"))


@pytest.mark.parametrize(
    ("server_type", "setting", "value", "inside"),
    [
        ("local", "path", "retail/orders/*.parquet", True),
        ("local", "path", "{lake}/retail/orders.csv", True),
        ("local", "path", "retail/../../secrets.csv", False),
        ("local", "path", "/etc/passwd", False),
        ("local", "path", "link/data.csv", False),  # a symbolic link out of the lake
        ("local", "path", "~/data.csv", False),
        ("duckdb", "database", "warehouse.duckdb", True),
        ("duckdb", "database", "/srv/other.duckdb", False),
        ("postgres", "host", "db.example", True),  # not a local file: not the lake's business
    ],
)
def test_a_servers_runs_read_local_data_only_inside_the_lake(
    tmp_path: Path, server_type: str, setting: str, value: str, inside: bool
) -> None:
    lake = tmp_path / "lake"
    lake.mkdir()
    (lake / "link").symlink_to(tmp_path)
    server = Server.model_validate({"server": "s", "type": server_type, setting: value.format(lake=lake)})
    refused = outside_the_lake(server, lake, lake)
    assert (refused is None) is inside, refused
    if refused:
        assert refused.startswith(f"server 's', {setting}: ") and "outside the lake" in refused
