"""Scaffolding: `init` and `new domain|product|contract` write files that lint clean, and refuse
what they cannot do with a message (exit code 2), never half-written output."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from meshplane.diagnostics import MeshplaneError
from meshplane.service.linting import lint_path
from meshplane.service.scaffold import (
    contract_document,
    init_mesh,
    new_contract,
    new_domain,
    new_product,
    placeholder_warnings,
)
from meshplane.spec.loader import load_contract, load_product, load_text


def assert_lints_clean(folder: Path) -> None:
    """No errors; the only warnings name the placeholder texts the author still has to write."""
    report = lint_path(folder)
    assert report.mode == "mesh"
    assert [str(d) for d in report.diagnostics if d.code != "placeholder-text"] == []
    assert all(d.severity.value == "warning" and d.path for d in report.diagnostics)


def test_new_product_leaves_placeholders_that_lint_names_by_field(mesh: Path) -> None:
    new_domain(mesh, "sales", owner="ana")
    written = new_product(mesh, "sales", "orders")
    found = placeholder_warnings(written)
    assert {(Path(d.file or "").name, d.line, d.path) for d in found} == {
        ("product.odps.yaml", 9, "$.description.purpose"),
        ("product.odps.yaml", 10, "$.description.usage"),
        ("orders.odcs.yaml", 9, "$.description.purpose"),
        ("orders.odcs.yaml", 10, "$.description.usage"),
    }
    assert all(d.code == "placeholder-text" and "description." in d.message for d in found)
    assert {d.code for d in lint_path(mesh).diagnostics} == {"placeholder-text"}


def files_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def mesh(tmp_path: Path) -> Path:
    folder = tmp_path / "acme"
    init_mesh(folder)
    return folder


def test_init_writes_a_mesh_that_lints_clean(tmp_path: Path) -> None:
    folder = tmp_path / "acme"
    written = init_mesh(folder)
    assert {p.relative_to(folder).as_posix() for p in written} == {
        "mesh.yaml",
        ".gitignore",
        "README.md",
        "domains/.gitkeep",
    }
    assert yaml.safe_load((folder / "mesh.yaml").read_text(encoding="utf-8"))["name"] == "acme"
    assert_lints_clean(folder)


def test_init_keeps_an_existing_readme_and_gitignore(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("mine\n", encoding="utf-8")
    (tmp_path / ".gitignore").write_text("mine\n", encoding="utf-8")
    written = init_mesh(tmp_path, name="custom")
    assert {p.name for p in written} == {"mesh.yaml", ".gitkeep"}
    assert (tmp_path / "README.md").read_text(encoding="utf-8") == "mine\n"
    assert yaml.safe_load((tmp_path / "mesh.yaml").read_text(encoding="utf-8"))["name"] == "custom"
    assert_lints_clean(tmp_path)


def test_init_refuses_an_existing_mesh(mesh: Path) -> None:
    before = (mesh / "mesh.yaml").read_text(encoding="utf-8")
    with pytest.raises(MeshplaneError, match="already a mesh") as info:
        init_mesh(mesh)
    assert info.value.exit_code == 2
    assert (mesh / "mesh.yaml").read_text(encoding="utf-8") == before


@pytest.mark.parametrize("folder", ["my data mesh", "mesh.v2"])
def test_init_derives_a_valid_name_from_the_folder(tmp_path: Path, folder: str) -> None:
    init_mesh(tmp_path / folder)
    assert_lints_clean(tmp_path / folder)


def test_init_in_a_folder_starting_with_an_underscore_lints_clean(tmp_path: Path) -> None:
    init_mesh(tmp_path / "_scratch")
    assert_lints_clean(tmp_path / "_scratch")


def test_new_domain_product_and_contract_lint_clean(mesh: Path) -> None:
    domain_file = new_domain(mesh, "sales", owner="ana")
    assert domain_file == mesh / "domains" / "sales" / "domain.yaml"
    assert_lints_clean(mesh)

    written = new_product(mesh / "domains", "sales", "orders")
    assert [p.relative_to(mesh).as_posix() for p in written] == [
        "domains/sales/products/orders/product.odps.yaml",
        "domains/sales/products/orders/contracts/orders.odcs.yaml",
    ]
    assert_lints_clean(mesh)

    written = new_contract(mesh, "sales", "orders", "returns")
    assert [p.relative_to(mesh).as_posix() for p in written] == [
        "domains/sales/products/orders/contracts/returns.odcs.yaml",
        "domains/sales/products/orders/product.odps.yaml",
    ]
    assert_lints_clean(mesh)
    product = load_product(mesh / "domains/sales/products/orders/product.odps.yaml").model
    assert product is not None
    assert [(p.name, p.contract_id) for p in product.output_ports or []] == [
        ("orders", "sales.orders.orders"),
        ("returns", "sales.orders.returns"),
    ]


def test_scaffolds_across_domains_lint_clean_together(mesh: Path) -> None:
    for domain in ("sales", "crm"):
        new_domain(mesh, domain, name=domain.upper(), owner="owner1")
        new_product(mesh, domain, "core", port="events")
    assert_lints_clean(mesh)
    contract = load_contract(mesh / "domains/crm/products/core/contracts/events.odcs.yaml").model
    assert contract is not None
    assert (contract.id, contract.domain, contract.version) == ("crm.core.events", "crm", "1.0.0")


def test_contract_document_is_valid_odcs() -> None:
    loaded = load_text(yaml.safe_dump(contract_document("d", "p", "port")), "x.odcs.yaml")
    assert loaded.ok and loaded.diagnostics == []


@pytest.mark.parametrize("bad", ["Sales", "1sales", "sa les", "sales!", "", "-sales", "../x"])
def test_bad_ids_are_refused_before_anything_is_written(mesh: Path, bad: str) -> None:
    new_domain(mesh, "ok", owner="a")
    before = files_under(mesh)
    with pytest.raises(MeshplaneError, match="is not valid") as info:
        new_domain(mesh, bad)
    assert info.value.exit_code == 2
    with pytest.raises(MeshplaneError, match="is not valid"):
        new_product(mesh, "ok", bad)
    with pytest.raises(MeshplaneError, match="is not valid"):
        new_product(mesh, bad, "p")
    if bad:  # an empty port name means "the product's name"
        with pytest.raises(MeshplaneError, match="is not valid"):
            new_product(mesh, "ok", "p", port=bad)
    assert files_under(mesh) == before


def test_domain_id_with_underscore_is_refused_or_lints_clean(mesh: Path) -> None:
    try:
        new_domain(mesh, "my_domain", owner="a")
    except MeshplaneError:
        return
    assert_lints_clean(mesh)


def test_existing_files_are_never_overwritten(mesh: Path) -> None:
    new_domain(mesh, "sales", owner="a")
    new_product(mesh, "sales", "orders")
    before = {p: p.read_bytes() for p in mesh.rglob("*") if p.is_file()}
    with pytest.raises(MeshplaneError, match="already exists"):
        new_domain(mesh, "sales")
    with pytest.raises(MeshplaneError, match="already exists"):
        new_product(mesh, "sales", "orders")
    with pytest.raises(MeshplaneError, match="already has an output port named 'orders'"):
        new_contract(mesh, "sales", "orders", "orders")
    assert {p: p.read_bytes() for p in mesh.rglob("*") if p.is_file()} == before


def test_unknown_domain_and_product_are_refused(mesh: Path) -> None:
    with pytest.raises(MeshplaneError, match="domain 'nowhere' does not exist") as info:
        new_product(mesh, "nowhere", "orders")
    assert "meshplane new domain nowhere" in info.value.message
    new_domain(mesh, "sales", owner="a")
    with pytest.raises(MeshplaneError, match=r"has no valid product\.odps\.yaml") as info:
        new_contract(mesh, "sales", "nothing", "port")
    assert info.value.exit_code == 2
    assert not (mesh / "domains/sales/products").exists()


def test_new_contract_on_a_broken_descriptor_carries_its_diagnostics(mesh: Path) -> None:
    new_domain(mesh, "sales", owner="a")
    new_product(mesh, "sales", "orders")
    descriptor = mesh / "domains/sales/products/orders/product.odps.yaml"
    descriptor.write_text(
        descriptor.read_text(encoding="utf-8").replace("kind: DataProduct", "kind: Product"), encoding="utf-8"
    )
    with pytest.raises(MeshplaneError) as info:
        new_contract(mesh, "sales", "orders", "returns")
    assert [d.code for d in info.value.diagnostics] == ["schema-enum"]
    assert not (mesh / "domains/sales/products/orders/contracts/returns.odcs.yaml").exists()


def test_outside_a_mesh_nothing_is_written(tmp_path: Path) -> None:
    with pytest.raises(MeshplaneError, match=r"no mesh\.yaml found") as info:
        new_domain(tmp_path, "sales")
    assert info.value.exit_code == 2
    assert list(tmp_path.iterdir()) == []


def test_new_contract_keeps_the_descriptors_comments(mesh: Path) -> None:
    new_domain(mesh, "sales", owner="a")
    new_product(mesh, "sales", "orders")
    descriptor = mesh / "domains/sales/products/orders/product.odps.yaml"
    descriptor.write_text(
        "# Owned by the sales data team.\n" + descriptor.read_text(encoding="utf-8"), encoding="utf-8"
    )
    new_contract(mesh, "sales", "orders", "returns")
    assert descriptor.read_text(encoding="utf-8").startswith("# Owned by the sales data team.\n")
