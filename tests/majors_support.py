"""The small corpus mesh the major-version tests edit: its paths, the second major's port, one edit helper."""

from __future__ import annotations

from pathlib import Path

BASE_MESH = Path(__file__).resolve().parent / "corpus" / "meshes" / "_base"
ORDERS = "domains/sales/products/orders"
SALES_CONTRACT = f"{ORDERS}/contracts/orders.odcs.yaml"
SALES_PRODUCT = f"{ORDERS}/product.odps.yaml"
CRM_PRODUCT = "domains/crm/products/customers/product.odps.yaml"
V2_PORT = """  - name: orders_v2
    description: One row per order, amounts in cents.
    type: tables
    version: 2.0.0
    contractId: sales.orders.orders
"""
"""The output port of sales.orders.orders 2.0.0, beside the 1.x port `orders`."""


def edit(mesh: Path, rel: str, old: str, new: str) -> None:
    """Replace `old` (present exactly once) by `new` in the mesh file `rel`."""
    path = mesh / rel
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} not found exactly once in {rel}"
    path.write_text(text.replace(old, new), encoding="utf-8")
