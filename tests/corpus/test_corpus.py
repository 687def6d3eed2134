"""The malformed-file corpus (cases.yaml): each broken file is blamed by file, line and field.

Every case is checked three ways: the lint service returns the expected diagnostic (exact code,
file, line and JSON path; the message names the field in plain words); nothing else is reported
as an error; and `meshplane lint` exits with the expected code, prints `file:line` and the code,
and never a traceback (table and JSON output).
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from meshplane.cli.app import app
from meshplane.diagnostics import Diagnostic, Severity
from meshplane.service.linting import LintReport, lint_path

CORPUS = Path(__file__).resolve().parent
MESHES = CORPUS / "meshes"
BASE_MESH = MESHES / "_base"
MESH_COPY = "mesh"  # the folder name a mesh case is copied to (diagnostics name files below it)

# Python reprs, object addresses, tracebacks: none of these belong in a message for people.
NOT_PLAIN = re.compile(r"\{'|\['|<class |object at 0x|Traceback|\\n|ValidationError|KeyError|TypeError")


@dataclass(frozen=True)
class Expected:
    code: str
    file: str
    line: int | None
    path: str | None
    field: str | None
    message: str | None = None


@dataclass(frozen=True)
class Case:
    id: str
    file: str | None
    mesh: str | None
    expect: tuple[Expected, ...]
    exit: int = 1
    also: frozenset[str] = frozenset()
    remove: tuple[str, ...] = ()
    xfail_reason: str | None = None
    xfail_in: frozenset[str] = frozenset()

    def shown(self, expected: Expected) -> str:
        """How lint names the expected file (relative to the working folder the test sets)."""
        return f"{MESH_COPY}/{expected.file}" if self.mesh else expected.file


def _load_cases() -> list[Case]:
    raw = yaml.safe_load((CORPUS / "cases.yaml").read_text(encoding="utf-8"))
    cases = []
    for item in raw["cases"]:
        default_file = item.get("file")
        expect = tuple(
            Expected(
                code=e["code"],
                file=e.get("file", default_file),
                line=e["line"],
                path=e["path"],
                field=e["field"],
                message=e.get("message"),
            )
            for e in item["expect"]
        )
        cases.append(
            Case(
                id=item["id"],
                file=default_file,
                mesh=item.get("mesh"),
                expect=expect,
                exit=item.get("exit", 1),
                also=frozenset(item.get("also", [])),
                remove=tuple(item.get("remove", [])),
                xfail_reason=item.get("xfail", {}).get("reason"),
                xfail_in=frozenset(item.get("xfail", {}).get("in", [])),
            )
        )
    return cases


CASES = _load_cases()


def _params(aspect: str) -> list[Any]:
    params = []
    for case in CASES:
        marks = []
        if aspect in case.xfail_in:
            marks.append(pytest.mark.xfail(strict=True, reason=case.xfail_reason or "known bug"))
        params.append(pytest.param(case, id=case.id, marks=marks))
    return params


def _materialize(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Set the working folder for the case and return the lint target (relative to it)."""
    if case.file is not None:
        monkeypatch.chdir(CORPUS)
        return case.file
    assert case.mesh is not None
    dest = tmp_path / MESH_COPY
    shutil.copytree(BASE_MESH, dest)
    overlay = MESHES / case.mesh
    for src in overlay.rglob("*.yaml"):
        target = dest / src.relative_to(overlay)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)
    for rel in case.remove:
        (dest / rel).unlink()
    monkeypatch.chdir(tmp_path)
    return MESH_COPY


_REPORTS: dict[str, LintReport] = {}


def _lint(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LintReport:
    """The lint report of a case, computed once per session (the diagnostic and the no-unrelated
    checks read the same report; file names in it are relative to the case's working folder)."""
    if case.id not in _REPORTS:
        _REPORTS[case.id] = lint_path(Path(_materialize(case, tmp_path, monkeypatch)))
    return _REPORTS[case.id]


def _describe(diagnostics: list[Diagnostic]) -> str:
    return "\n".join(f"  {d.severity.value} {d.code} {d.file}:{d.line} {d.path} | {d.message}" for d in diagnostics)


def _find(case: Case, expected: Expected, diagnostics: list[Diagnostic]) -> Diagnostic:
    for diag in diagnostics:
        if (
            diag.code == expected.code
            and diag.file == case.shown(expected)
            and diag.line == expected.line
            and diag.path == expected.path
        ):
            return diag
    pytest.fail(
        f"expected {expected.code} at {case.shown(expected)}:{expected.line} {expected.path}; got:\n{_describe(diagnostics)}"
    )


# ---------------------------------------------------------------------------------------------------


def test_corpus_is_large_enough_and_every_file_is_used() -> None:
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES), "case ids must be unique"
    used = {c.file for c in CASES if c.file}
    on_disk = {p.relative_to(CORPUS).as_posix() for p in (CORPUS / "files").rglob("*.yaml")}
    assert on_disk == used, (
        f"files without a case: {sorted(on_disk - used)}; cases without a file: {sorted(used - on_disk)}"
    )
    meshes = {c.mesh for c in CASES if c.mesh}
    folders = {p.name for p in MESHES.iterdir() if p.is_dir() and p.name != "_base"}
    assert folders == meshes
    kinds = {Path(f).name.split(".", 1)[-1] if "." in Path(f).name else Path(f).name for f in used}
    assert {"odcs.yaml", "odps.yaml", "yaml"} <= kinds


