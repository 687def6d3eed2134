"""One scan per object, failure isolation, samples and masking."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from checks_support import NOW, check, contract_doc, run_doc, write_contract
from sqlglot import exp

from meshplane.checks import compile_contract, run_checks
from meshplane.checks.model import CheckResult, Status
from meshplane.engines.base import Dataset, DatasetRequest, QueryResult, Session
from meshplane.engines.duckdb import DuckDBEngine
from meshplane.settings import get_settings
from meshplane.spec.loader import load_contract


class SpySession(Session):
    """Wraps a real session and records every query it runs."""

    def __init__(self, inner: Session) -> None:
        super().__init__(inner.engine)
        self.inner = inner
        self.queries: list[str] = []

    def open(self, request: DatasetRequest) -> Dataset:
        return self.inner.open(request)

    def execute(self, query: exp.Expr | str) -> QueryResult:
        sql = query if isinstance(query, str) else self.engine.render(query)
        self.queries.append(sql)
        return self.inner.execute(query)

    def close(self) -> None:
        self.inner.close()


def _run(folder: Path, doc: dict, tables: dict[str, pa.Table]) -> tuple[list[CheckResult], SpySession]:
    for name, table in tables.items():
        pq.write_table(table, folder / f"{name}.parquet")
    loaded = load_contract(write_contract(folder, doc))
    assert loaded.ok and loaded.model is not None, loaded.diagnostics
    contract = loaded.model
    engine = DuckDBEngine()
    assert contract.servers
    spy = SpySession(engine.connect(contract.servers[0], folder))
    with spy:
        outcome = run_checks(contract, compile_contract(contract), spy, engine=engine, now=NOW, sample_rows=3)
    return outcome.results, spy


BIG_OBJECT = {
    "name": "orders",
    "properties": [
        {"name": "id", "logicalType": "integer", "required": True, "unique": True, "primaryKey": True},
        {"name": "email", "logicalType": "string", "classification": "PII",
         "logicalTypeOptions": {"format": "email", "maxLength": 40},
         "quality": [{"metric": "nullValues", "unit": "percent", "mustBeLessThan": 50}]},
        {"name": "amount", "logicalType": "number", "classification": "confidential",
         "logicalTypeOptions": {"minimum": 0, "maximum": 100},
         "quality": [{"type": "sql", "query": "SELECT COUNT(*) FROM {object} WHERE {property} > 50", "mustBe": 0}]},
        {"name": "status", "logicalType": "string", "classification": "public",
         "quality": [{"metric": "invalidValues", "arguments": {"validValues": ["a", "b"]}, "mustBe": 0},
                     {"metric": "missingValues", "arguments": {"missingValues": [""]}, "mustBe": 0}]},
        {"name": "ts", "logicalType": "timestamp"},
    ],
    "quality": [{"metric": "rowCount", "mustBeGreaterThan": 0},
                {"metric": "duplicateValues", "arguments": {"properties": ["email", "status"]}, "mustBe": 0}],
}  # fmt: skip


def _orders() -> pa.Table:
    return pa.table(
        {
            "id": [1, 2, 2, 4, 5, 6],
            "email": ["a@x.org", "bad", None, "d@x.org", "e@x.org", "f@x.org"],
            "amount": [1.0, 70.0, -1.0, 3.0, 200.0, 5.0],
            "status": ["a", "b", "c", "", "a", "b"],
            "ts": pa.array([NOW] * 6, pa.timestamp("us", tz="UTC")),
        }
    )


def test_all_aggregate_checks_of_an_object_run_in_one_select(tmp_path) -> None:
    doc = contract_doc(
        [BIG_OBJECT], slaProperties=[{"property": "freshness", "value": 1, "unit": "d", "element": "orders.ts"}]
    )
    results, spy = _run(tmp_path, doc, {"orders": _orders()})
    scans = [q for q in spy.queries if " WHERE " not in q.split(" FROM ", 1)[1]]
    assert len(scans) == 1, spy.queries
    scan = scans[0]
    # every aggregate check contributed to it, the folded SQL rule and the SLA included
    assert "COUNT(DISTINCT" in scan and "REGEXP_MATCHES" in scan and "MAX(" in scan and '"amount" > 50' in scan
    assert scan.count("COUNT(*) AS") == 1, "identical aggregates are computed once"
    # one more query fetched the samples of every failed check (bounded by LIMIT, 3 rows each)
    samples = [q for q in spy.queries if q not in scans]
    failed = [r for r in results if r.status in (Status.FAILED, Status.WARNING) and r.samples is not None]
    assert len(samples) == 1 and samples[0].endswith(f"LIMIT {3 * len(failed)}"), samples
    assert all(r.samples and len(r.samples) <= 3 for r in failed)


def test_passing_checks_fetch_no_samples(tmp_path) -> None:
    table = pa.table({"id": [1, 2, 3]})
    obj = {"name": "t", "properties": [{"name": "id", "required": True, "unique": True}]}
    results, spy = _run(tmp_path, contract_doc([obj]), {"t": table})
    assert all(r.status is Status.PASSED for r in results)
    assert len(spy.queries) == 1
    assert all(r.samples is None for r in results)


def test_samples_are_masked_and_limited(tmp_path) -> None:
    run = run_doc(tmp_path, contract_doc([BIG_OBJECT]), {"orders": _orders()})
    minimum = check(run, "orders.amount.minimum")
    assert minimum.status is Status.FAILED and minimum.samples
    assert minimum.samples == [{"id": 2, "email": "***", "amount": "***", "status": "c", "ts": NOW}]
    pk = check(run, "orders.primaryKey")
    assert pk.samples is not None and len(pk.samples) == 2
    assert all(row["email"] == "***" for row in pk.samples)
    assert len(check(run, "orders.status.invalidValues").samples or []) == 2  # "c" and ""
    limit = get_settings().sample_rows
    assert all(len(c.samples or []) <= limit for c in run.checks)


def test_a_value_that_cannot_be_cast_fails_only_its_check(tmp_path) -> None:
    (tmp_path / "t.csv").write_text("id,amount,day\n1,10.5,2026-01-01\n2,abc,2026-01-02\n3,7,not a date\n")
    props = [
        {"name": "id", "logicalType": "integer", "required": True},
        {"name": "amount", "logicalType": "number", "logicalTypeOptions": {"minimum": 0}},
        {"name": "day", "logicalType": "date", "logicalTypeOptions": {"minimum": "2025-01-01"}},
    ]
    run = run_doc(tmp_path, contract_doc([{"name": "t", "properties": props}], path="t.csv", fmt="csv"))
    assert check(run, "t.id.schema.type").status is Status.PASSED
    amount_type = check(run, "t.amount.schema.type")
    assert (amount_type.status, amount_type.observed) == (Status.FAILED, 1)
    assert amount_type.samples and amount_type.samples[0]["amount"] == "abc"
    assert check(run, "t.amount.minimum").status is Status.PASSED  # 10.5 and 7 are >= 0
    assert check(run, "t.day.schema.type").observed == 1
    assert check(run, "t.day.minimum").status is Status.PASSED
    assert check(run, "t.id.required").status is Status.PASSED


def test_an_expression_the_engine_rejects_errors_only_its_check(tmp_path) -> None:
    obj = {
        "name": "t",
        "properties": [{"name": "v", "logicalType": "string", "required": True}],
        "quality": [
            {"type": "sql", "query": "SELECT SUM(CAST(v AS INTEGER)) FROM t", "mustBe": 0},  # folded, fails at run time
            {"metric": "rowCount", "mustBe": 2},
        ],
    }
    results, _spy = _run(tmp_path, contract_doc([obj]), {"t": pa.table({"v": ["1", "x"]})})
    by_id = {r.spec.id: r for r in results}
    assert by_id["t.sql"].status is Status.ERROR
    assert "x" in by_id["t.sql"].message
    assert by_id["t.rowCount"].status is Status.PASSED
    assert by_id["t.v.required"].status is Status.PASSED


@pytest.mark.parametrize("bad_regex", ["(unclosed", "[z-a]"])
def test_a_bad_pattern_errors_only_its_check(tmp_path, bad_regex) -> None:
    props = [{"name": "v", "logicalType": "string", "logicalTypeOptions": {"pattern": bad_regex}, "required": True}]
    run = run_doc(tmp_path, contract_doc([{"name": "t", "properties": props}]), {"t": pa.table({"v": ["a"]})})
    assert check(run, "t.v.pattern").status is Status.ERROR
    assert check(run, "t.v.required").status is Status.PASSED


def test_results_follow_the_contract_order_across_objects(tmp_path) -> None:
    objects = [
        {"name": "a", "properties": [{"name": "x", "required": True}]},
        {"name": "b", "properties": [{"name": "y", "required": True}]},
    ]
    run = run_doc(tmp_path, contract_doc(objects), {"a": pa.table({"x": [1]}), "b": pa.table({"y": [None, 1]})})
    ids = [c.spec.id for c in run.checks]
    assert ids.index("a.x.required") < ids.index("b.schema.object") < ids.index("b.y.required")
    assert check(run, "b.y.required").status is Status.FAILED
    assert [d.object for d in run.datasets] == ["a", "b"]
