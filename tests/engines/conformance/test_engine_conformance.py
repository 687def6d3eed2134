"""Engine conformance: every registered engine, every case in `cases/`, the same answers.

See README.md in this folder for the fixture format.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import yaml
from provisioners import JSON_PROVISIONERS, PROVISIONERS

from meshplane.engines import engine_names
from meshplane.service.testing import run_contract
from meshplane.spec.loader import load_contract

CASES = sorted((Path(__file__).parent / "cases").glob("*.yaml"))
FLOAT_TOLERANCE = 1e-9


def arrow_type(name: str) -> pa.DataType:
    """An Arrow type from its short name (see README.md)."""
    decimal = re.fullmatch(r"decimal\((\d+),\s*(\d+)\)", name)
    if decimal:
        return pa.decimal128(int(decimal.group(1)), int(decimal.group(2)))
    stamp = re.fullmatch(r"timestamp\[(\w+)(?:,\s*(.+))?\]", name)
    if stamp:
        return pa.timestamp(stamp.group(1), tz=stamp.group(2))
    listed = re.fullmatch(r"list<(.+)>", name)
    if listed:
        return pa.list_(arrow_type(listed.group(1)))
    return pa.type_for_alias(name)


def _value(kind: pa.DataType, value: Any) -> Any:
    if value is None:
        return None
    if pa.types.is_timestamp(kind) and isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        return parsed if kind.tz else parsed.replace(tzinfo=None)
    if pa.types.is_date(kind) and isinstance(value, str):
        return date.fromisoformat(value)
    if pa.types.is_decimal(kind):
        return Decimal(str(value))
    return value


def tables_of(case: dict[str, Any]) -> dict[str, pa.Table]:
    tables = {}
    for name, columns in case["data"].items():
        arrays = {}
        for column, spec in columns.items():
            kind = arrow_type(spec["type"])
            arrays[column] = pa.array([_value(kind, v) for v in spec["values"]], kind)
        tables[name] = pa.table(arrays)
    return tables


def _load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _runs() -> list[Any]:
    """(case, engine) pairs: a case with `json` data runs on the engines that read JSON files."""
    runs = []
    for case_file in CASES:
        json_case = "json" in _load(case_file)
        for engine in engine_names():
            if not json_case or engine in JSON_PROVISIONERS:
                runs.append(pytest.param(case_file, engine, id=f"{case_file.stem}-{engine}"))
    return runs


def test_every_registered_engine_has_a_provisioner() -> None:
    missing = [name for name in engine_names() if name not in PROVISIONERS]
    assert not missing, f"add a conformance provisioner for: {missing}"


def test_there_are_cases() -> None:
    assert len(CASES) >= 5


def test_json_cases_run_on_the_file_engines() -> None:
    json_cases = [p.stem for p in CASES if "json" in _load(p)]
    assert json_cases
    assert {"duckdb", "spark"} <= set(JSON_PROVISIONERS)


@pytest.mark.parametrize(("case_file", "engine"), _runs())
def test_conformance(tmp_path, engine, case_file) -> None:
    case = _load(case_file)
    if "json" in case:
        server = JSON_PROVISIONERS[engine](tmp_path, case["json"])
    else:
        server = PROVISIONERS[engine](tmp_path, tables_of(case))
    doc = {"apiVersion": "v3.1.0", "kind": "DataContract", "id": f"conformance-{case_file.stem}",
           "version": "1.0.0", "status": "active", "servers": [server], **case["contract"]}  # fmt: skip
    path = tmp_path / "case.odcs.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    loaded = load_contract(path)
    assert loaded.ok and loaded.model is not None, [str(d) for d in loaded.diagnostics]
    now = datetime.fromisoformat(case["now"])
    run = run_contract(loaded.model, base_dir=tmp_path, engine=engine, clock=lambda: now)
    assert run.engine == engine and run.error is None, run.error
    got = {c.spec.id: c for c in run.checks}
    problems = []
    for check_id, want in case["expected"].items():
        result = got.get(check_id)
        if result is None:
            problems.append(f"{check_id}: missing (have {sorted(got)})")
            continue
        if result.status.value != want["status"]:
            problems.append(f"{check_id}: status {result.status.value} != {want['status']} ({result.message})")
        if "observed" in want:
            expected, observed = want["observed"], result.observed
            same = (
                observed == pytest.approx(expected, rel=FLOAT_TOLERANCE, abs=1e-6)
                if isinstance(expected, float) and observed is not None
                else observed == expected
            )
            if not same:
                problems.append(f"{check_id}: observed {observed!r} != {expected!r} ({result.message})")
    assert not problems, "\n".join(problems)
