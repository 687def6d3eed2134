"""Cross-file checks beyond the corpus: warnings, versions, and where each finding points."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from meshplane.diagnostics import Diagnostic
from meshplane.mesh import load_mesh
from meshplane.mesh.crosscheck import check_mesh

BASE_MESH = Path(__file__).resolve().parents[1] / "corpus" / "meshes" / "_base"
SALES_CONTRACT = "domains/sales/products/orders/contracts/orders.odcs.yaml"
SALES_PRODUCT = "domains/sales/products/orders/product.odps.yaml"
CRM_PRODUCT = "domains/crm/products/customers/product.odps.yaml"
CRM_CONTRACT = "domains/crm/products/customers/contracts/customers.odcs.yaml"


@pytest.fixture
def mesh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    dest = tmp_path / "m"
    shutil.copytree(BASE_MESH, dest)
    monkeypatch.chdir(tmp_path)
    return dest


def edit(mesh: Path, rel: str, old: str, new: str) -> None:
    path = mesh / rel
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} not found exactly once in {rel}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def found(mesh: Path) -> list[Diagnostic]:
    repo = load_mesh(mesh)
    assert repo.file_diagnostics() == []
    return check_mesh(repo)


def summary(diags: list[Diagnostic]) -> set[tuple[str, str, str | None, int | None]]:
    return {(d.code, d.severity.value, d.file, d.line) for d in diags}


def test_clean_mesh_has_no_findings(mesh: Path) -> None:
    assert found(mesh) == []


def test_input_port_accepts_another_minor_of_the_same_major(mesh: Path) -> None:
    edit(mesh, CRM_PRODUCT, "  - name: orders\n    version: 1.0.0\n", "  - name: orders\n    version: 1.7.2\n")
    assert found(mesh) == []


def test_contract_without_domain_is_a_warning(mesh: Path) -> None:
    edit(mesh, SALES_CONTRACT, "domain: sales\n", "")
    diags = found(mesh)
    assert summary(diags) == {("contract-without-domain", "warning", f"m/{SALES_CONTRACT}", 1)}
    assert "expected domain: sales" in diags[0].message


def test_contract_not_bound_to_an_output_port_is_a_warning(mesh: Path) -> None:
    extra = mesh / "domains/sales/products/orders/contracts/returns.odcs.yaml"
    extra.write_text(
        (mesh / SALES_CONTRACT)
        .read_text(encoding="utf-8")
        .replace("id: sales.orders.orders", "id: sales.orders.returns"),
        encoding="utf-8",
    )
    diags = found(mesh)
    assert summary(diags) == {
        ("unbound-contract", "warning", "m/domains/sales/products/orders/contracts/returns.odcs.yaml", 3)
    }
    assert diags[0].path == "$.id"
    assert "'sales.orders.returns' is not bound to any output port of product 'sales.orders'" in diags[0].message


def test_contract_team_without_owner(mesh: Path) -> None:
    edit(
        mesh,
        CRM_CONTRACT,
        "domain: crm\n",
        "domain: crm\nteam:\n  name: CRM\n  members:\n    - username: bo\n      role: steward\n",
    )
    diags = found(mesh)
    assert summary(diags) == {("team-without-owner", "error", f"m/{CRM_CONTRACT}", 9)}
    assert diags[0].path == "$.team"
    assert "team of contract 'crm.customers.customers'" in diags[0].message


def test_product_team_without_members_is_not_checked_for_an_owner(mesh: Path) -> None:
    edit(
        mesh,
        SALES_PRODUCT,
        "  members:\n    - username: ana@sales.example.com\n      role: owner\n",
        "  description: Sales data team.\n",
    )
    assert found(mesh) == []


def test_owner_role_is_matched_case_insensitively(mesh: Path) -> None:
    edit(mesh, SALES_PRODUCT, "      role: owner\n", "      role: ' Owner'\n")
    assert found(mesh) == []


def test_findings_point_at_the_file_that_holds_the_broken_reference(mesh: Path) -> None:
    """Bumping the provider's major breaks the consumer: the consumer's input port is blamed."""
    edit(mesh, SALES_CONTRACT, "version: 1.0.0\n", "version: 2.0.0\n")
    edit(
        mesh,
        SALES_PRODUCT,
        "    version: 1.0.0\n    contractId: sales.orders.orders\n",
        "    version: 2.0.0\n    contractId: sales.orders.orders\n",
    )
    diags = found(mesh)
    assert summary(diags) == {("input-port-version-mismatch", "error", f"m/{CRM_PRODUCT}", 12)}
    assert (
        diags[0].message
        == "input port 'orders' expects major version 1 of 'sales.orders.orders', but sales.orders publishes 2.0.0"
    )


def test_every_cross_file_problem_is_reported_in_one_pass(mesh: Path) -> None:
    edit(mesh, "domains/sales/domain.yaml", "id: sales\n", "id: shop\n")
    edit(mesh, CRM_PRODUCT, "domain: crm\n", "domain: sales\n")
    edit(mesh, CRM_PRODUCT, "    contractId: sales.orders.orders\n", "    contractId: sales.orders.nope\n")
    edit(mesh, CRM_CONTRACT, "domain: crm\n", "domain: crm-x\n")
    codes = sorted(d.code for d in found(mesh))
    assert codes == [
        "contract-domain-mismatch",
        "domain-id-mismatch",
        "product-domain-mismatch",
        "unresolved-input-port",
    ]


def test_a_contract_id_under_another_product_of_the_same_domain_is_an_error(mesh: Path) -> None:
    edit(mesh, CRM_CONTRACT, "id: crm.customers.customers\n", "id: crm.accounts.customers\n")
    edit(mesh, CRM_PRODUCT, "contractId: crm.customers.customers\n", "contractId: crm.accounts.customers\n")
    diags = found(mesh)
    assert summary(diags) == {("id-prefix", "error", f"m/{CRM_CONTRACT}", 3)}
    assert "'crm.customers.'" in diags[0].message and "belongs to" not in diags[0].message
