"""Major versions side by side, and drafts: what lint accepts and refuses across files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from majors_support import BASE_MESH, CRM_PRODUCT, ORDERS, SALES_CONTRACT, SALES_PRODUCT, V2_PORT, edit
from meshplane.diagnostics import Diagnostic, Severity
from meshplane.mesh import load_mesh
from meshplane.service.linting import lint_repository


@pytest.fixture
def mesh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    dest = tmp_path / "m"
    shutil.copytree(BASE_MESH, dest)
    monkeypatch.chdir(tmp_path)
    return dest


def add_major(mesh: Path, version: str = "2.0.0", status: str = "active", port: str = V2_PORT) -> None:
    """A second file of the orders contract at `version`, and an output port for it."""
    text = (mesh / SALES_CONTRACT).read_text(encoding="utf-8")
    text = text.replace("version: 1.0.0\n", f"version: {version}\n").replace("status: active\n", f"status: {status}\n")
    (mesh / f"{ORDERS}/contracts/orders_v2.odcs.yaml").write_text(text, encoding="utf-8")
    edit(mesh, SALES_PRODUCT, "team:\n", f"{port}team:\n")


def errors(mesh: Path) -> list[Diagnostic]:
    return [d for d in lint_repository(load_mesh(mesh)) if d.severity is Severity.ERROR]


def codes(diags: list[Diagnostic]) -> set[tuple[str, str | None, int | None]]:
    return {(d.code, d.file, d.line) for d in diags}


def test_two_majors_of_one_contract_on_two_ports_lint_clean(mesh: Path) -> None:
    add_major(mesh)
    assert errors(mesh) == []


def test_a_consumer_moves_to_the_new_major_by_naming_it(mesh: Path) -> None:
    add_major(mesh)
    edit(mesh, CRM_PRODUCT, "  - name: orders\n    version: 1.0.0\n", "  - name: orders\n    version: 2.0.0\n")
    assert errors(mesh) == []


def test_an_input_port_on_a_major_nobody_publishes_names_what_is_published(mesh: Path) -> None:
    add_major(mesh)
    edit(mesh, CRM_PRODUCT, "  - name: orders\n    version: 1.0.0\n", "  - name: orders\n    version: 3.0.0\n")
    found = errors(mesh)
    assert codes(found) == {("input-port-version-mismatch", f"m/{CRM_PRODUCT}", 12)}
    assert "publishes 1.0.0, 2.0.0" in found[0].message


def test_two_files_of_one_major_are_refused(mesh: Path) -> None:
    add_major(mesh, version="1.1.0", port=V2_PORT.replace("2.0.0", "1.1.0"))
    found = errors(mesh)
    assert codes(found) == {("duplicate-contract-major", f"m/{ORDERS}/contracts/orders_v2.odcs.yaml", 5)}
    assert "major version 1" in found[0].message


def test_the_same_contract_id_in_another_product_is_still_a_duplicate(mesh: Path) -> None:
    crm = mesh / "domains/crm/products/customers/contracts/orders.odcs.yaml"
    text = (mesh / SALES_CONTRACT).read_text(encoding="utf-8").replace("version: 1.0.0\n", "version: 2.0.0\n")
    crm.write_text(text, encoding="utf-8")
    assert "duplicate-contract-id" in {d.code for d in errors(mesh)}


def test_a_port_on_a_version_without_a_file_names_the_versions_there_are(mesh: Path) -> None:
    add_major(mesh, port=V2_PORT.replace("2.0.0", "3.0.0"))
    found = [d for d in errors(mesh) if d.code == "port-version-mismatch"]
    assert len(found) == 1 and found[0].file == f"m/{SALES_PRODUCT}"
    assert "is version 1.0.0, 2.0.0" in found[0].message


def test_an_input_port_on_a_draft_is_refused_naming_both_products(mesh: Path) -> None:
    edit(mesh, SALES_CONTRACT, "status: active\n", "status: draft\n")
    found = errors(mesh)
    assert codes(found) == {("input-port-reads-draft", f"m/{CRM_PRODUCT}", 13)}
    assert "crm.customers" in found[0].message and "sales.orders" in found[0].message


def test_a_draft_beside_an_active_major_only_refuses_the_ports_that_read_it(mesh: Path) -> None:
    add_major(mesh, status="draft")
    assert errors(mesh) == []
    edit(mesh, CRM_PRODUCT, "  - name: orders\n    version: 1.0.0\n", "  - name: orders\n    version: 2.0.0\n")
    assert {d.code for d in errors(mesh)} == {"input-port-reads-draft"}
