"""The Spark engine: every file format, table formats through their snapshot, catalog tables,
engine selection, NaN without Parquet statistics, the session's life cycle and install hints.

One Spark session serves every test of the test session (`spark` fixture); tests that need no
JVM (hints, settings, selection) do not request it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from test_engine_duckdb_formats import EXPECTED, NOW, WRITERS, _contract, _table
from test_engine_spark_snapshots import write_delta_with_deletion_vector
from typer.testing import CliRunner

from meshplane.diagnostics import MeshplaneError
from meshplane.engines import registry
from meshplane.engines.base import quoted_table
from meshplane.engines.spark import INSTALL_HINT, SparkEngine
from meshplane.service.testing import run_contract
from meshplane.settings import get_settings
from meshplane.spec.loader import load_contract
from meshplane.spec.odcs import Server

ROOT_CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"


@pytest.fixture(scope="session")
def spark(pytestconfig: pytest.Config) -> Iterator[SparkEngine]:
    """The registered Spark engine, its session started once for the whole test session."""
    engine = registry.engine_named("spark")
    assert isinstance(engine, SparkEngine)
    problem = engine.missing_requirement()
    # tests/conftest.py's require_service (skip outside CI, fail in CI); every conftest.py is the
    # module `conftest`, so the root one is found among the plugins pytest loaded
    (root,) = [p for p in pytestconfig.pluginmanager.get_plugins() if _is_root_conftest(p)]
    root.require_service(problem is None, f"Spark cannot run here: {problem}")
    engine.session()
    yield engine
    engine.stop()


def _is_root_conftest(plugin: object) -> bool:
    path = getattr(plugin, "__file__", None)
    return bool(path) and Path(str(path)).resolve() == ROOT_CONFTEST


def _run(folder: Path, server: dict[str, Any], **kwargs: Any):
    loaded = load_contract(_contract(folder, server))
    assert loaded.ok and loaded.model is not None, loaded.diagnostics
    return run_contract(loaded.model, base_dir=folder, clock=lambda: NOW, **kwargs)


def _checks(run) -> dict[str, Any]:
    return {c.spec.id: c for c in run.checks}


# -- selection, hints, settings (no JVM) -----------------------------------------------------------


def test_spark_serves_files_and_databricks() -> None:
    local, databricks = Server(server="s", type="local"), Server(server="s", type="databricks")
    assert registry.engine_for(local).name == "duckdb"  # the server type's preferred engine
    assert registry.engine_for(local, requested="spark").name == "spark"
    assert registry.engine_for(databricks).name == "spark"
    with pytest.raises(MeshplaneError, match="engine 'spark' cannot serve server 's' of type 'postgres'"):
        registry.engine_for(Server(server="s", type="postgres"), requested="spark")


def test_missing_pyspark_gives_the_install_hint(monkeypatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pyspark" else real(name, *a))
    assert SparkEngine().missing_requirement() == f"PySpark is not installed: {INSTALL_HINT}"
    with pytest.raises(MeshplaneError, match=r"pip install 'meshplane\[spark\]'"):
        registry.engine_for(Server(server="s", type="databricks"))


def test_missing_java_says_what_to_do(monkeypatch) -> None:
    import meshplane.engines.spark as module

    monkeypatch.setattr(module, "_java_available", lambda: False)
    problem = SparkEngine().missing_requirement()
    assert problem and "Java 17" in problem and "MESHPLANE_SPARK_REMOTE" in problem


class _Builder:
    """Records how a session would be built (no JVM, no network)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def __getattr__(self, name: str):
        def record(*args: Any) -> _Builder:
            self.calls.append((name, args))
            return self

        return record

    def getOrCreate(self) -> Any:
        self.calls.append(("getOrCreate", ()))
        return _FakeSession()


class _FakeSession:
    class sparkContext:
        @staticmethod
        def setLogLevel(level: str) -> None:
            pass

    def stop(self) -> None:
        pass


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, ("master", ("local[*]",))),
        ({"MESHPLANE_SPARK_MASTER": "spark://head:7077"}, ("master", ("spark://head:7077",))),
        ({"MESHPLANE_SPARK_REMOTE": "sc://head:15002"}, ("remote", ("sc://head:15002",))),
    ],
)
def test_the_session_comes_from_settings(monkeypatch, env, expected) -> None:
    from pyspark.sql import SparkSession

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    builder = _Builder()
    monkeypatch.setattr(SparkSession, "builder", builder)
    monkeypatch.setattr(SparkSession, "getActiveSession", classmethod(lambda cls: None))
    engine = SparkEngine()
    try:
        engine.session()
        assert expected in builder.calls
        names = [name for name, _ in builder.calls]
        assert ("remote" in names) != ("master" in names)
        if expected[0] == "master":  # quiet JVM logs and no console progress bars
            options = dict(args for name, args in builder.calls if name == "config")
            assert "log4j2.configurationFile" in options["spark.driver.extraJavaOptions"]
            assert options["spark.ui.showConsoleProgress"] == "false"
    finally:
        engine.stop()
        get_settings.cache_clear()


