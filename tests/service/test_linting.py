"""The lint use case: a mesh folder, a folder of loose files, or one file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from meshplane.diagnostics import MeshplaneError, Severity
from meshplane.service.linting import LintReport, lint_path

TESTS = Path(__file__).resolve().parents[1]
BASE_MESH = TESTS / "corpus" / "meshes" / "_base"
SALES_CONTRACT = "domains/sales/products/orders/contracts/orders.odcs.yaml"


@pytest.fixture
def mesh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    dest = tmp_path / "m"
    shutil.copytree(BASE_MESH, dest)
    monkeypatch.chdir(tmp_path)
    return Path("m")


def test_mesh_folder(mesh: Path) -> None:
    report = lint_path(mesh)
    assert (report.target, report.mode, report.files) == ("m", "mesh", 7)
    assert report.summary == {"domains": 2, "products": 2, "contracts": 2}
    assert report.diagnostics == [] and not report.has_errors


def test_mesh_yaml_lints_the_whole_mesh(mesh: Path) -> None:
    (mesh / "domains/crm/domain.yaml").write_text("oops: [\n", encoding="utf-8")
    report = lint_path(mesh / "mesh.yaml")
    assert report.mode == "mesh"
    assert [(d.code, d.file) for d in report.diagnostics if d.severity is Severity.ERROR] == [
        ("yaml-syntax", "m/domains/crm/domain.yaml")
    ]


def test_a_subfolder_of_a_mesh_is_linted_with_the_whole_mesh(mesh: Path) -> None:
    report = lint_path(mesh / "domains" / "sales")
    assert report.mode == "mesh"
    assert report.files == 3  # domain.yaml, product, contract
    # the mesh above is loaded, so the domain's support channel counts for the product
    assert report.diagnostics == []
    # a break inside the subfolder is reported; one outside it is not
    contract = mesh / SALES_CONTRACT
    contract.write_text(contract.read_text(encoding="utf-8").replace("domain: sales", "domain: crm"), encoding="utf-8")
    assert [d.code for d in lint_path(mesh / "domains" / "sales").diagnostics] == ["contract-domain-mismatch"]
    assert lint_path(mesh / "domains" / "crm").diagnostics == []


def test_single_contract_references_are_warnings_not_errors(mesh: Path) -> None:
    path = mesh / SALES_CONTRACT
    path.write_text(
        path.read_text(encoding="utf-8").replace("element: orders.updated_at", "element: orders.nope", 1),
        encoding="utf-8",
    )
    report = lint_path(path)
    assert (report.mode, report.files, report.target) == ("file", 1, f"m/{SALES_CONTRACT}")
    assert [(d.code, d.severity, d.line) for d in report.diagnostics] == [("unresolved-element", Severity.WARNING, 48)]
    assert not report.has_errors
    # the same break inside the mesh is an error
    assert [(d.code, d.severity) for d in lint_path(mesh).diagnostics] == [("unresolved-element", Severity.ERROR)]


def test_loose_files_are_checked_without_cross_file_checks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    loose = tmp_path / "loose"
    loose.mkdir()
    shutil.copyfile(BASE_MESH / "domains/crm/products/customers/product.odps.yaml", loose / "customers.odps.yaml")
    (loose / "broken.odcs.yaml").write_text("apiVersion: v3.1.0\nkind: DataContract\n", encoding="utf-8")
    (loose / "notes.txt").write_text("ignored", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    report = lint_path(Path("loose"))
    assert (report.mode, report.files) == ("files", 2)
    codes = [(d.code, d.file) for d in report.diagnostics if d.severity is Severity.ERROR]
    assert codes == [("schema-required", "loose/broken.odcs.yaml")] * 3
    assert {d.message for d in report.diagnostics if d.code == "schema-required"} == {
        f"missing required field '{name}' at the top level" for name in ("id", "version", "status")
    }
    # no cross-file finding: the input port of the product is not resolved against anything
    assert not any(d.code.startswith("unresolved") for d in report.diagnostics)
    assert [d.code for d in report.diagnostics if d.severity is Severity.INFO] == ["not-a-mesh"]


def test_yaml_file_of_unknown_kind_is_an_error_not_unusable(tmp_path: Path) -> None:
    path = tmp_path / "thing.yaml"
    path.write_text("kind: Thing\n", encoding="utf-8")
    report = lint_path(path)
    assert [d.code for d in report.diagnostics] == ["unknown-file-kind"]
    assert report.has_errors


@pytest.mark.parametrize("name", ["missing", "README.txt", "empty"])
def test_unusable_input_is_a_user_error_with_exit_code_2(tmp_path: Path, name: str) -> None:
    (tmp_path / "README.txt").write_text("hello", encoding="utf-8")
    (tmp_path / "empty").mkdir()
    with pytest.raises(MeshplaneError) as info:
        lint_path(tmp_path / name)
    assert info.value.exit_code == 2
    assert name in info.value.message


def test_report_to_dict_shape(mesh: Path) -> None:
    path = mesh / "mesh.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("defaultEngine: duckdb", "defaultEngine: 3"), encoding="utf-8"
    )
    contract = mesh / SALES_CONTRACT
    contract.write_text(
        contract.read_text(encoding="utf-8").replace("        description: Order total in EUR.\n", ""), encoding="utf-8"
    )
    report = lint_path(mesh)
    data = report.to_dict()
    assert list(data) == ["target", "mode", "files", "errors", "warnings", "summary", "diagnostics"]
    assert (data["target"], data["mode"], data["files"]) == ("m", "mesh", 7)
    assert (data["errors"], data["warnings"]) == (1, 1)
    assert data["summary"] == {"domains": 2, "products": 2, "contracts": 2}
    warning, error = data["diagnostics"]  # in file order: m/domains/... before m/mesh.yaml
    assert error == {
        "severity": "error",
        "code": "schema-type",
        "message": "expected string, found integer 3",
        "file": "m/mesh.yaml",
        "line": 8,
        "column": 16,
        "path": "$.defaultEngine",
        "hint": None,
    }
    assert (warning["code"], warning["severity"], warning["line"]) == ("missing-description", "warning", 35)


def test_report_counts_and_order(mesh: Path) -> None:
    path = mesh / "mesh.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "name: again\n", encoding="utf-8")
    contract = mesh / SALES_CONTRACT
    contract.write_text(
        contract.read_text(encoding="utf-8").replace("        description: Order total in EUR.\n", ""), encoding="utf-8"
    )
    report = lint_path(mesh)
    assert isinstance(report, LintReport)
    assert report.counts() == {"error": 1, "warning": 1}
    assert report.has_errors
    keys = [(d.file or "", d.line or 0) for d in report.diagnostics]
    assert keys == sorted(keys)
    assert [d.code for d in report.diagnostics] == ["missing-description", "yaml-duplicate-key"]


def test_a_folder_without_a_mesh_is_not_walked_beyond_barren_folders(tmp_path: Path) -> None:
    # a mesh layout without mesh.yaml: folders without mesh files (domains/, products/) alternate with ones holding them
    layout = tmp_path / "repo" / "domains" / "crm"
    shutil.copytree(BASE_MESH / "domains" / "crm", layout)
    # an unrelated tree: a contract four levels below folders without any mesh file is not searched for
    deep = tmp_path / "repo" / "docs" / "a" / "b" / "c"
    deep.mkdir(parents=True)
    (deep / "far.odcs.yaml").write_text("apiVersion: v3.1.0\nkind: DataContract\n", encoding="utf-8")
    (tmp_path / "repo" / "node_modules" / "x").mkdir(parents=True)
    (tmp_path / "repo" / "node_modules" / "x" / "vendored.odcs.yaml").write_text("x: 1\n", encoding="utf-8")
    report = lint_path(tmp_path / "repo")
    linted = {Path(d.file).name for d in report.diagnostics if d.file}
    assert report.mode == "files" and report.files == len(list(layout.rglob("*.od?s.yaml"))) + 1
    assert "far.odcs.yaml" not in linted and "vendored.odcs.yaml" not in linted
    assert not any(d.code == "lint-search-capped" for d in report.diagnostics)


def test_the_search_for_loose_files_is_capped_with_a_clear_message(tmp_path: Path) -> None:
    for index in range(8):
        (tmp_path / f"f{index}").mkdir()
    with pytest.raises(MeshplaneError) as info:
        lint_path(tmp_path, max_folders=5)
    assert "searched 5 folders, then stopped" in info.value.message
    assert "lint the mesh folder or a narrower path" in info.value.message
    (tmp_path / "f0" / "one.odcs.yaml").write_text("apiVersion: v3.1.0\nkind: DataContract\n", encoding="utf-8")
    report = lint_path(tmp_path, max_folders=5)
    capped = [d for d in report.diagnostics if d.code == "lint-search-capped"]
    assert [d.severity for d in capped] == [Severity.WARNING]
    assert "only the first 5 folders below" in capped[0].message
