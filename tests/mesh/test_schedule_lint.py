"""Lint errors of monitoring schedules: file and line of an invalid cron or a schedule under a minute."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from meshplane.diagnostics import Severity
from meshplane.service.linting import lint_path

TESTS = Path(__file__).resolve().parents[1]
BASE_MESH = TESTS / "corpus" / "meshes" / "_base"
CONTRACT = "domains/sales/products/orders/contracts/orders.odcs.yaml"


@pytest.fixture
def mesh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(BASE_MESH, tmp_path / "m")
    monkeypatch.chdir(tmp_path)
    return Path("m")


def _errors(mesh: Path) -> list[tuple[str, str | None, int | None, str]]:
    report = lint_path(mesh)
    return [(d.code, d.file, d.line, d.message) for d in report.diagnostics if d.severity is Severity.ERROR]


def _line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text in line)


def test_an_invalid_cron_in_mesh_yaml_is_an_error_at_its_line(mesh: Path) -> None:
    with (mesh / "mesh.yaml").open("a", encoding="utf-8") as out:
        out.write("monitoring:\n  schedule: '61 * * * *'\n  engines:\n    duckdb: 30s\n")
    errors = _errors(mesh)
    assert [(code, file, line) for code, file, line, _ in errors] == [
        ("invalid-schedule", "m/mesh.yaml", _line_of(mesh / "mesh.yaml", "schedule:")),
        ("invalid-schedule", "m/mesh.yaml", _line_of(mesh / "mesh.yaml", "duckdb: 30s")),
    ]
    assert "invalid cron expression '61 * * * *'" in errors[0][3]
    assert "shorter than 1 minute" in errors[1][3]


def test_a_contract_schedule_under_a_minute_is_an_error_at_its_line(mesh: Path) -> None:
    path = mesh / CONTRACT
    text = path.read_text(encoding="utf-8")
    path.write_text(text + "customProperties:\n  - property: monitoringSchedule\n    value: 20s\n", encoding="utf-8")
    errors = _errors(mesh)
    assert [(code, file, line) for code, file, line, _ in errors] == [
        ("invalid-schedule", f"m/{CONTRACT}", _line_of(path, "value: 20s"))
    ]
    assert "shorter than 1 minute" in errors[0][3]
    # the contract linted alone says the same
    alone = lint_path(path)
    assert [d.code for d in alone.diagnostics if d.severity is Severity.ERROR] == ["invalid-schedule"]


def test_valid_schedules_lint_clean(mesh: Path) -> None:
    with (mesh / "mesh.yaml").open("a", encoding="utf-8") as out:
        out.write("monitoring:\n  schedule: '0 * * * *'\n  engines:\n    duckdb: 1h\n")
    assert _errors(mesh) == []
