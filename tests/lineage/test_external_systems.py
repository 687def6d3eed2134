"""Known non-lake systems: mesh.yaml ``lineage.externalSystems`` classifies datasets of a Kafka cluster, a SaaS API or
an operational database as external — not unresolved, listed as ``external: <description>`` by ``lineage unresolved``
and ``movements`` — with lint errors naming file and line for bad entries, and a change of the setting part of
plan/apply (admin-owned like every mesh.yaml setting). On SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from meshplane.access import Principal
from meshplane.cli.app import app
from meshplane.lineage import DatasetIdentity
from meshplane.lineage.external import ExternalSystem, external_system, external_systems
from meshplane.registry import Registry
from meshplane.registry import lineage as store
from meshplane.service import lineage as service
from meshplane.service.derivation import derive_pending
from meshplane.service.gitops import apply_mesh, plan_mesh
from meshplane.service.linting import lint_path
from meshplane.service.unresolved import unresolved
from meshplane.settings import get_settings

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "holding"
OPERATOR = Principal.local_admin("tests")
runner = CliRunner()

SYSTEMS = """  externalSystems:
    - namespace: KAFKA://Broker:9092
      name: "orders.*"
      description: the shop's order events (Kafka)
    - namespace: postgres://ops-db:5432
      description: the warehouse's operational database
