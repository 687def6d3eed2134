"""The lineage service below the API: the port index built at apply time, schema drift, group commit,
column usage verdicts for impact — on SQLite, and on PostgreSQL where the database matters.
"""

from __future__ import annotations

import json
import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from meshplane.access import Principal, Role
from meshplane.engines.types import type_family
from meshplane.errors import AccessDenied
from meshplane.lineage import parse_event
from meshplane.registry import Registry
from meshplane.registry import lineage as store
from meshplane.registry.graph import DownstreamConsumer
from meshplane.service import lineage as service
from meshplane.service.gitops import apply_mesh
from meshplane.service.impact import ChangedColumn, ColumnUsage, column_usage_in, impact_of, no_column_lineage
from meshplane.settings import get_settings

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "holding"
BREAKING = REPO / "examples" / "changes" / "customer.profiles.customers-1.1.0.odcs.yaml"
OPERATOR = Principal.local_admin("tests")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def applied(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Registry]:
    monkeypatch.delenv("MESHPLANE_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    mesh = tmp_path / "holding"
    shutil.copytree(EXAMPLE, mesh, ignore=shutil.ignore_patterns("lake", ".meshplane"))
    url = f"sqlite:///{tmp_path / 'r.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    with Registry(url) as registry:
        apply_mesh(mesh, registry=registry, actor="tests")
        yield registry


def mesh_of(registry: Registry) -> Path:
    with registry.read() as session:
        root = session.execute(sa.select(store.IndexBuild.mesh_root).order_by(store.IndexBuild.id.desc())).scalar()
    return Path(str(root))


def port(registry: Registry, name: str) -> str:
    with registry.read() as session:
        rows = store.load_index(session).rows
    return next(r["name"] for r in rows if f"{r['product']}/{r['port']}" == name)


def send(registry: Registry, *events: dict[str, Any]) -> None:
    outcome = service.receive_batch(registry, json.dumps(list(events)), OPERATOR)
    assert outcome.count(service.IngestStatus.FAILED) == 0, outcome.to_dict()


def event(
    job: str, inputs: list[dict[str, Any]], outputs: list[dict[str, Any]], at: str = "2026-11-20T10:00:00Z"
) -> dict[str, Any]:
    namespace, _, name = job.partition("/")
    return {
        "eventType": "COMPLETE", "eventTime": at, "producer": "https://example.org/tests",
        "run": {"runId": str(uuid.uuid4())}, "job": {"namespace": namespace, "name": name},
        "inputs": inputs, "outputs": outputs,
    }  # fmt: skip


# --- the index built at apply time ----------------------------------------------------------------------


def test_apply_builds_the_port_index_and_the_directory(applied: Registry) -> None:
    status = service.lineage_status(applied)
    index = status["index"]
    assert index["version"] is not None and index["rows"] == 11 and index["notes"] == []
    assert index["jobNamespaces"]["airflow-retail"] == "retail"
    lake = mesh_of(applied) / "lake"
    assert index["lakeRoots"] == [f"file#{lake}"]
    assert port(applied, "retail.sales/orders") == f"{lake}/retail/sales/orders"
    with applied.read() as session:
        stored = store.load_index(session)
    assert stored.owners["retail data team"] == "retail"
    assert status["counts"]["indexRows"] == 11


def test_a_new_contract_server_is_indexed_by_the_next_apply(applied: Registry) -> None:
    mesh = mesh_of(applied)
    contract = mesh / "domains/retail/products/catalog/contracts/products.odcs.yaml"
    text = contract.read_text(encoding="utf-8").replace(
        "version: 1.0.0\nstatus: active", "version: 1.1.0\nstatus: active"
    )
    text = text.replace(
        "servers:\n", "servers:\n  - server: warehouse\n    type: postgres\n    host: pim-db\n    port: 5432\n"
        "    database: pim\n    schema: export\n",
    )  # fmt: skip
    contract.write_text(text, encoding="utf-8")
    descriptor = mesh / "domains/retail/products/catalog/product.odps.yaml"
    descriptor.write_text(descriptor.read_text(encoding="utf-8").replace("    version: 1.0.0\n    contractId: retail.catalog", "    version: 1.1.0\n    contractId: retail.catalog"), encoding="utf-8")  # fmt: skip
    before = service.lineage_status(applied)["index"]["version"]
    apply_mesh(mesh, registry=applied, actor="tests")
    after = service.lineage_status(applied)["index"]
    # the PostgreSQL table is indexed by its full name and by the short names its server makes unambiguous
    assert after["version"] > before and after["rows"] == 14
    send(
        applied,
        event("airflow-finance/x", [{"namespace": "postgresql://PIM-DB:5432", "name": "pim.export.products"}], []),
    )
    service.derive_pending(applied)
    with applied.read() as session:
        product = session.execute(sa.select(store.RunDataset.product)).scalar()
    assert product == "retail.catalog"


def test_apply_indexes_the_repository_it_applied_not_what_is_on_disk_later(applied: Registry) -> None:
    from meshplane.mesh import load_mesh

    mesh = mesh_of(applied)
    repo = load_mesh(mesh)
    contract = mesh / "domains/retail/products/catalog/contracts/products.odcs.yaml"
    text = contract.read_text(encoding="utf-8").replace(
        "version: 1.0.0\nstatus: active", "version: 1.1.0\nstatus: active"
    )
    contract.write_text(text, encoding="utf-8")
    descriptor = mesh / "domains/retail/products/catalog/product.odps.yaml"
    descriptor.write_text(descriptor.read_text(encoding="utf-8").replace("    version: 1.0.0\n    contractId: retail.catalog", "    version: 1.1.0\n    contractId: retail.catalog"), encoding="utf-8")  # fmt: skip
    fresh = load_mesh(mesh)
    shutil.rmtree(mesh / "domains" / "retail")  # the files are gone: apply must not read them again
    result = apply_mesh(fresh, registry=applied, actor="tests")
    assert result.changed
    rows = {(r["product"], r["contract_version"]) for r in _index_rows(applied)}
    assert ("retail.catalog", "1.1.0") in rows
    assert repo.root == mesh


def _index_rows(registry: Registry) -> tuple[dict[str, str], ...]:
    with registry.read() as session:
        return store.load_index(session).rows


# --- schema drift ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("physical", "family"),
    [("VARCHAR(20)", "string"), ("bigint", "integer"), ("DECIMAL(10,2)", "number"), ("timestamp with time zone", "timestamp"),
     ("struct<a:int>", "object"), ("ARRAY<STRING>", "array"), ("BOOLEAN", "boolean"), ("geometry", None), (None, None)],
)  # fmt: skip
def test_physical_types_map_to_logical_types(physical: str | None, family: str | None) -> None:
    assert type_family(physical) == family


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ([("id", "VARCHAR"), ("amount", "DECIMAL(10,2)"), ("at", "DATE")], []),
        ([("ID", "varchar"), ("Amount", "INTEGER"), ("at", "TIMESTAMP")], []),  # case, integer is a number, date~timestamp
        ([("id", "VARCHAR"), ("at", "DATE")], [("missing", "amount")]),
        ([("id", "VARCHAR"), ("amount", "DOUBLE"), ("at", "DATE"), ("extra", "INT")], [("extra", "extra")]),
        ([("id", "BIGINT"), ("amount", "VARCHAR"), ("at", "BOOLEAN")], [("type", "id"), ("type", "amount"), ("type", "at")]),
        ([("id", "geometry"), ("amount", None), ("at", "DATE")], []),  # unknown types are not judged
    ],
)  # fmt: skip
def test_schema_drift_compares_names_and_type_families(fields: list[Any], expected: list[tuple[str, str]]) -> None:
    columns = {"id": "string", "amount": "number", "at": "date"}
    assert [(d["kind"], d["column"]) for d in service.schema_drift(fields, columns)] == expected


