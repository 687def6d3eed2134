"""DuckDB sandbox: queries read the data under test and nothing else (issue 18, defect 8)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest
from checks_support import check, contract_doc, run_doc

from meshplane.checks.model import Status
from meshplane.engines.base import DatasetRequest, QueryError
from meshplane.engines.duckdb import DuckDBEngine
from meshplane.spec.odcs import Server

ORDERS = "id,amount\n1,10\n2,20\n"


def _rule(query: str) -> dict[str, Any]:
    return {"type": "sql", "query": query, "mustBeGreaterThan": 0}


def _run(folder: Path, rules: list[dict[str, Any]], path: str = "data/orders.csv") -> Any:
    data = folder / "data"
    data.mkdir(exist_ok=True)
    (data / "orders.csv").write_text(ORDERS, encoding="utf-8")
    (data / "other.csv").write_text("secret\nneighbour-value\n", encoding="utf-8")
    (folder / "outside.csv").write_text("secret\nthe-server-secret\n", encoding="utf-8")
    obj = {"name": "orders", "properties": [{"name": "id", "logicalType": "integer"}], "quality": rules}
    return run_doc(folder, contract_doc([obj], path=path, fmt="csv"))


@pytest.mark.parametrize(
    ("query", "refused"),
    [
        ("SELECT length(content) FROM read_text('/etc/passwd')", "/etc/passwd"),
        ("SELECT count(*) FROM read_csv('/etc/passwd', sep = ':')", "/etc/passwd"),
        ("SELECT count(*) FROM {object} WHERE id IN (SELECT length(content) FROM read_text('/etc/hostname'))", "/etc/hostname"),
        ("SELECT count(*) FROM glob('/etc/*')", "/etc/*"),
        ("SELECT count(*) FROM read_csv('outside.csv')", "outside.csv"),
        ("SELECT count(*) FROM read_csv('data/other.csv')", "other.csv"),
    ],
)  # fmt: skip
def test_a_rule_reading_another_file_is_an_error_naming_it(tmp_path, query: str, refused: str) -> None:
    run = _run(tmp_path, [_rule(query)])
    result = check(run, "orders.sql")
    assert result.status is Status.ERROR, result.message
    assert "Permission Error" in str(result.message) and refused in str(result.message)
    shown = f"{result.message} {result.observed} {result.samples}"
    assert "root:" not in shown and "secret" not in shown
    # the data under test is still read
    assert check(run, "orders.id.schema.type").status is Status.PASSED


def test_duckdbs_spill_folder_in_the_working_directory_is_not_readable(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # DuckDB's default spill folder, `.tmp`, would be readable from here
    (tmp_path / ".tmp").mkdir()
    (tmp_path / ".tmp" / "note.txt").write_text("tmp-secret-content", encoding="utf-8")
    run = _run(tmp_path, [_rule("SELECT count(*) FROM read_text('.tmp/note.txt')")])
    result = check(run, "orders.sql")
    assert result.status is Status.ERROR and "Permission Error" in str(result.message)
    assert "tmp-secret-content" not in f"{result.message} {result.observed}"


def test_the_session_spills_into_a_folder_of_its_own_removed_at_close(tmp_path) -> None:
    (tmp_path / "orders.csv").write_text(ORDERS, encoding="utf-8")
    session = DuckDBEngine().connect(Server(server="s", type="local", path="orders.csv", format="csv"), tmp_path)
    with session:
        spill = Path(session.spill)
        assert session.execute("SELECT current_setting('temp_directory')").rows == [(str(spill),)]
        assert spill.is_dir()
    assert not spill.exists()


def test_a_path_with_a_placeholder_allows_its_folder(tmp_path) -> None:
    rules = [
        _rule(f"SELECT count(*) FROM read_csv('{tmp_path}/data/other.csv')"),
        _rule(f"SELECT count(*) FROM read_csv('{tmp_path}/outside.csv')"),
    ]
    run = _run(tmp_path, rules, path="data/{object}.csv")
    got = [c for c in run.checks if c.spec.kind == "sql"]
    assert [c.status for c in got] == [Status.PASSED, Status.ERROR], [c.message for c in got]
    assert "outside.csv" in str(got[1].message)


def test_the_settings_cannot_be_lifted(tmp_path) -> None:
    (tmp_path / "orders.csv").write_text(ORDERS, encoding="utf-8")
    session = DuckDBEngine().connect(Server(server="s", type="local", path="orders.csv", format="csv"), tmp_path)
    with session:
        session.open(DatasetRequest("orders", "orders"))
        assert session.execute("SELECT count(*) FROM orders").rows == [(2,)]
        for statement in (
            "SET enable_external_access = true",
            "SET allowed_directories = ['/']",
            "RESET lock_configuration",
            "SELECT * FROM read_text('/etc/passwd')",
            "COPY (SELECT 1) TO 'out.csv'",
        ):
            with pytest.raises(QueryError):
                session.execute(statement)
    assert not (tmp_path / "out.csv").exists()


def test_a_duckdb_database_reads_its_tables_only(tmp_path) -> None:
    database = tmp_path / "shop.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute("CREATE TABLE orders AS SELECT 1 AS id")
    obj = {"name": "orders", "properties": [{"name": "id", "logicalType": "integer"}],
           "quality": [_rule("SELECT length(content) FROM read_text('/etc/passwd')"),
                       {"type": "sql", "query": "SELECT count(*) FROM orders", "mustBe": 1}]}  # fmt: skip
    doc = contract_doc([obj])
    doc["servers"] = [{"server": "db", "type": "duckdb", "database": "shop.duckdb", "schema": "main"}]
    run = run_doc(tmp_path, doc)
    rules = [c for c in run.checks if c.spec.kind == "sql"]
    assert [c.status for c in rules] == [Status.ERROR, Status.PASSED], [c.message for c in rules]
    assert "/etc/passwd" in str(rules[0].message) and "root:" not in str(rules[0].message)


def test_values_of_classified_columns_are_masked_in_results(tmp_path) -> None:
    (tmp_path / "people.csv").write_text("id,email,salary\n1,ann@x.org,5000\n2,bob@x.org,7000\n", encoding="utf-8")
    props = [
        {"name": "id", "logicalType": "integer"},
        {"name": "email", "logicalType": "string", "classification": "pii", "logicalTypeOptions": {"maxLength": 3}},
        {"name": "salary", "logicalType": "integer", "classification": "confidential"},
    ]
    rules = [
        {"type": "sql", "query": "SELECT MAX(email) FROM {object}", "mustBe": "x"},
        {"type": "sql", "query": "SELECT MAX(salary) FROM people WHERE id > 0", "mustBeLessThan": 6000},
        {"type": "sql", "query": "SELECT COUNT(*) FROM {object} WHERE salary > 6000", "mustBe": 0},
        {"type": "sql", "query": "SELECT MAX(id) FROM (SELECT * FROM {object}) t", "mustBe": 1},
        {"type": "sql", "query": "SELECT MAX(id) FROM {object}", "mustBe": 1},
    ]
    run = run_doc(
        tmp_path,
        contract_doc([{"name": "people", "properties": props, "quality": rules}], path="people.csv", fmt="csv"),
    )
    got = [c for c in run.checks if c.spec.kind == "sql"]
    assert [c.status for c in got] == [Status.FAILED] * 5
    assert [c.observed for c in got] == ["***", "***", 1, "***", 2]
    shown = " ".join(f"{c.message} {c.observed}" for c in got[:2])
    assert "bob@x.org" not in shown and "7000" not in shown
    # samples of a failed check on a classified column: masked in the query itself
    samples = check(run, "people.email.maxLength").samples
    assert samples and all(row["email"] == "***" and row["salary"] == "***" for row in samples)
    assert {row["id"] for row in samples} == {"1", "2"}


def test_an_engine_error_quoting_a_classified_value_is_withheld(tmp_path) -> None:
    (tmp_path / "people.csv").write_text("id,email\n1,ann@x.org\n", encoding="utf-8")
    props = [
        {"name": "id", "logicalType": "integer"},
        {"name": "email", "logicalType": "string", "classification": "PII"},
    ]
    rules = [
        {"type": "sql", "query": "SELECT MAX(CAST(email AS INTEGER)) FROM {object}", "mustBe": 1},
        {"type": "sql", "query": "SELECT MAX(CAST(email AS INTEGER)) FROM {object} GROUP BY id", "mustBe": 1},
        {"type": "sql", "query": "SELECT MAX(CAST(id || 'x' AS INTEGER)) FROM {object} GROUP BY id", "mustBe": 1},
    ]
    run = run_doc(
        tmp_path,
        contract_doc([{"name": "people", "properties": props, "quality": rules}], path="people.csv", fmt="csv"),
    )
    got = [c for c in run.checks if c.spec.kind == "sql"]
    assert [c.status for c in got] == [Status.ERROR] * 3
    assert all("withheld" in str(c.message) and "ann@x.org" not in str(c.message) for c in got[:2])
    assert "1x" in str(got[2].message)  # no classified column: the engine's message as is
