"""Helpers of the monitoring tests: the example mesh with schedules and a lake, a clock the test moves."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

from meshplane.demo.lakegen import generate_lake

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "holding"
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
CATALOG = "domains/retail/products/catalog/contracts/products.odcs.yaml"
CATALOG_ID = "retail.catalog.products"
SHIPMENTS = "logistics.shipments.shipments"


def scheduled_mesh(root: Path) -> Path:
    """A copy of the example mesh with a generated lake, an hourly default and a nightly catalog."""
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("lake", ".meshplane"))
    with (root / "mesh.yaml").open("a", encoding="utf-8") as out:
        out.write("monitoring:\n  schedule: 1h\n")
    contract = root / CATALOG
    text = contract.read_text(encoding="utf-8")
    contract.write_text(text + "customProperties:\n  - property: monitoringSchedule\n    value: 0 3 * * *\n")
    generate_lake(root, root / "lake", rows=60, seed=7, now=NOW)
    return root


class Clock:
    """A clock the test moves."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now