# --- receiving ---------------------------------------------------------------------------------------------------


def test_only_writers_may_send(applied: Registry) -> None:
    reader = Principal("r", Role.READER)
    with pytest.raises(AccessDenied):
        service.receive_event(applied, json.dumps(event("a/b", [], [])), reader)
    with pytest.raises(AccessDenied):
        service.receive_batch(applied, "[]", Principal.anonymous())


def test_concurrent_senders_store_every_event_once(applied: Registry) -> None:
    lake = mesh_of(applied) / "lake"
    events = [
        event("airflow-finance/j", [{"namespace": "file", "name": f"{lake}/retail/sales/orders"}], [])
        for _ in range(60)
    ]
    statuses: list[list[service.IngestStatus]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(12)

    def sender(k: int) -> None:
        mine = [parse_event(e) for e in events[k * 5 : k * 5 + 5]] + [parse_event(events[(k * 7) % 60])]
        barrier.wait()
        got = service.ingest(applied, mine, actor="t")
        with lock:
            statuses.append(got)

    threads = [threading.Thread(target=sender, args=(k,)) for k in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    flat = [s for got in statuses for s in got]
    assert flat.count(service.IngestStatus.STORED) == 60 and flat.count(service.IngestStatus.DUPLICATE) == 12
    with applied.read() as session:
        assert store.lineage_counts(session)["events"] == 60


# --- column usage and impact ------------------------------------------------------------------------------------


def _column_lineage(applied: Registry) -> None:
    """customer360 reads customers.segment; retail sales reads customers.customer_id and country_code (filter)."""
    customers = port(applied, "customer.profiles/customers")

    def reading(consumer: str, job: str, columns: dict[str, str], filters: list[str]) -> dict[str, Any]:
        target = port(applied, consumer)
        fields = {
            out: {"inputFields": [{"namespace": "file", "name": customers, "field": c}]} for out, c in columns.items()
        }
        dataset = [{"namespace": "file", "name": customers, "field": c} for c in filters]
        output = {
            "namespace": "file",
            "name": target,
            "facets": {"columnLineage": {"fields": fields, "dataset": dataset}},
        }
        return event(job, [{"namespace": "file", "name": customers}], [output])

    send(
        applied,
        reading("customer.customer360/customer_summary", "airflow-customer/c360", {"segment": "segment"}, []),
        reading("retail.sales/orders", "airflow-retail/sales", {"customer_id": "customer_id"}, ["country_code"]),
    )
    service.derive_pending(applied)  # readers read what the worker derived


def test_impact_lists_readers_of_the_changed_column_as_affected_and_the_others_as_not_using(applied: Registry) -> None:
    _column_lineage(applied)
    report = impact_of(applied, "customer.profiles.customers", against=BREAKING)
    verdicts = {hit.consumer.product: hit for hit in report.consumers if hit.consumer.depth == 1}
    assert verdicts["customer.customer360"].usage is ColumnUsage.AFFECTED
    assert verdicts["retail.sales"].usage is ColumnUsage.NOT_USING
    assert "country_code, customer_id" in verdicts["retail.sales"].reason
    # no column lineage of campaign performance on customers: it stays affected
    assert verdicts["marketing.campaign_performance"].usage is ColumnUsage.AFFECTED
    assert "no column-level lineage" in verdicts["marketing.campaign_performance"].reason
    (column,) = report.columns
    assert {p: v.usage for p, v in column.verdicts}["retail.sales"] is ColumnUsage.NOT_USING
    explicit = impact_of(applied, "customer.profiles.customers", against=BREAKING, resolver=no_column_lineage)
    assert all(hit.usage is ColumnUsage.AFFECTED for hit in explicit.consumers)


def test_the_resolver_judges_objects_properties_and_nested_fields(applied: Registry) -> None:
    with applied.read() as session:
        assert column_usage_in(session) is no_column_lineage
    _column_lineage(applied)
    service.derive_pending(applied)  # what impact and plan do before they read column usage
    with applied.read() as session:
        resolve = column_usage_in(session)

    def verdict(consumer: str, obj: str | None, prop: str | None) -> ColumnUsage:
        who = DownstreamConsumer(
            consumer, "d", None, 1, ("customer.profiles", consumer), "customer.profiles.customers", 1, "customers"
        )
        return resolve(who, ChangedColumn(obj, prop, ("rule",), ("message",))).usage

    assert verdict("retail.sales", "customers", "customer_id") is ColumnUsage.AFFECTED
    assert verdict("retail.sales", "customers", "country_code") is ColumnUsage.AFFECTED  # read as a filter
    assert verdict("retail.sales", "customers", "email") is ColumnUsage.NOT_USING
    assert verdict("retail.sales", "customers", None) is ColumnUsage.AFFECTED  # the whole object
    assert verdict("retail.sales", "other_object", None) is ColumnUsage.NOT_USING
    assert verdict("retail.sales", None, None) is ColumnUsage.AFFECTED  # a contract-level change
    assert verdict("retail.sales", "customers", "customer_id.inner") is ColumnUsage.AFFECTED  # nested in a read column
    assert verdict("finance.ledger", "customers", "email") is ColumnUsage.AFFECTED  # no column lineage


# --- the modules -------------------------------------------------------------------------------------------------


def test_the_lineage_modules_are_documented_and_small() -> None:
    import inspect

    import meshplane.api.routes.lineage as routes
    import meshplane.cli.commands.lineage as commands
    import meshplane.demo.simulate as simulate
    from meshplane.service import movements

    for module in (store, service, movements, simulate, routes, commands):
        assert inspect.getdoc(module), module.__name__
        lines = Path(inspect.getfile(module)).read_text(encoding="utf-8").count("\n")
        assert lines < 800, f"{module.__name__} has {lines} lines"
        for name in getattr(module, "__all__", []):
            value = getattr(module, name)
            if inspect.isclass(value) or inspect.isfunction(value):
                assert inspect.getdoc(value), f"{module.__name__}.{name} has no docstring"
