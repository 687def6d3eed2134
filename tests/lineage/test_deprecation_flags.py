"""Reading a deprecated port raises `deprecated-read` on the flow; after its sunset date `sunset-read` (error)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from test_receiver_support import OPERATOR, World, build_world, ds, run_event, world_for

from meshplane.mesh import load_mesh
from meshplane.service import lineage as service
from meshplane.service import movements
from meshplane.service.gitops import apply_mesh

ORDERS = "retail.sales/orders"
SHIPMENTS = "logistics.shipments/shipments"
READ = ("retail.sales", "logistics.shipments", "orders")
SALES = "domains/retail/products/sales/product.odps.yaml"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> World:
    folder = tmp_path_factory.mktemp("deprecation-flags")
    return build_world(folder, f"sqlite:///{folder / 'template.db'}")


@pytest.fixture
def world(request: pytest.FixtureRequest, tmp_path: Path, template: World) -> World:
    return world_for("sqlite", request, tmp_path, template)


def deprecate_orders(world: World, tmp_path: Path, sunset: str) -> None:
    """Retail marks its orders port deprecated with a sunset date, through apply."""
    mesh = Path(shutil.copytree(world.mesh, tmp_path / "holding"))
    descriptor = mesh / SALES
    text = descriptor.read_text(encoding="utf-8")
    old = "    contractId: retail.sales.orders\n"
    assert text.count(old) == 1
    extra = f"    customProperties:\n      - property: sunsetDate\n        value: '{sunset}'\n"
    descriptor.write_text(text.replace(old, old + extra), encoding="utf-8")
    with world.registry() as registry:  # the copy's lake is the world's: the port index stays where it was
        apply_mesh(load_mesh(mesh, lake_base=world.mesh), registry=registry, actor="tests")


def read_orders_at(world: World, at: str) -> dict[str, Any]:
    return run_event(
        "airflow-logistics/shipments",
        at=at,
        inputs=[ds("file", world.path(ORDERS), rows=10)],
        outputs=[ds("file", world.path(SHIPMENTS, "part-0.parquet"), output=True)],
    )


def send(world: World, *events: dict[str, Any]) -> None:
    with world.registry() as registry:
        outcome = service.receive_batch(registry, json.dumps(list(events)), OPERATOR)
        service.derive_pending(registry)
    assert outcome.count(service.IngestStatus.FAILED) == 0, outcome.to_dict()


def read_flags(world: World) -> tuple[list[str], dict[str, str]]:
    with world.registry() as registry:
        flow = {(f.from_product, f.to_product, f.port): f for f in movements.movements(registry).flows}[READ]
        findings = movements.governance_flags(registry)
    severities = {f.flag: f.to_dict()["severity"] for f in findings if f.flag.endswith("-read")}
    return flow.flags, severities


def test_a_read_before_sunset_is_a_deprecated_read(world: World, tmp_path: Path) -> None:
    deprecate_orders(world, tmp_path, "2026-11-30")
    send(world, read_orders_at(world, "2026-11-18T10:00:00Z"))
    flags, severities = read_flags(world)
    assert "deprecated-read" in flags and "sunset-read" not in flags
    assert severities == {"deprecated-read": "warning"}


def test_a_read_after_sunset_is_a_sunset_read_of_error_severity(world: World, tmp_path: Path) -> None:
    deprecate_orders(world, tmp_path, "2026-11-15")
    send(world, read_orders_at(world, "2026-11-18T10:00:00Z"))
    flags, severities = read_flags(world)
    assert "sunset-read" in flags and "deprecated-read" not in flags
    assert severities == {"sunset-read": "error"}


def test_a_port_that_is_not_deprecated_raises_neither(world: World) -> None:
    send(world, read_orders_at(world, "2026-11-18T10:00:00Z"))
    flags, severities = read_flags(world)
    assert not {"deprecated-read", "sunset-read"} & set(flags) and severities == {}
