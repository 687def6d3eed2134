"""The plan/apply use cases on the example mesh and its prepared changes, on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from meshplane.diagnostics import MeshplaneError
from meshplane.mesh import load_mesh
from meshplane.registry import Registry
from meshplane.service.gitops import (
    PlanRefused,
    apply_mesh,
    default_actor,
    desired_state,
    plan_mesh,
)
from meshplane.settings import get_settings

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "holding"
CHANGES = REPO / "examples" / "changes"
CUSTOMERS = Path("domains/customer/products/profiles")
ORDERS = Path("domains/retail/products/sales")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def registry(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Registry]:
    monkeypatch.delenv("MESHPLANE_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    url = f"sqlite:///{tmp_path / 'r.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    with Registry(url) as reg:
        yield reg
    get_settings.cache_clear()


@pytest.fixture
def mesh(tmp_path: Path) -> Path:
    return Path(shutil.copytree(EXAMPLE, tmp_path / "holding", ignore=shutil.ignore_patterns("lake", ".meshplane")))


def play_change(mesh: Path, product: Path, contract_file: str, change: str) -> None:
    """Copy a prepared contract over its original and move the output port to its version."""
    import yaml

    new = yaml.safe_load((CHANGES / change).read_text(encoding="utf-8"))
    shutil.copy(CHANGES / change, mesh / product / "contracts" / contract_file)
    descriptor = mesh / product / "product.odps.yaml"
    data = yaml.safe_load(descriptor.read_text(encoding="utf-8"))
    for port in data["outputPorts"]:
        if port["contractId"] == new["id"]:
            port["version"] = new["version"]
    descriptor.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def test_desired_state_of_the_example() -> None:
    state = desired_state(load_mesh(EXAMPLE))
    assert state.name == "holding"
    assert set(state.domains) == {"retail", "logistics", "finance", "marketing", "customer"}
    assert len(state.products) >= 8 and len(state.contract_versions) >= 8
    sales = state.products["retail.sales"]
    assert sales.domain == "retail" and sales.team is not None and sales.team.members
    assert {p.contract_id for p in sales.input_ports} >= {"customer.profiles.customers"}
    assert all(len(c.sha256) == 64 for c in state.contract_versions)


def test_plan_json_shape_on_an_empty_registry(mesh: Path, registry: Registry) -> None:
    plan = plan_mesh(mesh, registry=registry).to_dict()
    assert set(plan) == {"changes", "errors"} and plan["errors"] == []
    kinds = [c["kind"] for c in plan["changes"]]
    assert kinds.index("domain") < kinds.index("product") < kinds.index("contractVersion")
    version = next(c for c in plan["changes"] if c["kind"] == "contractVersion")
    assert set(version) == {"kind", "action", "id", "version", "from", "domain", "product", "file", "diff", "impact"}
    port = next(c for c in plan["changes"] if c["kind"] == "inputPort")
    assert {"id", "product", "domain", "name", "version", "contractId"} <= set(port)


def test_prepared_breaking_change_is_refused_and_shows_its_cross_domain_impact(mesh: Path, registry: Registry) -> None:
    apply_mesh(mesh, registry=registry)
    play_change(mesh, CUSTOMERS, "customers.odcs.yaml", "customer.profiles.customers-1.1.0.odcs.yaml")
    plan = plan_mesh(mesh, registry=registry)
    assert [e.code for e in plan.errors] == ["breaking-without-major"]
    assert "segment" in plan.errors[0].message and plan.errors[0].hint and "2.0.0" in plan.errors[0].hint
    [version] = plan.versions
    assert version.diff is not None and version.diff.required_bump == "major" and not version.diff.semver_ok
    assert version.impact is not None
    direct = {c.consumer.product: c for c in version.impact.consumers if c.consumer.depth == 1}
    assert {"marketing.campaign_performance", "customer.customer360", "retail.sales"} <= set(direct)
    marketing = direct["marketing.campaign_performance"].consumer
    assert marketing.domain == "marketing" and marketing.team and marketing.path[0] == "customer.profiles"
    assert any(c.consumer.depth >= 2 for c in version.impact.consumers), "transitive consumers through retail.sales"
    assert {(c.column.object_name, c.column.property_name) for c in version.impact.columns} >= {
        ("customers", "segment")
    }
    with pytest.raises(PlanRefused) as refused:
        apply_mesh(mesh, registry=registry)
    assert refused.value.plan.errors == plan.errors
    assert plan_mesh(mesh, registry=registry).versions, "nothing was written"


def test_prepared_non_breaking_change_is_accepted(mesh: Path, registry: Registry) -> None:
    apply_mesh(mesh, registry=registry)
    play_change(mesh, ORDERS, "orders.odcs.yaml", "retail.sales.orders-1.3.0.odcs.yaml")
    plan = plan_mesh(mesh, registry=registry)
    assert plan.errors == []
    [version] = plan.versions
    assert (version.base_version, version.spec.version) == ("1.2.0", "1.3.0")
    assert version.diff is not None and str(version.diff.level) == "non-breaking" and version.impact is None
    result = apply_mesh(mesh, registry=registry, actor="retail-ci")
    assert result.changed and result.actor == "retail-ci"
    assert plan_mesh(mesh, registry=registry).empty


def test_lint_errors_refuse_plan_and_apply(mesh: Path, registry: Registry) -> None:
    (mesh / ORDERS / "product.odps.yaml").write_text("kind: DataProduct\nid: [broken\n", encoding="utf-8")
    for use_case in (plan_mesh, apply_mesh):
        with pytest.raises(MeshplaneError) as refused:
            use_case(mesh, registry=registry)  # type: ignore[operator]
        assert refused.value.exit_code == 1 and refused.value.diagnostics
        assert "lint" in refused.value.message


def test_apply_refuses_when_the_registry_moved_since_the_plan(mesh: Path, registry: Registry) -> None:
    shown = plan_mesh(mesh, registry=registry)
    apply_mesh(mesh, registry=registry)
    play_change(mesh, ORDERS, "orders.odcs.yaml", "retail.sales.orders-1.3.0.odcs.yaml")
    with pytest.raises(MeshplaneError, match="changed since the plan"):
        apply_mesh(mesh, registry=registry, expected_fingerprint=shown.fingerprint)


def test_plan_fingerprint_is_stable(mesh: Path, registry: Registry) -> None:
    assert plan_mesh(mesh, registry=registry).fingerprint == plan_mesh(mesh, registry=registry).fingerprint


def test_counts_and_summary(mesh: Path, registry: Registry) -> None:
    plan = plan_mesh(mesh, registry=registry)
    counts = plan.counts()
    assert counts["create"] == len(plan.change_dicts()) and counts["retire"] == 0
    assert plan.summary().startswith(f"{counts['create']} to create")


def test_default_actor_is_a_name() -> None:
    assert default_actor()


def test_not_a_mesh_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(MeshplaneError) as refused:
        plan_mesh(tmp_path)
    assert refused.value.exit_code == 2


def test_a_loaded_repository_is_linted_too(mesh: Path, registry: Registry) -> None:
    (mesh / ORDERS / "product.odps.yaml").write_text("kind: DataProduct\nid: [broken\n", encoding="utf-8")
    repo = load_mesh(mesh)
    with pytest.raises(MeshplaneError, match="lint"):
        apply_mesh(repo, registry=registry)


def test_a_writer_bypassing_the_lock_is_a_message(
    mesh: Path, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlalchemy as sa

    from meshplane.service import gitops

    def collide(*args: object, **kwargs: object) -> int:
        raise sa.exc.IntegrityError("INSERT", {}, Exception("duplicate key"))

    monkeypatch.setattr(gitops, "write_changes", collide)
    with pytest.raises(MeshplaneError, match="concurrent writer") as refused:
        apply_mesh(mesh, registry=registry)
    assert refused.value.exit_code == 1


def test_a_contract_version_the_diff_cannot_read_is_refused_by_the_plan(mesh: Path, registry: Registry) -> None:
    # one SemVer reader (meshplane.spec.versions): `1.2` used to be registered, then refused by every diff
    for path, old, new in (
        (ORDERS / "contracts" / "orders.odcs.yaml", "version: 1.2.0\n", "version: '1.2'\n"),
        (ORDERS / "product.odps.yaml", "    version: 1.2.0\n", "    version: '1.2'\n"),
    ):
        text = (mesh / path).read_text(encoding="utf-8")
        (mesh / path).write_text(text.replace(old, new, 1), encoding="utf-8")
    plan = plan_mesh(mesh, registry=registry)
    [error] = plan.errors
    assert error.code == "invalid-contract-version" and "has version '1.2'" in error.message


def test_a_plan_shown_before_another_apply_is_not_applied(registry: Registry, mesh: Path, tmp_path: Path) -> None:
    apply_mesh(mesh, registry=registry, actor="t")
    other = Path(shutil.copytree(mesh, tmp_path / "other"))
    for folder, text in ((mesh, "Ours."), (other, "Theirs.")):
        domain = folder / "domains/customer/domain.yaml"
        changed = domain.read_text(encoding="utf-8").replace("Customer master data (CRM)", text, 1)
        assert changed != domain.read_text(encoding="utf-8")
        domain.write_text(changed, encoding="utf-8")
    shown = plan_mesh(mesh, registry=registry)
    assert shown.state > 0 and not shown.empty
    apply_mesh(other, registry=registry, actor="someone else")  # the registry moves on meanwhile
    again = plan_mesh(mesh, registry=registry)
    assert again.fingerprint == shown.fingerprint, "the same change again: only the state tells"
    assert again.state > shown.state
    with pytest.raises(MeshplaneError, match="registry changed since the plan was shown") as refused:
        apply_mesh(
            mesh, registry=registry, expected_fingerprint=shown.fingerprint, expected_state=shown.state, actor="t"
        )
    assert refused.value.exit_code == 1
    assert plan_mesh(mesh, registry=registry).state == again.state, "nothing was written"
    applied = apply_mesh(mesh, registry=registry, expected_state=again.state, actor="t")
    assert applied.changed
