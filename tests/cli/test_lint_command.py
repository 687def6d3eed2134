"""`meshplane lint`: exit codes (0 clean, 1 errors, 2 unusable input), Rich and JSON output, the
official examples, and the acceptance scenario on examples/holding."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from meshplane.cli.app import app, main

REPO = Path(__file__).resolve().parents[2]
STANDARDS = REPO.parent / "shared" / "standards"
EXAMPLE_MESH = REPO / "examples" / "holding"
BASE_MESH = REPO / "tests" / "corpus" / "meshes" / "_base"
CORPUS_FILES = REPO / "tests" / "corpus" / "files"
MESHPLANE = REPO / ".venv" / "bin" / "meshplane"
OFFICIAL_EXAMPLES = sorted((STANDARDS / "odcs" / "examples").rglob("*.odcs.yaml")) + sorted(
    (STANDARDS / "odps" / "examples").rglob("*.odps.yaml")
)
DIAGNOSTIC_KEYS = {"severity", "code", "message", "file", "line", "column", "path", "hint"}

runner = CliRunner()


def run_main(
    args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    """Run the console-script entry point in-process: (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["meshplane", *args])
    with pytest.raises(SystemExit) as info:
        main()
    out, err = capsys.readouterr()
    code = info.value.code
    return (code if isinstance(code, int) else 1), out, err


@pytest.fixture
def base_mesh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(BASE_MESH, tmp_path / "m")
    monkeypatch.chdir(tmp_path)
    return Path("m")


# ---- official examples ---------------------------------------------------------------------------


def test_the_eighteen_official_odcs_examples_are_all_here(standards_dir: Path) -> None:
    assert len([p for p in OFFICIAL_EXAMPLES if p.name.endswith(".odcs.yaml")]) == 18
    assert len([p for p in OFFICIAL_EXAMPLES if p.name.endswith(".odps.yaml")]) == 2


@pytest.mark.parametrize("example", OFFICIAL_EXAMPLES, ids=lambda p: p.relative_to(p.parents[1]).as_posix())
def test_lint_official_example_exits_0(example: Path) -> None:
    result = runner.invoke(app, ["lint", str(example)])
    assert result.exit_code == 0, result.output
    last = result.output.splitlines()[-1]
    assert last.startswith("ok ") and ": 0 error(s)" in last


# ---- exit codes and output -----------------------------------------------------------------------


def test_clean_mesh_exits_0_with_a_summary(base_mesh: Path) -> None:
    result = runner.invoke(app, ["lint", str(base_mesh)])
    assert result.exit_code == 0
    assert result.output == "ok m (2 domains, 2 products, 2 contracts): 0 error(s), 0 warning(s)\n"