def test_base_mesh_lints_clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every mesh case breaks exactly one thing of a mesh that is otherwise spotless."""
    shutil.copytree(BASE_MESH, tmp_path / "mesh")
    monkeypatch.chdir(tmp_path)
    report = lint_path(Path("mesh"))
    assert report.mode == "mesh"
    assert report.diagnostics == [], _describe(report.diagnostics)
    assert report.summary == {"domains": 2, "products": 2, "contracts": 2}


@pytest.mark.parametrize("case", _params("diagnostics"))
def test_case_is_reported_with_file_line_and_field(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = _lint(case, tmp_path, monkeypatch)
    assert report.has_errors
    for expected in case.expect:
        diag = _find(case, expected, report.diagnostics)
        assert diag.severity is Severity.ERROR
        if expected.line is not None:
            assert diag.column is not None and diag.column >= 1
        if expected.field is not None:
            assert expected.field in diag.message or (diag.path or "").endswith(expected.field), (
                f"the diagnostic does not name the field '{expected.field}': {diag}"
            )
        if expected.message is not None:
            assert expected.message in diag.message
        assert not NOT_PLAIN.search(diag.message), f"not plain words: {diag.message!r}"
        assert diag.message.strip() == diag.message and diag.message


@pytest.mark.parametrize("case", _params("only_expected"))
def test_case_reports_no_unrelated_errors(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = _lint(case, tmp_path, monkeypatch)
    allowed = {e.code for e in case.expect} | case.also
    unrelated = [d for d in report.diagnostics if d.severity is Severity.ERROR and d.code not in allowed]
    assert not unrelated, f"unrelated errors:\n{_describe(unrelated)}"
    errors = [d for d in report.diagnostics if d.severity is Severity.ERROR and d.code in {e.code for e in case.expect}]
    assert len(errors) == len(case.expect), f"expected {len(case.expect)} error(s):\n{_describe(errors)}"
    for diag in report.diagnostics:
        assert not NOT_PLAIN.search(diag.message), f"not plain words: {diag.message!r}"


@pytest.mark.parametrize("case", _params("cli"))
def test_case_cli_exit_code_and_output(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = _materialize(case, tmp_path, monkeypatch)
    runner = CliRunner()
    result = runner.invoke(app, ["lint", target])
    output = result.output
    assert result.exit_code == case.exit, output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in output
    assert "failed" in output.splitlines()[-1]
    for expected in case.expect:
        shown = case.shown(expected)
        # A known-bug case may blame another line; the file and the code must still be named.
        where = (
            f"{shown}:{expected.line}:" if expected.line is not None and "diagnostics" not in case.xfail_in else shown
        )
        lines = [ln for ln in output.splitlines() if where in ln and f"[{expected.code}]" in ln]
        assert lines, f"no line naming {where} with [{expected.code}] in:\n{output}"
        assert " error " in lines[0]


def test_json_output_of_the_whole_corpus_names_every_expected_diagnostic(monkeypatch: pytest.MonkeyPatch) -> None:
    """`lint files --format json` (every malformed contract and product at once; a folder without
    mesh.yaml is linted file by file: *.odcs.yaml, *.odps.yaml, domain.yaml and mesh.yaml): one JSON document
    on stdout, exit 1, and each declared diagnostic in it with its file, line and path."""
    monkeypatch.chdir(CORPUS)
    result = CliRunner().invoke(app, ["lint", "files", "--format", "json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["mode"] == "files"
    loose = [
        c
        for c in CASES
        if c.file and (c.file.endswith((".odcs.yaml", ".odps.yaml")) or c.file.endswith(("/domain.yaml", "/mesh.yaml")))
    ]
    assert data["files"] == len(loose)
    reported = {(d["code"], d["file"], d["line"], d["path"]) for d in data["diagnostics"]}
    missing = [
        (c.id, e.code, e.line)
        for c in loose
        if not c.xfail_in
        for e in c.expect
        if (e.code, e.file, e.line, e.path) not in reported
    ]
    assert missing == []
    assert all(not NOT_PLAIN.search(d["message"]) for d in data["diagnostics"])


def test_several_errors_in_one_file_are_reported_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """One lint run names every independent error of the file, each on its own line."""
    monkeypatch.chdir(CORPUS)
    report = lint_path(Path("files/contracts/several-errors.odcs.yaml"))
    found = [(d.code, d.line, d.path) for d in report.diagnostics if d.severity is Severity.ERROR]
    assert found == [
        ("schema-required", 2, "$"),
        ("schema-enum", 16, "$.schema[0].properties[0].logicalType"),
        ("schema-unknown-field", 21, "$.schema[0].properties[1].nullable"),
        ("schema-operator", 24, "$.schema[0].quality[0]"),
    ]
    lines = [d.line for d in report.diagnostics]
    assert lines == sorted(lines), "diagnostics come in file order"


def test_several_errors_across_a_mesh_are_reported_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A mesh with a broken file and two broken references: every problem in one run."""
    dest = tmp_path / "mesh"
    shutil.copytree(BASE_MESH, dest)
    for case in ("unresolved-input-port", "domain-id-mismatch", "unresolved-sla-element"):
        for src in (MESHES / case).rglob("*.yaml"):
            shutil.copyfile(src, dest / src.relative_to(MESHES / case))
    (dest / "mesh.yaml").write_text(
        (dest / "mesh.yaml").read_text(encoding="utf-8").replace("defaultEngine: duckdb", "defaultEngine: 3"),
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    report = lint_path(Path("mesh"))
    found = {(d.code, d.file, d.line) for d in report.diagnostics if d.severity is Severity.ERROR}
    assert found == {
        ("schema-type", "mesh/mesh.yaml", 8),
        ("domain-id-mismatch", "mesh/domains/crm/domain.yaml", 3),
        ("unresolved-input-port", "mesh/domains/crm/products/customers/product.odps.yaml", 13),
        ("unresolved-element", "mesh/domains/sales/products/orders/contracts/orders.odcs.yaml", 48),
    }