def test_databricks_table_names_are_quoted_parts() -> None:
    ref = quoted_table("main", "sales eu", "order`s")
    assert SparkEngine().table_sql(ref) == "`main`.`sales eu`.`order``s`"


# -- runs on Spark ------------------------------------------------------------------------------------

SPARK_WRITERS = {name: writer for name, writer in WRITERS.items() if name != "duckdb"}


@pytest.mark.spark
@pytest.mark.parametrize("fmt", list(SPARK_WRITERS))
def test_every_format_gives_the_duckdb_results(spark, tmp_path, fmt) -> None:
    run = _run(tmp_path, SPARK_WRITERS[fmt](tmp_path), engine="spark")
    assert run.error is None and run.engine == "spark"
    got = _checks(run)
    for check_id, (status, observed) in EXPECTED.items():
        assert got[check_id].status.value == status, (check_id, got[check_id].message)
        if observed is not None:
            assert got[check_id].observed == observed, (check_id, got[check_id].message)
    (dataset,) = run.datasets
    assert dataset.format == ("parquet" if fmt.startswith("parquet") else fmt)
    if fmt in ("delta", "iceberg"):
        assert dataset.snapshot  # provenance: the version read


@pytest.mark.spark
def test_csv_keeps_declared_strings_as_text(spark, tmp_path) -> None:
    (tmp_path / "orders.csv").write_text("zip,qty\n01234,1\n00042,x\n", encoding="utf-8")
    server = {"server": "s", "type": "local", "path": "orders.csv", "format": "csv"}
    obj = {"name": "orders", "properties": [
        {"name": "zip", "logicalType": "string", "logicalTypeOptions": {"pattern": "^[0-9]{5}$"}},
        {"name": "qty", "logicalType": "integer"}]}  # fmt: skip
    path = tmp_path / "c.odcs.yaml"
    path.write_text(yaml.safe_dump({"apiVersion": "v3.1.0", "kind": "DataContract", "id": "c", "version": "1",
                                    "status": "active", "servers": [server], "schema": [obj]}))  # fmt: skip
    contract = load_contract(path).model
    assert contract is not None
    got = _checks(run_contract(contract, base_dir=tmp_path, engine="spark", clock=lambda: NOW))
    assert got["orders.zip.pattern"].status.value == "passed"  # leading zeros kept
    assert (got["orders.qty.schema.type"].status.value, got["orders.qty.schema.type"].observed) == ("failed", 1)


@pytest.mark.spark
def test_partitioned_delta_reads_partition_values_from_paths(spark, tmp_path) -> None:
    from deltalake import write_deltalake

    table = _table().append_column("day", pa.array([1, 1, 2, None], pa.int32()))
    write_deltalake(str(tmp_path / "orders"), table, partition_by=["day"])
    run = _run(tmp_path, {"type": "local", "path": "orders", "format": "delta"}, engine="spark")
    got = _checks(run)
    assert got["orders.id.unique"].observed == 1 and got["orders.rowCount"].observed == 4
    assert got["orders.schema.undeclared"].observed == ["day"]
    session = spark.connect(Server(server="s", type="local", path="orders", format="delta"), tmp_path)
    try:
        from meshplane.engines.base import DatasetRequest

        dataset = session.open(DatasetRequest("orders", "orders"))
        assert dataset.column("day") is not None and dataset.column("day").raw_type == "int"
        rows = session.execute("SELECT day, COUNT(*) FROM orders GROUP BY day ORDER BY day NULLS FIRST").rows
        assert rows == [(None, 1), (1, 2), (2, 1)]
    finally:
        session.close()


@pytest.mark.spark
def test_partitioned_iceberg_reads_its_data_files(spark, tmp_path) -> None:
    from pyiceberg.catalog.sql import SqlCatalog

    catalog = SqlCatalog("t", uri=f"sqlite:///{tmp_path}/catalog.db", warehouse=tmp_path.as_uri())
    catalog.create_namespace("shop")
    table = catalog.create_table("shop.orders", schema=_table().schema)
    with table.update_spec() as spec:
        spec.add_identity("name")
    table.append(_table())
    location = Path(table.location().removeprefix("file://"))
    assert len(list((location / "data").glob("name=*"))) >= 3  # one folder per partition value
    run = _run(tmp_path, {"type": "local", "path": str(location.relative_to(tmp_path)), "format": "iceberg"},
               engine="spark")  # fmt: skip
    got = _checks(run)
    for check_id, (status, observed) in EXPECTED.items():
        assert got[check_id].status.value == status, (check_id, got[check_id].message)
        assert observed is None or got[check_id].observed == observed, (check_id, got[check_id].message)


