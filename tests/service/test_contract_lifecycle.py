"""Contract lifecycle through plan/apply on a small mesh: drafts stay editable, majors side by side."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from majors_support import BASE_MESH, CRM_PRODUCT, ORDERS, SALES_CONTRACT, SALES_PRODUCT, V2_PORT, edit
from meshplane.access import Principal
from meshplane.diagnostics import MeshplaneError
from meshplane.registry import Registry
from meshplane.registry import models as m
from meshplane.service.agreements import request_agreement
from meshplane.service.gitops import PlanRefused, apply_mesh, plan_mesh


@pytest.fixture
def mesh(tmp_path: Path) -> Path:
    return Path(shutil.copytree(BASE_MESH, tmp_path / "m"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Registry]:
    url = f"sqlite:///{tmp_path / 'r.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    with Registry(url) as reg:
        yield reg


def versions(registry: Registry, contract_id: str) -> dict[str, tuple[str, str]]:
    """version -> (status, description.purpose) as registered."""
    with registry.read() as session:
        rows = session.execute(
            sa.select(m.ContractVersion.version, m.ContractVersion.status, m.ContractVersion.document).where(
                m.ContractVersion.contract_id == contract_id
            )
        )
        return {r.version: (r.status, r.document["description"]["purpose"]) for r in rows}


def without_consumer(mesh: Path) -> None:
    """The crm product stops reading orders (a draft may not be read)."""
    edit(
        mesh,
        CRM_PRODUCT,
        "inputPorts:\n  - name: orders\n    version: 1.0.0\n    contractId: sales.orders.orders\n",
        "",
    )


def test_a_draft_is_edited_freely_then_activated(mesh: Path, registry: Registry) -> None:
    without_consumer(mesh)
    edit(mesh, SALES_CONTRACT, "status: active\n", "status: draft\n")
    assert apply_mesh(mesh, registry=registry).changed
    # A breaking edit of the registered draft, same version: no immutability, no semver error.
    edit(
        mesh,
        SALES_CONTRACT,
        "      - name: amount\n        logicalType: number\n",
        "      - name: amount\n        logicalType: string\n",
    )
    edit(mesh, SALES_CONTRACT, "purpose: One row per order of the web shop.", "purpose: Orders, first draft.")
    plan = plan_mesh(mesh, registry=registry)
    assert plan.errors == []
    [change] = [c for c in plan.change_dicts() if c["kind"] == "contractVersion"]
    assert (change["action"], change["version"], change["from"]) == ("update", "1.0.0", None)
    assert plan.counts()["update"] >= 1
    apply_mesh(mesh, registry=registry)
    assert versions(registry, "sales.orders.orders") == {"1.0.0": ("draft", "Orders, first draft.")}
    # Activation is one more edit of the draft; from then on the version is immutable.
    edit(mesh, SALES_CONTRACT, "status: draft\n", "status: active\n")
    apply_mesh(mesh, registry=registry)
    assert versions(registry, "sales.orders.orders") == {"1.0.0": ("active", "Orders, first draft.")}
    edit(mesh, SALES_CONTRACT, "purpose: Orders, first draft.", "purpose: Orders, edited after publishing.")
    with pytest.raises(PlanRefused) as refused:
        apply_mesh(mesh, registry=registry)
    assert [d.code for d in refused.value.plan.errors] == ["contract-version-immutable"]


def test_a_new_draft_version_has_no_semver_obligation_until_it_is_active(mesh: Path, registry: Registry) -> None:
    apply_mesh(mesh, registry=registry)
    without_consumer(mesh)
    edit(mesh, SALES_CONTRACT, "version: 1.0.0\nstatus: active\n", "version: 1.1.0\nstatus: draft\n")
    edit(mesh, SALES_PRODUCT, "    version: 1.0.0\n    contractId", "    version: 1.1.0\n    contractId")
    edit(
        mesh,
        SALES_CONTRACT,
        "      - name: amount\n        logicalType: number\n",
        "      - name: amount\n        logicalType: string\n",
    )
    plan = plan_mesh(mesh, registry=registry)
    assert plan.errors == []
    apply_mesh(mesh, registry=registry)
    edit(mesh, SALES_CONTRACT, "status: draft\n", "status: active\n")
    codes = [d.code for d in plan_mesh(mesh, registry=registry).errors]
    assert codes == ["breaking-without-major"]  # activating it: compared with 1.0.0, the last published


def test_a_draft_as_an_input_port_target_is_refused_by_plan(mesh: Path, registry: Registry) -> None:
    edit(mesh, SALES_CONTRACT, "status: active\n", "status: draft\n")
    with pytest.raises(MeshplaneError) as refused:
        plan_mesh(mesh, registry=registry)
    [problem] = refused.value.diagnostics
    assert problem.code == "input-port-reads-draft"
    assert "crm.customers" in problem.message and "sales.orders" in problem.message


def test_two_majors_side_by_side_keep_one_history(mesh: Path, registry: Registry) -> None:
    apply_mesh(mesh, registry=registry)
    text = (mesh / SALES_CONTRACT).read_text(encoding="utf-8").replace("version: 1.0.0\n", "version: 2.0.0\n")
    text = text.replace(
        "      - name: amount\n        logicalType: number\n", "      - name: amount\n        logicalType: integer\n"
    )
    (mesh / f"{ORDERS}/contracts/orders_v2.odcs.yaml").write_text(text, encoding="utf-8")
    edit(mesh, SALES_PRODUCT, "team:\n", f"{V2_PORT}team:\n")
    plan = plan_mesh(mesh, registry=registry)
    assert plan.errors == []
    [change] = [c for c in plan.change_dicts() if c["kind"] == "contractVersion"]
    assert (change["version"], change["from"], change["diff"]["level"]) == ("2.0.0", "1.0.0", "breaking")
    ports = {c["id"] for c in plan.change_dicts() if c["kind"] == "outputPort"}
    assert ports == {"sales.orders/orders_v2@2.0.0"}
    apply_mesh(mesh, registry=registry)
    assert set(versions(registry, "sales.orders.orders")) == {"1.0.0", "2.0.0"}
    # Within a major, versions stay immutable and semver-checked.
    edit(mesh, SALES_CONTRACT, "purpose: One row per order of the web shop.", "purpose: Changed.")
    with pytest.raises(PlanRefused):
        apply_mesh(mesh, registry=registry)
    assert plan_mesh(mesh, registry=registry).errors[0].code == "contract-version-immutable"
    edit(mesh, SALES_CONTRACT, "purpose: Changed.", "purpose: One row per order of the web shop.")
    edit(mesh, SALES_CONTRACT, "version: 1.0.0\n", "version: 1.1.0\n")
    edit(mesh, SALES_PRODUCT, "    version: 1.0.0\n    contractId", "    version: 1.1.0\n    contractId")
    edit(
        mesh,
        SALES_CONTRACT,
        "      - name: amount\n        logicalType: number\n",
        "      - name: amount\n        logicalType: string\n",
    )
    plan = plan_mesh(mesh, registry=registry)
    [change] = [c for c in plan.change_dicts() if c["kind"] == "contractVersion"]
    assert (change["version"], change["from"]) == ("1.1.0", "1.0.0")
    assert [d.code for d in plan.errors] == ["breaking-without-major"]


def test_a_draft_port_cannot_be_the_target_of_an_agreement(mesh: Path, registry: Registry) -> None:
    without_consumer(mesh)
    edit(mesh, SALES_CONTRACT, "status: active\n", "status: draft\n")
    apply_mesh(mesh, registry=registry)
    ask = {"consumer": "crm.customers", "provider": "sales.orders", "port": "orders", "purpose": "counts"}
    with pytest.raises(MeshplaneError, match=r"'orders' of product 'sales\.orders'.*draft"):
        request_agreement(registry, Principal.local_admin("operator"), **ask)
    edit(mesh, SALES_CONTRACT, "status: draft\n", "status: active\n")
    apply_mesh(mesh, registry=registry)
    assert request_agreement(registry, Principal.local_admin("operator"), **ask).state.value == "requested"
