"""CSV: sniffed once, typed by safe casts; a bad value fails its type check only (issue 18, 6-7)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from checks_support import NOW, check, contract_doc, run_doc, statuses, write_contract
from test_checks_scan import SpySession

from meshplane.checks import compile_contract, run_checks
from meshplane.checks.model import Status
from meshplane.engines.duckdb import DuckDBEngine
from meshplane.spec.loader import load_contract

# 6 rows; the bad values: `x100659` (integer), `n/a` (number), `yesterday` (date)
DIRTY = """\
id,amount,day,zip,note
1,10.5,2026-01-01,01234,a
2,20,2026-01-02,00042,b
x100659,30,2026-01-03,00001,c
4,n/a,2026-01-04,00002,d
5,999,yesterday,00003,e
6,-1,2026-01-06,00004,
"""

PROPS: list[dict[str, Any]] = [
    {"name": "id", "logicalType": "integer", "required": True, "unique": True,
     "logicalTypeOptions": {"minimum": 1, "maximum": 10}},
    {"name": "amount", "logicalType": "number", "classification": "confidential",
     "logicalTypeOptions": {"minimum": 0, "maximum": 1000}},
    {"name": "day", "logicalType": "date", "logicalTypeOptions": {"minimum": "2026-01-01", "maximum": "2026-12-31"}},
    {"name": "zip", "logicalType": "string", "logicalTypeOptions": {"pattern": "^[0-9]{5}$"}},
    {"name": "note", "logicalType": "string"},
]  # fmt: skip

RULES: list[dict[str, Any]] = [
    # typed comparisons: the rule sees numbers and dates, the bad values as NULL
    {"type": "sql", "query": "SELECT COUNT(*) FROM {object} WHERE amount > 15 AND day < DATE '2026-01-05'", "mustBe": 2},
    {"type": "sql", "query": "SELECT MAX(id) FROM orders", "mustBe": 6},
    {"type": "sql", "query": "SELECT COUNT(*) FROM (SELECT * FROM {object}) t WHERE id IS NULL", "mustBe": 1},
    {"metric": "rowCount", "mustBe": 6},
]  # fmt: skip


def _dirty_run(folder: Path) -> Any:
    (folder / "orders.csv").write_text(DIRTY, encoding="utf-8")
    obj = {"name": "orders", "properties": PROPS, "quality": RULES}
    return run_doc(folder, contract_doc([obj], path="orders.csv", fmt="csv"))


def test_bad_values_fail_their_type_check_only(tmp_path) -> None:
    run = _dirty_run(tmp_path)
    got = statuses(run)
    for column in ("id", "amount", "day"):
        result = check(run, f"orders.{column}.schema.type")
        assert result.status is Status.FAILED and result.observed == 1, result.message
        assert "cannot be read as" in str(result.message)
    assert got["orders.zip.schema.type"] == "passed" and got["orders.note.schema.type"] == "passed"
    # min/max compute over the values that read: no `Conversion Error`, no error at all
    assert not [cid for cid, status in got.items() if status == "error"], got
    assert got["orders.id.minimum"] == "passed" and got["orders.id.maximum"] == "passed"
    assert got["orders.amount.minimum"] == "failed" and check(run, "orders.amount.minimum").observed == 1
    assert got["orders.amount.maximum"] == "passed"
    assert got["orders.day.minimum"] == "passed" and got["orders.day.maximum"] == "passed"
    # a malformed value is present: `required` does not count it as missing; unique ignores it
    assert got["orders.id.required"] == "passed" and got["orders.id.unique"] == "passed"
    # SQL rules, folded into the scan or run on their own, read typed values
    sql = [c for c in run.checks if c.spec.kind == "sql"]
    assert [c.status for c in sql] == [Status.PASSED] * 3, [(c.observed, c.message) for c in sql]
    assert got["orders.rowCount"] == "passed"
    # zip keeps its leading zeros (declared string)
    assert got["orders.zip.pattern"] == "passed"


def test_samples_show_the_text_of_the_file_and_stay_masked(tmp_path) -> None:
    run = _dirty_run(tmp_path)
    id_samples = check(run, "orders.id.schema.type").samples
    assert id_samples == [{"id": "x100659", "amount": "***", "day": "2026-01-03", "zip": "00001", "note": "c"}]
    day_samples = check(run, "orders.day.schema.type").samples
    assert day_samples is not None and day_samples[0]["day"] == "yesterday"
    amount = check(run, "orders.amount.schema.type")
    assert amount.samples == [{"id": "4", "amount": "***", "day": "2026-01-04", "zip": "00002", "note": "d"}]
    assert "n/a" not in str(amount.samples)


def test_the_file_is_sniffed_once_and_scanned_once(tmp_path) -> None:
    clean = DIRTY.replace("x100659", "3").replace("n/a", "40").replace("yesterday", "2026-01-05").replace("-1,", "1,")
    (tmp_path / "orders.csv").write_text(clean, encoding="utf-8")
    obj = {"name": "orders", "properties": PROPS, "quality": RULES[1:2]}
    path = write_contract(tmp_path, contract_doc([obj], path="orders.csv", fmt="csv"))
    contract = load_contract(path).model
    assert contract is not None
    engine = DuckDBEngine()
    session = SpySession(engine.connect(contract.servers[0], tmp_path))
    inner: Any = session.inner
    executed: list[str] = []
    original = inner._run
    inner._run = lambda sql: executed.append(sql) or original(sql)
    with session:
        outcome = run_checks(contract, compile_contract(contract), session, engine=engine, now=NOW)
    assert all(r.status is Status.PASSED for r in outcome.results), [
        (r.spec.id, r.message) for r in outcome.results if r.status is not Status.PASSED
    ]
    assert sum("sniff_csv" in q for q in executed) == 1
    # the views read with the sniffed dialect and explicit columns: no detection per query
    views = [q for q in executed if q.startswith("CREATE")]
    assert views and all("auto_detect = false" in q for q in views)
    assert len(session.queries) == 1, session.queries  # everything in one scan (SQL rules folded)


def test_sniffed_date_format_and_undeclared_columns(tmp_path) -> None:
    # past the sniffer's sample (20,480 rows) one value is no date (30/02) and one `n` no number
    rows = ["31/01/2024;1;x", "29/02/2024;2;y"] * 10_300 + ["30/02/2024;3;z", "01/03/2024;oops;z"]
    (tmp_path / "t.csv").write_text("d;n;extra\n" + "\n".join(rows) + "\n", encoding="utf-8")
    props = [{"name": "d", "logicalType": "date", "logicalTypeOptions": {"maximum": "2024-12-31"}}, {"name": "n"}]
    rule = {"type": "sql", "query": "SELECT SUM(n) FROM t", "mustBe": 3 * 10_300 + 3}
    run = run_doc(
        tmp_path, contract_doc([{"name": "t", "properties": props, "quality": [rule]}], path="t.csv", fmt="csv")
    )
    got = statuses(run)
    # day-first dates read with the sniffed format; 30/02 is no date
    assert check(run, "t.d.schema.type").observed == 1
    assert check(run, "t.d.schema.type").samples == [{"d": "30/02/2024", "n": "3"}]
    # `n` declares no type: read as sniffed (BIGINT), the value that does not read is NULL
    assert got["t.d.maximum"] == "passed" and got["t.sql"] == "passed", got
    assert got["t.schema.undeclared"] == "warning"


def test_several_files_are_matched_by_header_name(tmp_path) -> None:
    folder = tmp_path / "orders"
    folder.mkdir()
    (folder / "a.csv").write_text("id,amount\n1,10\n2,oops\n", encoding="utf-8")
    (folder / "b.csv").write_text("amount,id\n30,3\n40,4\n", encoding="utf-8")
    props = [{"name": "id", "logicalType": "integer", "unique": True},
             {"name": "amount", "logicalType": "integer", "logicalTypeOptions": {"maximum": 40}}]  # fmt: skip
    obj = {"name": "orders", "properties": props, "quality": [{"metric": "rowCount", "mustBe": 4}]}
    run = run_doc(tmp_path, contract_doc([obj], path="orders", fmt="csv"))
    got = statuses(run)
    assert check(run, "orders.amount.schema.type").observed == 1
    assert got["orders.id.unique"] == "passed" and got["orders.amount.maximum"] == "passed"
    assert got["orders.rowCount"] == "passed", got