"""


def with_systems(folder: Path, block: str = SYSTEMS) -> Path:
    mesh = folder / "mesh.yaml"
    mesh.write_text(mesh.read_text(encoding="utf-8").replace("lineage:\n", "lineage:\n" + block, 1), encoding="utf-8")
    return folder


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def applied(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Registry]:
    for name in ("MESHPLANE_DATABASE_URL", "MESHPLANE_TOKEN", "MESHPLANE_SERVER_URL"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    folder = with_systems(Path(shutil.copytree(EXAMPLE, tmp_path / "holding", ignore=shutil.ignore_patterns("lake", ".meshplane"))))  # fmt: skip
    url = f"sqlite:///{tmp_path / 'r.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    monkeypatch.setenv("MESHPLANE_DATABASE_URL", url)
    with Registry(url) as registry:
        apply_mesh(folder, registry=registry, actor="tests")
        yield registry
    get_settings.cache_clear()


def send(registry: Registry, inputs: list[tuple[str, str]], outputs: list[tuple[str, str]]) -> None:
    event = {
        "eventType": "COMPLETE", "eventTime": "2026-11-20T10:00:00Z", "producer": "https://example.org/tests",
        "run": {"runId": str(uuid.uuid4())}, "job": {"namespace": "airflow-finance", "name": "ingest"},
        "inputs": [{"namespace": n, "name": s} for n, s in inputs],
        "outputs": [{"namespace": n, "name": s} for n, s in outputs],
    }  # fmt: skip
    outcome = service.receive_batch(registry, json.dumps([event]), OPERATOR)
    assert outcome.count(service.IngestStatus.FAILED) == 0
    derive_pending(registry)


def names(items: Any) -> set[str]:
    return {f"{i.namespace}#{i.name}" for i in items}


# --- the rules --------------------------------------------------------------------------------------------------


def test_a_system_matches_its_canonical_namespace_and_name_glob() -> None:
    kafka = ExternalSystem.of("KAFKA://Broker:9092", "orders.*", "order events")
    assert kafka.namespace == "kafka://broker" and kafka.label == "order events"  # Kafka's default port dropped
    assert kafka.matches(DatasetIdentity("kafka://broker", "orders.created"))
    assert not kafka.matches(DatasetIdentity("kafka://broker", "payments.created"))
    assert not kafka.matches(DatasetIdentity("kafka://other:9092", "orders.created"))
    assert ExternalSystem.of("kafka://b:9092", "a_b?%").like() == "a\\_b_\\%"
    whole = ExternalSystem.of("https://api.example.com")
    assert whole.matches(DatasetIdentity("https://api.example.com", "/v1/customers")) and whole.like() is None
    assert whole.label == "https://api.example.com"
    settings = {"lineage": {"externalSystems": [{"namespace": "kafka://b:9092"}, {"nothing": 1}]}}
    (only,) = external_systems(settings)
    assert external_system((only,), DatasetIdentity("kafka://b", "x")) is only
    assert external_systems(None) == () and external_systems({"lineage": {}}) == ()


def test_bad_entries_are_lint_errors_naming_file_and_line(tmp_path: Path) -> None:
    folder = Path(shutil.copytree(EXAMPLE, tmp_path / "holding", ignore=shutil.ignore_patterns("lake", ".meshplane")))
    entries = [
        "    - namespace: kafka://broker:9092\n",
        "    - namespace: kafka://broker\n",  # the same system (Kafka's default port)
        "    - namespace: 'kafka://*:9092'\n",  # a wildcard in the namespace
        "    - namespace: file\n",  # covers the lake
        "    - namespace: s3://bucket\n      name: 'x[0-9]'\n",  # '[' in the glob
    ]
    with_systems(folder, "  externalSystems:\n" + "".join(entries))
    text = (folder / "mesh.yaml").read_text(encoding="utf-8").splitlines()

    def line(fragment: str) -> int:
        return next(n for n, t in enumerate(text, 1) if fragment in t)

    report = lint_path(folder)
    found = {d.line: d.message for d in report.diagnostics if d.code == "invalid-external-system"}
    assert set(found) == {line("namespace: kafka://broker") + 1, line("kafka://*"), line("namespace: file"),
                          line("x[0-9]")}, found  # fmt: skip
    assert "externalSystems[0]" in found[line("kafka://*") - 1] and "covers the lake" in found[line("namespace: file")]
    result = runner.invoke(app, ["lint", str(folder)])
    assert result.exit_code == 1 and f"mesh.yaml:{line('namespace: file')}" in result.output, result.output


def test_an_entry_without_namespace_is_a_schema_error(tmp_path: Path) -> None:
    folder = Path(shutil.copytree(EXAMPLE, tmp_path / "holding", ignore=shutil.ignore_patterns("lake", ".meshplane")))
    with_systems(folder, "  externalSystems:\n    - name: orders\n")
    errors = [d for d in lint_path(folder).diagnostics if d.file and d.file.endswith("mesh.yaml")]
    assert errors and "namespace" in errors[0].message and errors[0].line is not None


def test_good_entries_lint_clean(tmp_path: Path) -> None:
    folder = Path(shutil.copytree(EXAMPLE, tmp_path / "holding", ignore=shutil.ignore_patterns("lake", ".meshplane")))
    report = lint_path(with_systems(folder))
    assert [d for d in report.diagnostics if d.file and d.file.endswith("mesh.yaml")] == []


# --- classified when read --------------------------------------------------------------------------------------


def test_datasets_of_known_systems_are_external_not_unresolved(applied: Registry) -> None:
    send(
        applied,
        inputs=[("kafka://broker:9092", "orders.created"), ("kafka://broker:9092", "payments.created"),
                ("postgresql://OPS-DB:5432", "wms.public.stock")],
        outputs=[("s3://nowhere", "exports/x")],
    )  # fmt: skip
    report = unresolved(applied)
    assert names(report.datasets) == {"kafka://broker#payments.created", "s3://nowhere#exports/x"}
    assert report.summary()["datasets"] == 2
    external = {f"{i.namespace}#{i.name}": i.external for i in report.external}
    assert external == {
        "kafka://broker#orders.created": "the shop's order events (Kafka)",
        "postgres://ops-db#wms.public.stock": "the warehouse's operational database",
    }
    assert report.to_dict()["external"][0]["external"] in external.values()
    assert service.lineage_status(applied)["counts"]["events"] == 1

    moved = runner.invoke(app, ["movements", "--format", "json"])
    assert moved.exit_code == 0, moved.output
    document = json.loads(moved.stdout)
    assert document["unresolved"]["datasets"] == 2
    assert {f"{i['namespace']}#{i['name']}": i["external"] for i in document["external"]} == external
    table = runner.invoke(app, ["lineage", "unresolved"])
    assert "external: the warehouse's operational database" in table.output, table.output


def _mesh_root(registry: Registry) -> Path:
    with registry.read() as session:
        query = sa.select(store.IndexBuild.mesh_root).order_by(store.IndexBuild.id.desc())
        return Path(str(session.execute(query).scalar()))


def test_removing_a_system_is_a_mesh_change_and_its_datasets_are_unresolved_again(applied: Registry) -> None:
    send(applied, inputs=[("kafka://broker:9092", "orders.created")], outputs=[])
    assert unresolved(applied).datasets == ()
    folder = _mesh_root(applied)
    mesh = folder / "mesh.yaml"
    mesh.write_text(mesh.read_text(encoding="utf-8").replace(SYSTEMS, ""), encoding="utf-8")
    plan = plan_mesh(folder, registry=applied)
    assert "lineage.externalSystems" in json.dumps(plan.to_dict())
    apply_mesh(folder, registry=applied, actor="tests")
    assert names(unresolved(applied).datasets) == {"kafka://broker#orders.created"}
    assert unresolved(applied).external == ()
