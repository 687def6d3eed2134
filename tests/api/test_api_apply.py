"""Apply of mesh bundles through the API: the same plan/apply rules as the CLI, domain-scoped."""

from __future__ import annotations

import shutil
from pathlib import Path

import sqlalchemy as sa
import yaml
from api_support import REPO, World, bundle
from fastapi.testclient import TestClient

from meshplane.registry import Registry
from meshplane.registry import models as m
from meshplane.service.gitops import plan_mesh

CHANGES = REPO / "examples" / "changes"


def apply(client: TestClient, world: World, who: str, files: dict[str, str], **options: object):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/apply", json={"files": files, **options}, headers=world.headers(who))


def audit_count(registry: Registry) -> int:
    with registry.read() as session:
        return session.execute(
            sa.select(sa.func.count()).select_from(m.AuditEntry).where(m.AuditEntry.action == "apply")
        ).scalar_one()


def test_an_unchanged_bundle_is_nothing_to_apply(client: TestClient, world: World, registry: Registry) -> None:
    before = audit_count(registry)
    answer = apply(client, world, "admin", bundle(world.mesh))
    assert answer.status_code == 200
    assert answer.json()["applied"] is False and answer.json()["changes"] == []
    assert audit_count(registry) == before


def test_dry_run_writes_nothing_then_apply_writes_once(client: TestClient, world: World, registry: Registry) -> None:
    files = bundle(world.mesh, {"domains/retail/domain.yaml": lambda t: t.replace("Runs the group", "Runs all")})
    before = audit_count(registry)
    dry = apply(client, world, "maintainer:retail", files, dryRun=True).json()
    assert dry["dryRun"] is True and dry["applied"] is False and dry["domains"] == ["retail"]
    assert dry["changes"] == [
        {"kind": "domain", "action": "update", "id": "retail", "domain": "retail", "fields": ["description"]}
    ]
    assert audit_count(registry) == before
    done = apply(client, world, "maintainer:retail", files).json()
    assert done["applied"] is True and done["auditId"] and done["fingerprint"] == dry["fingerprint"]
    assert audit_count(registry) == before + 1
    with registry.read() as session:
        actor = session.get(m.AuditEntry, done["auditId"])
        assert actor is not None and actor.actor.startswith("ci-retail (maintainer of retail")
    again = apply(client, world, "maintainer:retail", files).json()
    assert again["applied"] is False and audit_count(registry) == before + 1