def test_default_path_is_the_current_folder(base_mesh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(base_mesh)
    result = runner.invoke(app, ["lint"])
    assert result.exit_code == 0
    assert "(2 domains, 2 products, 2 contracts)" in result.output


def test_errors_exit_1_and_each_line_names_file_line_column_path_and_code(base_mesh: Path) -> None:
    path = base_mesh / "domains/crm/products/customers/product.odps.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("status: active\n", "status: active\nowner: bo\n"), encoding="utf-8"
    )
    result = runner.invoke(app, ["lint", str(base_mesh)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines == [
        "m/domains/crm/products/customers/product.odps.yaml:7:1 error unknown field 'owner' $.owner [schema-unknown-field]",
        "failed m (2 domains, 2 products, 2 contracts): 1 error(s), 0 warning(s)",
    ]


def test_hints_are_printed_under_their_diagnostic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(CORPUS_FILES)
    result = runner.invoke(app, ["lint", "contracts/unknown-top-level.odcs.yaml", "--no-warnings"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    index = next(i for i, line in enumerate(lines) if "[schema-unknown-field]" in line)
    assert lines[index].startswith("contracts/unknown-top-level.odcs.yaml:8:1 error unknown field 'domian'")
    assert lines[index + 1] == "    hint: did you mean 'domain'?"


def test_warnings_are_shown_unless_no_warnings(base_mesh: Path) -> None:
    path = base_mesh / "domains/sales/products/orders/contracts/orders.odcs.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("        description: Order total in EUR.\n", ""), encoding="utf-8"
    )
    shown = runner.invoke(app, ["lint", str(base_mesh)])
    assert shown.exit_code == 0
    assert "warning property 'orders.amount' has no description" in shown.output
    hidden = runner.invoke(app, ["lint", str(base_mesh), "--no-warnings"])
    assert hidden.exit_code == 0
    assert hidden.output == "ok m (2 domains, 2 products, 2 contracts): 0 error(s), 1 warning(s)\n"


@pytest.mark.parametrize("target", ["missing-folder", "notes.txt", "empty-folder"])
def test_unusable_input_exits_2_with_a_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], target: str
) -> None:
    (tmp_path / "notes.txt").write_text("hello\n", encoding="utf-8")
    (tmp_path / "empty-folder").mkdir()
    monkeypatch.chdir(tmp_path)
    code, out, err = run_main(["lint", target], monkeypatch, capsys)
    assert code == 2
    assert out == ""
    assert err.startswith("error: ") and target in err
    assert "Traceback" not in err


def test_bad_format_option_is_a_usage_error() -> None:
    result = runner.invoke(app, ["lint", str(BASE_MESH), "--format", "xml"])
    assert result.exit_code == 2
    assert "use table, json, github or gitlab" in result.output
    assert "Traceback" not in result.output


def test_app_itself_turns_user_errors_into_exit_2(tmp_path: Path) -> None:
    """Not only main(): the Typer app (CliRunner, embedding) turns a user error into exit 2."""
    result = runner.invoke(app, ["lint", str(tmp_path / "missing")])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"error: no such file or folder: {tmp_path / 'missing'}\n"


# ---- JSON output ---------------------------------------------------------------------------------


def check_json_shape(data: Any) -> None:
    assert isinstance(data, dict)
    assert list(data) == ["target", "mode", "files", "errors", "warnings", "summary", "diagnostics"]
    assert isinstance(data["target"], str) and data["target"]
    assert data["mode"] in ("mesh", "files", "file")
    for key in ("files", "errors", "warnings"):
        assert type(data[key]) is int and data[key] >= 0
    assert isinstance(data["summary"], dict)
    assert all(isinstance(k, str) and type(v) is int for k, v in data["summary"].items())
    assert isinstance(data["diagnostics"], list)
    for diag in data["diagnostics"]:
        assert set(diag) == DIAGNOSTIC_KEYS
        assert diag["severity"] in ("error", "warning", "info")
        assert isinstance(diag["code"], str) and re.fullmatch(r"[a-z][a-zA-Z0-9-]*", diag["code"])
        assert isinstance(diag["message"], str) and diag["message"]
        for key in ("file", "path", "hint"):
            assert diag[key] is None or isinstance(diag[key], str)
        for key in ("line", "column"):
            assert diag[key] is None or (type(diag[key]) is int and diag[key] >= 1)
        if diag["path"] is not None:
            assert diag["path"].startswith("$")
    severities = [d["severity"] for d in data["diagnostics"]]
    assert data["errors"] == severities.count("error")
    assert data["warnings"] == severities.count("warning")


def test_json_output_of_a_clean_mesh(base_mesh: Path) -> None:
    result = runner.invoke(app, ["lint", str(base_mesh), "--format", "json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    check_json_shape(data)
    assert data == {
        "target": "m",
        "mode": "mesh",
        "files": 7,
        "errors": 0,
        "warnings": 0,
        "summary": {"domains": 2, "products": 2, "contracts": 2},
        "diagnostics": [],
    }


def test_json_output_with_errors_warnings_and_info(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    loose = tmp_path / "loose"
    shutil.copytree(CORPUS_FILES / "contracts", loose)
    valid = (BASE_MESH / "domains/sales/products/orders/contracts/orders.odcs.yaml").read_text(encoding="utf-8")
    (loose / "undescribed.odcs.yaml").write_text(
        valid.replace("        description: Order total in EUR.\n", ""), encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["lint", "loose", "--format", "json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)  # nothing but JSON on stdout
    check_json_shape(data)
    assert data["mode"] == "files"
    broken_files = len(list((CORPUS_FILES / "contracts").glob("*.odcs.yaml")))
    assert data["errors"] >= broken_files and data["warnings"] > 0
    assert {d["severity"] for d in data["diagnostics"]} == {"error", "warning", "info"}
    files = {d["file"] for d in data["diagnostics"] if d["severity"] == "error"}
    assert "loose/empty.odcs.yaml" in files and "loose/api-version-v9.9.9.odcs.yaml" in files
    warnings = [(d["code"], d["file"], d["line"]) for d in data["diagnostics"] if d["severity"] == "warning"]
    assert ("missing-description", "loose/undescribed.odcs.yaml", 35) in warnings


def test_json_output_of_a_single_file() -> None:
    example = STANDARDS / "odcs" / "examples" / "stakeholders" / "basic-four-dpo.odcs.yaml"
    result = runner.invoke(app, ["lint", str(example), "--format", "json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    check_json_shape(data)
    assert (data["mode"], data["files"], data["errors"]) == ("file", 1, 0)
    assert "api-version-too-old" in {d["code"] for d in data["diagnostics"]}


# ---- the real executable -------------------------------------------------------------------------


def test_real_executable_on_a_broken_mesh(tmp_path: Path) -> None:
    """The installed console script on a broken mesh: exit 1, the file and line named, no traceback.
    (Exit 0 and 2 go through the same `main()` in-process above: the executable is slow to start.)"""
    if not MESHPLANE.is_file():
        pytest.skip(f"{MESHPLANE} is not installed")
    shutil.copytree(BASE_MESH, tmp_path / "m")
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}

    shutil.copyfile(
        CORPUS_FILES / "domains" / "yaml-bad-indent" / "domain.yaml", tmp_path / "m/domains/crm/domain.yaml"
    )
    broken = subprocess.run(
        [str(MESHPLANE), "lint", "m"], cwd=tmp_path, capture_output=True, text=True, timeout=60, env=env, check=False
    )
    assert broken.returncode == 1
    assert "m/domains/crm/domain.yaml:11:6 error invalid YAML" in broken.stdout
    assert broken.stdout.splitlines()[-1] == "failed m (2 domains, 2 products, 2 contracts): 1 error(s), 1 warning(s)"
    assert "Traceback" not in broken.stdout + broken.stderr


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert re.fullmatch(r"meshplane \d+\.\d+\.\d+\S*\n", result.output)


# ---- acceptance: the example mesh ----------------------------------------------------------------


def _copy_example(tmp_path: Path) -> Path:
    if not (EXAMPLE_MESH / "mesh.yaml").is_file():
        pytest.skip("examples/holding/mesh.yaml does not exist yet (the example mesh is being written)")
    dest = tmp_path / "holding"
    shutil.copytree(EXAMPLE_MESH, dest, ignore=shutil.ignore_patterns("lake", ".meshplane", "__pycache__"))
    return dest


def _cross_domain_input_port(mesh: Path) -> tuple[Path, int, str]:
    """A product file, the 1-based line of one input port's contractId that names another domain's
    contract, and that contract id; found with plain YAML, independently of meshplane."""
    contract_domain: dict[str, str] = {}
    for path in sorted(mesh.glob("domains/*/products/*/contracts/*.odcs.yaml")):
        contract_domain[yaml.safe_load(path.read_text(encoding="utf-8"))["id"]] = path.parts[-5]
    for path in sorted(mesh.glob("domains/*/products/*/product.odps.yaml")):
        domain = path.parts[-4]
        text = path.read_text(encoding="utf-8")
        for port in yaml.safe_load(text).get("inputPorts") or []:
            cid = port["contractId"]
            if contract_domain.get(cid, domain) == domain:
                continue
            lines = text.splitlines()
            start = next(i for i, line in enumerate(lines) if line.startswith("inputPorts:"))
            pattern = re.compile(rf"^\s*(- )?contractId:\s*['\"]?{re.escape(cid)}['\"]?\s*(#.*)?$")
            index = next(i for i in range(start, len(lines)) if pattern.match(lines[i]))
            return path, index + 1, cid
    raise AssertionError("the example mesh has no input port that crosses domains")


def test_example_mesh_lints_clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _copy_example(tmp_path)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["lint", "holding"])
    assert result.exit_code == 0, result.output
    assert ": 0 error(s)" in result.output.splitlines()[-1]


def test_breaking_a_cross_domain_reference_fails_naming_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mesh = _copy_example(tmp_path)
    product, line, contract_id = _cross_domain_input_port(mesh)
    lines = product.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[line - 1] = lines[line - 1].replace(contract_id, f"{contract_id}-gone")
    product.write_text("".join(lines), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    shown = product.relative_to(tmp_path).as_posix()

    result = runner.invoke(app, ["lint", "holding"])
    assert result.exit_code == 1, result.output
    errors = [row for row in result.output.splitlines() if " error " in row]
    assert len(errors) == 1, result.output
    assert errors[0].startswith(f"{shown}:{line}:")
    assert "[unresolved-input-port]" in errors[0] and f"'{contract_id}-gone'" in errors[0]
    assert "Traceback" not in result.output

    as_json = runner.invoke(app, ["lint", "holding", "--format", "json"])
    assert as_json.exit_code == 1
    data = json.loads(as_json.stdout)
    check_json_shape(data)
    assert [(d["code"], d["file"], d["line"]) for d in data["diagnostics"] if d["severity"] == "error"] == [
        ("unresolved-input-port", shown, line)
    ]