@pytest.mark.spark
def test_delta_with_deletion_vectors_is_refused_not_miscounted(spark, tmp_path) -> None:
    write_delta_with_deletion_vector(tmp_path / "orders")
    run = _run(tmp_path, {"type": "local", "path": "orders", "format": "delta"}, engine="spark")
    assert run.result.value == "error"
    assert run.error and "deletion vectors" in run.error


@pytest.mark.spark
def test_databricks_server_reads_catalog_tables(spark, tmp_path) -> None:
    base = spark.session()
    pq.write_table(_table(), tmp_path / "orders.parquet")
    base.sql(f"CREATE DATABASE IF NOT EXISTS mp_sales LOCATION '{tmp_path / 'db'}'")
    base.sql(f"CREATE TABLE mp_sales.orders USING parquet LOCATION '{tmp_path}/orders.parquet'")
    try:
        server = {"type": "databricks", "catalog": "spark_catalog", "schema": "mp_sales"}
        run = _run(tmp_path, server)  # the server type picks Spark
        assert run.engine == "spark" and run.error is None
        got = _checks(run)
        assert got["orders.id.unique"].observed == 1 and got["orders.sql"].observed == 2
        assert run.datasets[0].location == "`spark_catalog`.`mp_sales`.`orders`"
        missing = _run(tmp_path, {**server, "schema": "nope"})
        assert missing.error and "`spark_catalog`.`nope`.`orders` not found" in missing.error
    finally:
        base.sql("DROP DATABASE IF EXISTS mp_sales CASCADE")


@pytest.mark.spark
def test_nan_rows_are_found_despite_parquet_statistics(spark, tmp_path) -> None:
    """Parquet min/max statistics leave NaN out; pushed-down filters would skip its row group."""
    pq.write_table(pa.table({"v": [1.0, float("nan"), 50.0]}), tmp_path / "t.parquet")
    server = {"server": "s", "type": "local", "path": "t.parquet", "format": "parquet"}
    obj = {"name": "t", "properties": [{"name": "v", "logicalType": "number", "logicalTypeOptions": {"maximum": 100}}],
           "quality": [{"type": "sql", "query": "SELECT COUNT(*) FROM (SELECT v FROM {object} WHERE v > 100) big",
                        "mustBe": 0}]}  # fmt: skip
    path = tmp_path / "c.odcs.yaml"
    path.write_text(yaml.safe_dump({"apiVersion": "v3.1.0", "kind": "DataContract", "id": "c", "version": "1",
                                    "status": "active", "servers": [server], "schema": [obj]}))  # fmt: skip
    contract = load_contract(path).model
    assert contract is not None
    got = _checks(run_contract(contract, base_dir=tmp_path, engine="spark", clock=lambda: NOW))
    assert got["t.v.maximum"].observed == 1
    assert got["t.v.maximum"].samples and str(got["t.v.maximum"].samples[0]["v"]) == "nan"
    assert got["t.sql"].observed == 1  # a query of its own, with a WHERE


@pytest.mark.spark
def test_one_session_serves_every_run_and_views_do_not_leak(spark, tmp_path) -> None:
    base = spark.session()
    first = _run(tmp_path, WRITERS["parquet"](tmp_path), engine="spark")
    second = _run(tmp_path, WRITERS["parquet"](tmp_path), engine="spark")
    assert first.error is None and second.error is None
    assert spark.session() is base  # no second JVM, no second session
    assert [t.name for t in base.catalog.listTables() if t.isTemporary] == []
    adopted = SparkEngine()  # another engine finds the active session and leaves it running
    assert adopted.session() is base
    adopted.stop()
    assert base.sql("SELECT 1 AS one").collect()[0].one == 1


@pytest.mark.spark
def test_cli_json_on_spark_is_clean(spark, tmp_path) -> None:
    from meshplane.cli.app import app

    path = _contract(tmp_path, {"server": "s", **WRITERS["parquet"](tmp_path)})
    result = CliRunner().invoke(app, ["test", str(path), "--engine", "spark", "--format", "json", "-q"])
    document = json.loads(result.stdout)
    assert result.exit_code == 1 and document["engine"] == "spark"
    assert {c["id"]: c["status"] for c in document["checks"]}["orders.id.unique"] == "failed"