def test_the_plan_is_the_clis_plan(client: TestClient, world: World, registry: Registry, tmp_path: Path) -> None:
    mesh = Path(shutil.copytree(world.mesh, tmp_path / "next"))
    product = mesh / "domains/retail/products/sales"
    shutil.copy(CHANGES / "retail.sales.orders-1.3.0.odcs.yaml", product / "contracts/orders.odcs.yaml")
    data = yaml.safe_load((product / "product.odps.yaml").read_text(encoding="utf-8"))
    data["outputPorts"][0]["version"] = "1.3.0"
    (product / "product.odps.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    cli_plan = plan_mesh(mesh, registry=registry)
    answer = apply(client, world, "maintainer:retail", bundle(mesh), dryRun=True).json()

    def comparable(changes: list[dict]) -> list[dict]:  # type: ignore[type-arg]
        return [{k: v for k, v in c.items() if k != "file"} for c in changes]

    assert comparable(answer["changes"]) == comparable(cli_plan.change_dicts())
    assert answer["summary"] == cli_plan.summary()
    versions = [c for c in answer["changes"] if c["kind"] == "contractVersion"]
    assert versions[0]["file"] == "domains/retail/products/sales/contracts/orders.odcs.yaml"
    assert versions[0]["diff"]["to"] == "1.3.0"


def test_a_breaking_change_without_major_is_refused_with_the_plan(
    client: TestClient, world: World, registry: Registry, tmp_path: Path
) -> None:
    mesh = Path(shutil.copytree(world.mesh, tmp_path / "next"))
    product = mesh / "domains/customer/products/profiles"
    shutil.copy(CHANGES / "customer.profiles.customers-1.1.0.odcs.yaml", product / "contracts/customers.odcs.yaml")
    data = yaml.safe_load((product / "product.odps.yaml").read_text(encoding="utf-8"))
    data["outputPorts"][0]["version"] = "1.1.0"
    (product / "product.odps.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    before = audit_count(registry)
    refused = apply(client, world, "maintainer:customer", bundle(mesh))
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["type"].endswith("plan-refused")
    assert problem["diagnostics"][0]["code"] == "breaking-without-major"
    assert problem["diagnostics"][0]["file"] == "domains/customer/products/profiles/contracts/customers.odcs.yaml"
    assert problem["plan"]["errors"] and problem["plan"]["applied"] is False
    impact = next(c for c in problem["plan"]["changes"] if c["kind"] == "contractVersion")["impact"]
    assert "retail.sales" in {c["product"] for c in impact["consumers"]}
    assert audit_count(registry) == before
    dry = apply(client, world, "maintainer:customer", bundle(mesh), dryRun=True)
    assert dry.status_code == 200 and dry.json()["errors"][0]["code"] == "breaking-without-major"


def test_a_published_version_is_immutable(client: TestClient, world: World) -> None:
    path = "domains/retail/products/sales/contracts/orders.odcs.yaml"
    files = bundle(world.mesh, {path: lambda t: t.replace("One row per customer order", "One row per order", 1)})
    refused = apply(client, world, "maintainer:retail", files)
    assert refused.status_code == 422
    assert refused.json()["diagnostics"][0]["code"] == "contract-version-immutable"


def test_a_lint_error_is_refused_with_its_location(client: TestClient, world: World) -> None:
    path = "domains/retail/products/sales/product.odps.yaml"
    files = bundle(
        world.mesh,
        {
            path: lambda t: t.replace(
                "contractId: customer.profiles.customers", "contractId: customer.profiles.nobody", 1
            )
        },
    )
    refused = apply(client, world, "admin", files)
    assert refused.status_code == 422
    diagnostic = refused.json()["diagnostics"][0]
    assert diagnostic["file"] == path and diagnostic["line"] and diagnostic["path"] == "$.inputPorts[0].contractId"


def test_a_new_domain_needs_an_admin(client: TestClient, world: World) -> None:
    domain = (world.mesh / "domains/retail/domain.yaml").read_text(encoding="utf-8")
    files = {**bundle(world.mesh), "domains/research/domain.yaml": domain.replace("id: retail", "id: research", 1)}
    assert apply(client, world, "maintainer:retail", files).status_code == 403
    created = apply(client, world, "admin", files)
    assert created.status_code == 200 and created.json()["domains"] == ["research"], created.text


def test_a_relative_lake_root_resolves_where_the_server_sees_the_lake(
    world: World, registry: Registry, tmp_path: Path
) -> None:
    """The bundle's files live in a temporary folder: its relative `lake.root` must not resolve there."""
    from meshplane.api import create_app
    from meshplane.registry import lineage as store
    from meshplane.settings import Settings

    lake_base = tmp_path / "server-view"
    files = bundle(world.mesh, {"domains/retail/domain.yaml": lambda t: t.replace("Runs the group", "Runs all")})
    assert "root: lake" in files["mesh.yaml"]  # relative, as in the example mesh
    with TestClient(create_app(registry, settings=Settings(lake_base=lake_base))) as client:
        answer = apply(client, world, "admin", files)
        assert answer.status_code == 200 and answer.json()["applied"] is True, answer.text
        status = client.get("/api/v1/lineage/status", headers=world.headers("reader")).json()
    expected = (lake_base / "lake").resolve().as_posix()
    assert status["index"]["lakeRoots"] and all(root.endswith(expected) for root in status["index"]["lakeRoots"])
    with registry.read() as session:
        names = list(session.execute(sa.select(store.PortIndexEntry.name)).scalars())
    local = [n for n in names if n.startswith("/")]
    assert local and all(n.startswith(expected) for n in local), local[:3]
    assert not any("meshplane-bundle-" in n for n in names)


def test_the_served_mesh_is_where_relative_lake_roots_resolve(world: World, registry: Registry, tmp_path: Path) -> None:
    from meshplane.api import create_app
    from meshplane.settings import Settings

    assert create_app(registry, settings=Settings(), mesh=world.mesh).state.context.lake_base == world.mesh.resolve()
    chosen = create_app(registry, settings=Settings(lake_base=tmp_path), mesh=world.mesh).state.context
    assert chosen.lake_base == tmp_path  # the setting wins
