"""Deprecation and sunset on a small mesh: plan lists who is still on a deprecated port, consumers move
one by one, `migrations` shows the move, and removing the old port is refused until sunset and no reader."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from majors_support import BASE_MESH, CRM_PRODUCT, ORDERS, SALES_CONTRACT, SALES_PRODUCT, V2_PORT, edit
from meshplane.access import Principal
from meshplane.diagnostics import MeshplaneError, Severity
from meshplane.errors import NotFound
from meshplane.registry import Registry
from meshplane.service.agreements import request_agreement, set_auto_approve
from meshplane.service.gitops import PlanRefused, apply_mesh, plan_mesh
from meshplane.service.impact import impact_of
from meshplane.service.migrations import list_migrations, migrate_agreement

OLD_PORT = """  - name: orders
    description: One row per order.
    type: tables
    version: 1.0.0
    contractId: sales.orders.orders
"""
SOON = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
PAST = "2020-01-31"


@pytest.fixture
def mesh(tmp_path: Path) -> Path:
    return Path(shutil.copytree(BASE_MESH, tmp_path / "m"))


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    with Registry(f"sqlite:///{tmp_path / 'r.db'}") as reg:
        yield reg


def deprecated(sunset: str) -> str:
    return OLD_PORT + (
        "    customProperties:\n"
        "      - property: deprecated\n        value: true\n"
        f"      - property: sunsetDate\n        value: '{sunset}'\n"
        "      - property: replacedBy\n        value: orders_v2\n"
    )


def publish_v2(mesh: Path, sunset: str) -> None:
    """2.0.0 beside 1.0.0 on its own port; the old port deprecated with a sunset date."""
    text = (mesh / SALES_CONTRACT).read_text(encoding="utf-8").replace("version: 1.0.0\n", "version: 2.0.0\n")
    text = text.replace(
        "      - name: amount\n        logicalType: number\n", "      - name: amount\n        logicalType: integer\n"
    )
    (mesh / f"{ORDERS}/contracts/orders_v2.odcs.yaml").write_text(text, encoding="utf-8")
    edit(mesh, SALES_PRODUCT, OLD_PORT, deprecated(sunset) + V2_PORT)


def move_consumer(mesh: Path) -> None:
    edit(mesh, CRM_PRODUCT, "  - name: orders\n    version: 1.0.0\n", "  - name: orders\n    version: 2.0.0\n")


def drop_old_port(mesh: Path, sunset: str) -> None:
    """The old port leaves the descriptor (its contract file goes too; its versions stay registered)."""
    edit(mesh, SALES_PRODUCT, deprecated(sunset), "")
    (mesh / SALES_CONTRACT).unlink()


def test_plan_lists_the_consumers_still_on_a_deprecated_port_with_their_teams(mesh: Path, registry: Registry) -> None:
    apply_mesh(mesh, registry=registry)
    publish_v2(mesh, SOON)
    plan = plan_mesh(mesh, registry=registry)
    assert not plan.has_errors
    [note] = [d for d in plan.errors if d.code == "port-deprecated"]
    assert note.severity is Severity.WARNING and note.file and note.file.endswith("product.odps.yaml")
    assert "sales.orders/orders@1.0.0 is deprecated (sunset " in note.message
    assert "30 day(s) left" in note.message and "moving to sales.orders/orders_v2@2.0.0" in note.message
    assert "crm.customers (inputPort orders, team " in note.message


def test_migrations_show_the_move_one_consumer_at_a_time(mesh: Path, registry: Registry) -> None:
    apply_mesh(mesh, registry=registry)
    publish_v2(mesh, SOON)
    apply_mesh(mesh, registry=registry)
    [row] = list_migrations(registry)
    assert row["old"] == {"product": "sales.orders", "port": "orders", "version": "1.0.0"}
    assert row["new"] == {"product": "sales.orders", "port": "orders_v2", "version": "2.0.0"}
    assert (row["sunsetDate"], row["daysToSunset"], row["moved"]) == (SOON, 30, [])
    assert [(c["product"], c["how"], c["domain"]) for c in row["remaining"]] == [("crm.customers", "inputPort", "crm")]
    move_consumer(mesh)
    apply_mesh(mesh, registry=registry)
    [row] = list_migrations(registry)
    assert [(c["product"], c["how"]) for c in row["moved"]] == [("crm.customers", "inputPort")]
    assert row["remaining"] == []
    assert list_migrations(registry, domain="crm") == []  # filtered by the provider's domain


def test_an_agreement_on_the_old_port_keeps_its_consumer_on_the_list(mesh: Path, registry: Registry) -> None:
    apply_mesh(mesh, registry=registry)
    publish_v2(mesh, SOON)
    move_consumer(mesh)
    apply_mesh(mesh, registry=registry)
    ask = {"consumer": "crm.customers", "provider": "sales.orders", "port": "orders", "purpose": "counts"}
    request_agreement(registry, Principal.local_admin("operator"), **ask)
    [row] = list_migrations(registry)
    assert [(c["product"], c["how"], c["detail"]) for c in row["remaining"]] == [
        ("crm.customers", "agreement", "requested")
    ]


def test_removing_the_old_port_while_a_consumer_declares_it_is_refused(mesh: Path, registry: Registry) -> None:
    apply_mesh(mesh, registry=registry)
    publish_v2(mesh, PAST)
    apply_mesh(mesh, registry=registry)
    drop_old_port(mesh, PAST)
    with pytest.raises(MeshplaneError) as refused:  # lint already names the consumer's input port
        plan_mesh(mesh, registry=registry)
    assert [d.code for d in refused.value.diagnostics] == ["input-port-version-mismatch"]
    assert "crm" in (refused.value.diagnostics[0].file or "")


def test_removing_the_old_port_before_sunset_is_refused(mesh: Path, registry: Registry) -> None:
    apply_mesh(mesh, registry=registry)
    publish_v2(mesh, SOON)
    move_consumer(mesh)
    apply_mesh(mesh, registry=registry)
    drop_old_port(mesh, SOON)
    with pytest.raises(PlanRefused) as refused:
        apply_mesh(mesh, registry=registry)
    [blocked] = refused.value.plan.errors
    assert blocked.code == "port-removal-blocked"
    assert blocked.message == (
        f"deprecated output port sales.orders/orders@1.0.0 cannot be removed yet: its sunset date {SOON} has not passed"
    )


def test_removing_the_old_port_after_sunset_while_an_agreement_covers_it_is_refused(
    mesh: Path, registry: Registry
) -> None:
    apply_mesh(mesh, registry=registry)
    publish_v2(mesh, PAST)
    move_consumer(mesh)
    apply_mesh(mesh, registry=registry)
    ask = {"consumer": "crm.customers", "provider": "sales.orders", "port": "orders", "purpose": "counts"}
    request_agreement(registry, Principal.local_admin("operator"), **ask)
    drop_old_port(mesh, PAST)
    [blocked] = plan_mesh(mesh, registry=registry).errors
    assert blocked.code == "port-removal-blocked" and "sunset" not in blocked.message
    assert "still on it: crm.customers (agreement requested, team " in blocked.message


def test_removing_the_old_port_after_sunset_with_no_reader_is_allowed(mesh: Path, registry: Registry) -> None:
    apply_mesh(mesh, registry=registry)
    publish_v2(mesh, PAST)
    move_consumer(mesh)
    apply_mesh(mesh, registry=registry)
    drop_old_port(mesh, PAST)
    plan = plan_mesh(mesh, registry=registry)
    assert plan.errors == []
    apply_mesh(mesh, registry=registry)
    assert list_migrations(registry) == []


def test_a_malformed_sunset_date_is_a_lint_error(mesh: Path, registry: Registry) -> None:
    publish_v2(mesh, "next spring")
    with pytest.raises(MeshplaneError) as refused:
        plan_mesh(mesh, registry=registry)
    [problem] = refused.value.diagnostics
    assert problem.code == "deprecation-invalid" and "sunsetDate" in problem.message
    assert problem.file and problem.file.endswith("product.odps.yaml") and problem.line


def test_days_to_sunset_count_from_today(mesh: Path, registry: Registry) -> None:
    apply_mesh(mesh, registry=registry)
    publish_v2(mesh, PAST)
    apply_mesh(mesh, registry=registry)
    later = datetime(2020, 2, 2, tzinfo=UTC)
    [row] = list_migrations(registry, now=later)
    assert row["daysToSunset"] == (date(2020, 1, 31) - date(2020, 2, 2)).days == -2


def test_impact_lists_who_is_still_on_a_deprecated_port(mesh: Path, registry: Registry) -> None:
    apply_mesh(mesh, registry=registry)
    publish_v2(mesh, SOON)
    apply_mesh(mesh, registry=registry)
    report = impact_of(registry, "sales.orders.orders@1.0.0")
    [row] = report.to_dict()["migrations"]
    assert row["old"]["port"] == "orders" and row["daysToSunset"] == 30
    assert [(c["product"], c["team"]) for c in row["remaining"]] == [("crm.customers", "CRM Data")]
    assert "migrations" not in impact_of(registry, "crm.customers.customers").to_dict()


def test_a_moved_consumer_carries_its_agreement_purpose_to_the_new_port(mesh: Path, registry: Registry) -> None:
    apply_mesh(mesh, registry=registry)
    publish_v2(mesh, SOON)
    move_consumer(mesh)
    apply_mesh(mesh, registry=registry)
    admin = Principal.local_admin("operator")
    ask = {"consumer": "crm.customers", "provider": "sales.orders", "port": "orders", "purpose": "order counts"}
    request_agreement(registry, admin, **ask)
    moved = migrate_agreement(
        registry, admin, consumer="crm.customers", provider="sales.orders", old_port="orders", new_port="orders_v2"
    )
    assert (moved.port, moved.purpose, moved.state.value) == ("orders_v2", "order counts", "requested")


def test_an_auto_approved_new_port_needs_no_decision(mesh: Path, registry: Registry) -> None:
    apply_mesh(mesh, registry=registry)
    publish_v2(mesh, SOON)
    move_consumer(mesh)
    apply_mesh(mesh, registry=registry)
    admin = Principal.local_admin("operator")
    set_auto_approve(registry, admin, "sales.orders", "orders_v2", enabled=True)
    ask = {"consumer": "crm.customers", "provider": "sales.orders", "port": "orders", "purpose": "order counts"}
    request_agreement(registry, admin, **ask)
    moved = migrate_agreement(
        registry, admin, consumer="crm.customers", provider="sales.orders", old_port="orders", new_port="orders_v2"
    )
    assert moved.state.value == "active"
    with pytest.raises(NotFound):
        migrate_agreement(
            registry, admin, consumer="crm.customers", provider="sales.orders", old_port="nope", new_port="orders_v2"
        )
