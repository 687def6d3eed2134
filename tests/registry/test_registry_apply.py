"""plan → apply → plan on real databases (SQLite file and PostgreSQL): content, history, refusals, prune."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from registry_helpers import bump_contract, counts, edit_yaml, product_dir
from synthetic_mesh import write_synthetic_mesh

from meshplane.diagnostics import MeshplaneError
from meshplane.registry import Registry, list_test_runs, record_test_run
from meshplane.registry import models as m
from meshplane.registry.writer import _Writer
from meshplane.service.gitops import PlanRefused, apply_mesh, plan_mesh


@pytest.fixture
def mesh(tmp_path: Path) -> Path:
    write_synthetic_mesh(tmp_path / "mesh", domains=3, products=12, edges=20)
    return tmp_path / "mesh"


def test_example_mesh_plan_apply_plan_shows_no_changes(example_mesh: Path, registry: Registry) -> None:
    first = plan_mesh(example_mesh, registry=registry)
    assert not first.has_errors, [str(e) for e in first.errors]
    assert first.to_dict()["changes"]
    result = apply_mesh(example_mesh, registry=registry, actor="ci")
    assert result.changed
    second = plan_mesh(example_mesh, registry=registry)
    assert second.to_dict() == {"changes": [], "errors": []}
    assert not apply_mesh(example_mesh, registry=registry).changed


def test_apply_records_everything_once(mesh: Path, registry: Registry) -> None:
    result = apply_mesh(mesh, registry=registry, actor="alice")
    n = counts(registry)
    assert n["domains"] == 3 and n["products"] == 12 and n["contracts"] == 12 and n["contract_versions"] == 12
    assert n["output_ports"] == 12 and n["input_ports"] == 20 and n["product_descriptors"] == 12
    assert n["teams"] == 15 and n["team_members"] == 30 and n["audit_log"] == 1
    with registry.read() as session:
        audit = session.get(m.AuditEntry, result.audit_id)
        assert audit is not None and audit.actor == "alice" and audit.action == "apply"
        assert audit.details["counts"]["create"] == len(result.plan.change_dicts())
        version = session.execute(sa.select(m.ContractVersion).limit(1)).scalar_one()
        assert version.applied_by == "alice" and version.audit_id == result.audit_id and len(version.sha256) == 64
        assert version.document["id"] == version.contract_id and version.applied_at.tzinfo is not None
    again = apply_mesh(mesh, registry=registry, actor="bob")
    assert not again.changed and counts(registry) == n


def test_descriptor_history_grows_on_change(mesh: Path, registry: Registry) -> None:
    apply_mesh(mesh, registry=registry)
    edit_yaml(product_dir(mesh, "d000.p00000") / "product.odps.yaml", lambda d: d.update(name="Renamed"))
    plan = plan_mesh(mesh, registry=registry)
    assert [(c["kind"], c["action"], c.get("fields")) for c in plan.to_dict()["changes"]] == [
        ("product", "update", ["name"])
    ]
    apply_mesh(mesh, registry=registry)
    with registry.read() as session:
        product = session.get(m.Product, "d000.p00000")
        assert product is not None and product.revision == 2 and product.name == "Renamed"
        revisions = session.execute(
            sa.select(m.ProductDescriptor.revision, m.ProductDescriptor.document)
            .where(m.ProductDescriptor.product_id == "d000.p00000")
            .order_by(m.ProductDescriptor.revision)
        ).all()
        assert [r.revision for r in revisions] == [1, 2] and revisions[1].document["name"] == "Renamed"


def test_changed_content_under_a_registered_version_is_refused(mesh: Path, registry: Registry) -> None:
    apply_mesh(mesh, registry=registry)
    before = counts(registry)
    contract = product_dir(mesh, "d000.p00000") / "contracts" / "out0.odcs.yaml"
    edit_yaml(contract, lambda d: d["description"].update(purpose="Sneaky edit."))
    plan = plan_mesh(mesh, registry=registry)
    assert [e.code for e in plan.errors] == ["contract-version-immutable"]
    assert plan.errors[0].file is not None and plan.errors[0].file.endswith("out0.odcs.yaml")
    with pytest.raises(PlanRefused) as refused:
        apply_mesh(mesh, registry=registry)
    assert refused.value.exit_code == 1
    assert counts(registry) == before


def test_breaking_change_without_major_bump_is_refused_with_its_impact(mesh: Path, registry: Registry) -> None:
    apply_mesh(mesh, registry=registry)
    before = counts(registry)

    def drop_column(data: dict[str, Any]) -> None:
        data["schema"][0]["properties"] = [p for p in data["schema"][0]["properties"] if p["name"] != "c1"]

    bump_contract(mesh, "d000.p00000", "1.1.0", drop_column)
    plan = plan_mesh(mesh, registry=registry)
    assert [e.code for e in plan.errors] == ["breaking-without-major"]
    [version] = [c for c in plan.to_dict()["changes"] if c["kind"] == "contractVersion"]
    assert (version["id"], version["version"], version["from"]) == ("d000.p00000.out0", "1.1.0", "1.0.0")
    assert version["diff"]["level"] == "breaking" and version["diff"]["semverOk"] is False
    impact = version["impact"]
    assert impact["consumers"], "product 0 is consumed in the synthetic mesh"
    first = impact["consumers"][0]
    assert first["depth"] == 1 and first["path"][0] == "d000.p00000" and first["usage"] == "affected"
    assert {"product", "domain", "team", "depth", "path"} <= set(first)
    assert impact["columns"][0]["object"] == "data" and impact["columns"][0]["property"] == "c1"
    with pytest.raises(PlanRefused):
        apply_mesh(mesh, registry=registry)
    assert counts(registry) == before


def test_major_bump_of_an_unconsumed_contract_is_accepted(mesh: Path, registry: Registry) -> None:
    apply_mesh(mesh, registry=registry)
    leaf = "d002.p00011"  # the last product: nobody consumes it

    def drop_column(data: dict[str, Any]) -> None:
        data["schema"][0]["properties"].pop()

    bump_contract(mesh, leaf, "2.0.0", drop_column)
    plan = plan_mesh(mesh, registry=registry)
    assert not plan.errors
    [version] = plan.versions
    assert version.diff is not None and version.diff.semver_ok and version.impact is not None
    assert version.impact.consumers == []
    apply_mesh(mesh, registry=registry)
    with registry.read() as session:
        contract = session.get(m.Contract, f"{leaf}.out0")
        assert contract is not None and contract.latest_version == "2.0.0"
        versions = (
            session.execute(sa.select(m.ContractVersion.version).where(m.ContractVersion.contract_id == f"{leaf}.out0"))
            .scalars()
            .all()
        )
        assert sorted(versions) == ["1.0.0", "2.0.0"]


def test_major_bump_of_a_consumed_contract_is_refused_by_lint(mesh: Path, registry: Registry) -> None:
    apply_mesh(mesh, registry=registry)
    bump_contract(mesh, "d000.p00000", "2.0.0")
    with pytest.raises(MeshplaneError) as refused:
        plan_mesh(mesh, registry=registry)
    assert refused.value.exit_code == 1 and refused.value.diagnostics


def test_removing_a_port_still_consumed_in_the_registry_is_refused(mesh: Path, registry: Registry) -> None:
    apply_mesh(mesh, registry=registry)
    consumers = [p for p, c in _edges(mesh) if c == "d000.p00000.out0"]
    assert consumers
    # Take the consumers (and, transitively, theirs, which would fail lint) out of the repo; without
    # --prune they stay registered and keep consuming.
    gone: set[str] = set()
    frontier = set(consumers)
    while frontier:
        gone |= frontier
        frontier = {p for p, c in _edges(mesh) if c.rsplit(".", 1)[0] in gone} - gone
        for product in gone:
            if product_dir(mesh, product).exists():
                product_dir(mesh, product).rename(mesh.parent / product)
    bump_contract(mesh, "d000.p00000", "2.0.0")
    plan = plan_mesh(mesh, registry=registry)
    assert [e.code for e in plan.errors] == ["port-has-consumers"]
    assert all(c in plan.errors[0].message for c in consumers)
    assert plan_mesh(mesh, registry=registry, prune=True).errors == []


def _edges(mesh: Path) -> list[tuple[str, str]]:
    out = []
    for descriptor in mesh.glob("domains/*/products/*/product.odps.yaml"):
        data = yaml.safe_load(descriptor.read_text(encoding="utf-8"))
        out += [(data["id"], port["contractId"]) for port in data.get("inputPorts", [])]
    return out


def test_non_breaking_minor_bump_is_accepted(mesh: Path, registry: Registry) -> None:
    apply_mesh(mesh, registry=registry)

    def add_optional(data: dict[str, Any]) -> None:
        data["schema"][0]["properties"].append(
            {
                "name": "extra",
                "logicalType": "string",
                "required": False,
                "description": "New.",
                "classification": "internal",
            }
        )

    bump_contract(mesh, "d000.p00000", "1.1.0", add_optional)
    plan = plan_mesh(mesh, registry=registry)
    assert not plan.errors
    [version] = plan.versions
    assert version.diff is not None and str(version.diff.level) == "non-breaking" and version.impact is None
    apply_mesh(mesh, registry=registry)
    assert plan_mesh(mesh, registry=registry).empty


def test_prune_retires_and_a_comeback_restores(mesh: Path, registry: Registry) -> None:
    apply_mesh(mesh, registry=registry)
    leaf = product_dir(mesh, "d002.p00011")
    parked = mesh.parent / "parked"
    leaf.rename(parked)
    kept = plan_mesh(mesh, registry=registry)
    assert kept.empty and {c.id for c in kept.changeset.absent} == {"d002.p00011", "d002.p00011.out0"}
    pruned = apply_mesh(mesh, registry=registry, prune=True)
    assert {(c["kind"], c["action"]) for c in pruned.plan.change_dicts()} == {
        ("product", "retire"),
        ("outputPort", "retire"),
        ("inputPort", "retire"),
        ("contract", "retire"),
    }
    with registry.read() as session:
        product = session.get(m.Product, "d002.p00011")
        assert product is not None and product.retired_at is not None
        assert session.get(m.Contract, "d002.p00011.out0").retired_at is not None  # type: ignore[union-attr]
        assert (
            session.execute(
                sa.select(sa.func.count())
                .select_from(m.ContractVersion)
                .where(m.ContractVersion.contract_id == "d002.p00011.out0")
            ).scalar_one()
            == 1
        )
    assert plan_mesh(mesh, registry=registry, prune=True).empty
    parked.rename(leaf)
    back = plan_mesh(mesh, registry=registry)
    assert {(c["kind"], c["action"]) for c in back.change_dicts()} == {
        ("product", "restore"),
        ("outputPort", "restore"),
        ("inputPort", "restore"),
        ("contract", "restore"),
    }
    apply_mesh(mesh, registry=registry)
    assert plan_mesh(mesh, registry=registry).empty


def test_apply_is_all_or_nothing(mesh: Path, registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(self: _Writer) -> None:
        raise RuntimeError("disk full (simulated)")

    monkeypatch.setattr(_Writer, "contracts", explode)
    with pytest.raises(RuntimeError, match="simulated"):
        apply_mesh(mesh, registry=registry)
    assert set(counts(registry).values()) == {0}


def test_test_runs_are_recorded_with_their_checks(mesh: Path, registry: Registry) -> None:
    apply_mesh(mesh, registry=registry)
    run = {
        "contract": {"id": "d000.p00000.out0", "version": "1.0.0"},
        "server": "lake",
        "engine": "duckdb",
        "result": "failed",
        "startedAt": "2026-01-02T03:04:05Z",
        "finishedAt": "2026-01-02T03:04:06+00:00",
        "dataVersion": "snapshot-7",
        "checks": [
            {
                "id": "data.row_count",
                "kind": "rowCount",
                "object": "data",
                "property": None,
                "status": "passed",
                "severity": "error",
                "observed": 10,
                "threshold": "> 0",
                "message": "10 rows",
            },
            {
                "id": "data.c1.nulls",
                "kind": "nullValues",
                "object": "data",
                "property": "c1",
                "status": "failed",
                "severity": "error",
                "observed": {"count": 3},
                "threshold": "= 0",
                "message": "3 nulls",
                "sample": [[1], [2]],
            },
        ],
    }
    run_id = record_test_run(registry, run, actor="ci")
    record_test_run(registry, run | {"contract": {"id": "not.registered", "version": "0.1.0"}, "checks": []})
    [stored] = list_test_runs(registry, "d000.p00000.out0")
    assert (stored.id, stored.result, stored.check_count, stored.registered_version) == (run_id, "failed", 2, True)
    assert stored.started_at.isoformat() == "2026-01-02T03:04:05+00:00"
    assert not list_test_runs(registry, "not.registered")[0].registered_version
    with registry.read() as session:
        checks = (
            session.execute(
                sa.select(m.CheckResult).where(m.CheckResult.test_run_id == run_id).order_by(m.CheckResult.position)
            )
            .scalars()
            .all()
        )
        assert [(c.check_id, c.status, c.property) for c in checks] == [
            ("data.row_count", "passed", None),
            ("data.c1.nulls", "failed", "c1"),
        ]
        assert checks[1].observed == {"count": 3} and checks[1].extra == {"sample": [[1], [2]]}
        assert session.get(m.TestRun, run_id).extra == {"dataVersion": "snapshot-7"}  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        ({"contract": {"id": "x"}}, "'contract'"),
        ({"result": "great"}, "'result'"),
        ({"startedAt": "yesterday"}, "startedAt"),
        ({"checks": ["nope"]}, "'checks'"),
    ],
)
def test_bad_test_runs_are_refused(registry: Registry, broken: dict[str, Any], message: str) -> None:
    run = {"contract": {"id": "c", "version": "1.0.0"}, "result": "passed", "startedAt": "2026-01-01T00:00:00Z"}
    with pytest.raises(MeshplaneError, match=message):
        record_test_run(registry, run | broken)


def test_a_real_test_run_is_recorded_as_it_is(registry: Registry) -> None:
    """`meshplane.checks` runs (their `to_dict()`, the `test --format json` shape) are stored unchanged."""
    from datetime import UTC, datetime

    from meshplane.checks.model import CheckResult, CheckSpec, Status, TestRun

    spec = CheckSpec(
        id="orders.row_count", kind="rowCount", object="orders", severity="error", dimension="completeness"
    )
    run = TestRun(
        "retail.sales.orders",
        "1.2.0",
        "lake",
        "duckdb",
        datetime(2026, 1, 1, 8, 0, tzinfo=UTC),
        datetime(2026, 1, 1, 8, 0, 2, tzinfo=UTC),
        [CheckResult(spec, Status.PASSED, 42, "> 0", "42 rows")],
    )
    run_id = record_test_run(registry, run.to_dict(), actor="ci")
    [stored] = list_test_runs(registry, "retail.sales.orders")
    assert (stored.id, stored.result, stored.check_count, stored.registered_version) == (run_id, "passed", 1, False)
    with registry.read() as session:
        check = session.execute(sa.select(m.CheckResult).where(m.CheckResult.test_run_id == run_id)).scalar_one()
        assert (check.check_id, check.kind, check.observed, check.threshold) == (
            "orders.row_count",
            "rowCount",
            42,
            "> 0",
        )
        assert check.extra == {"dimension": "completeness", "name": None}
