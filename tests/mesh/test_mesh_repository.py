"""Loading a whole mesh folder: what is found, how files are named, what cannot be loaded."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from meshplane.diagnostics import MeshplaneError
from meshplane.mesh import find_mesh_root, load_mesh

BASE_MESH = Path(__file__).resolve().parents[1] / "corpus" / "meshes" / "_base"


@pytest.fixture
def mesh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    dest = tmp_path / "mesh"
    shutil.copytree(BASE_MESH, dest)
    monkeypatch.chdir(tmp_path)
    return dest


def test_load_mesh_finds_domains_products_and_contracts(mesh: Path) -> None:
    repo = load_mesh(mesh)
    assert repo.config is not None and repo.config.name == "corpus"
    assert [d.id for d in repo.domains] == ["crm", "sales"]
    assert [(p.domain, p.folder_name, p.id) for p in repo.products] == [
        ("crm", "customers", "crm.customers"),
        ("sales", "orders", "sales.orders"),
    ]
    assert [(c.file, c.product_id) for c in repo.contracts] == [
        ("mesh/domains/crm/products/customers/contracts/customers.odcs.yaml", "crm.customers"),
        ("mesh/domains/sales/products/orders/contracts/orders.odcs.yaml", "sales.orders"),
    ]
    assert repo.file_diagnostics() == []
    assert repo.lake_root == mesh.resolve() / "lake"


def test_lookups(mesh: Path) -> None:
    repo = load_mesh(mesh)
    entry = repo.contract_by_id("sales.orders.orders")
    assert entry is not None and entry.product_folder == "orders" and entry.domain == "sales"
    assert repo.contract_by_id("nope") is None
    product = repo.product_by_id("crm.customers")
    assert product is not None and [c.contract.id for c in product.contracts if c.contract] == [
        "crm.customers.customers"
    ]
    assert repo.domain_by_id("sales") is not None and repo.domain_by_id("nope") is None


def test_files_outside_the_working_folder_keep_their_absolute_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dest = tmp_path / "mesh"
    shutil.copytree(BASE_MESH, dest)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    repo = load_mesh(dest)
    assert repo.config_file.file == str(dest / "mesh.yaml")


def test_hidden_folders_and_other_files_are_ignored(mesh: Path) -> None:
    (mesh / "domains" / ".cache").mkdir()
    (mesh / "domains" / "sales" / "products" / ".tmp").mkdir()
    (mesh / "domains" / "sales" / "products" / "orders" / "contracts" / "notes.md").write_text("x", encoding="utf-8")
    (mesh / "domains" / "README.md").write_text("x", encoding="utf-8")
    repo = load_mesh(mesh)
    assert [d.id for d in repo.domains] == ["crm", "sales"]
    assert len(repo.products) == 2 and len(repo.contracts) == 2


def test_yml_suffixes_are_read(mesh: Path) -> None:
    contracts = mesh / "domains" / "sales" / "products" / "orders" / "contracts"
    (contracts / "orders.odcs.yaml").rename(contracts / "orders.odcs.yml")
    repo = load_mesh(mesh)
    assert [c.path.name for c in repo.contracts] == ["customers.odcs.yaml", "orders.odcs.yml"]


def test_a_second_descriptor_in_a_product_folder_is_an_error(mesh: Path) -> None:
    folder = mesh / "domains" / "sales" / "products" / "orders"
    shutil.copyfile(folder / "product.odps.yaml", folder / "zz-other.odps.yaml")
    repo = load_mesh(mesh)
    diags = [d for d in repo.file_diagnostics() if d.code == "extra-product-descriptor"]
    assert [(d.file, d.line) for d in diags] == [("mesh/domains/sales/products/orders/zz-other.odps.yaml", None)]
    assert "zz-other.odps.yaml" in diags[0].message


def test_a_broken_file_does_not_stop_the_others_from_loading(mesh: Path) -> None:
    path = mesh / "domains" / "sales" / "products" / "orders" / "contracts" / "orders.odcs.yaml"
    path.write_text("a: [\n", encoding="utf-8")
    repo = load_mesh(mesh)
    assert [c.contract is None for c in repo.contracts] == [False, True]
    assert [d.code for d in repo.file_diagnostics()] == ["yaml-syntax"]
    assert repo.product_by_id("sales.orders") is not None


def test_mesh_without_domains_folder_is_empty_not_an_error(tmp_path: Path) -> None:
    shutil.copyfile(BASE_MESH / "mesh.yaml", tmp_path / "mesh.yaml")
    repo = load_mesh(tmp_path)
    assert repo.domains == [] and repo.products == [] and repo.file_diagnostics() == []


def test_not_a_mesh_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(MeshplaneError, match=r"has no mesh\.yaml") as info:
        load_mesh(tmp_path)
    assert info.value.exit_code == 2
    with pytest.raises(MeshplaneError, match="no such file or folder"):
        load_mesh(tmp_path / "missing")


def test_find_mesh_root_walks_up(mesh: Path) -> None:
    deep = mesh / "domains" / "sales" / "products" / "orders" / "contracts"
    assert find_mesh_root(deep) == mesh.resolve()
    assert find_mesh_root(deep / "orders.odcs.yaml") == mesh.resolve()
    assert find_mesh_root(mesh.parent) is None
