"""The migrations page in real Chromium: a deprecated port with its successor, sunset and the consumers
still on it, also on the contract's page; axe-core and the phone width."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from web_support import OPERATOR, REPO, screenshot_dir, scrolls_sideways, serious_violations, sign_in

from meshplane.api import create_app
from meshplane.demo.server import LocalServer
from meshplane.registry import Registry
from meshplane.service.gitops import apply_mesh
from meshplane.service.tokens import create_token
from meshplane.settings import Settings

pytestmark = pytest.mark.browser

BASE_MESH = REPO / "tests" / "corpus" / "meshes" / "_base"
ORDERS = "domains/sales/products/orders"
OLD_PORT = """  - name: orders
    description: One row per order.
    type: tables
    version: 1.0.0
    contractId: sales.orders.orders
"""
SUNSET = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()


def publish_v2(mesh: Path) -> None:
    """2.0.0 of sales.orders.orders on its own port; the old port deprecated with a sunset in 30 days."""
    contract = mesh / ORDERS / "contracts" / "orders.odcs.yaml"
    (mesh / ORDERS / "contracts" / "orders_v2.odcs.yaml").write_text(
        contract.read_text(encoding="utf-8").replace("version: 1.0.0\n", "version: 2.0.0\n"), encoding="utf-8"
    )
    product = mesh / ORDERS / "product.odps.yaml"
    text = product.read_text(encoding="utf-8")
    assert text.count(OLD_PORT) == 1
    deprecated = OLD_PORT + (
        "    customProperties:\n"
        "      - property: deprecated\n        value: true\n"
        f"      - property: sunsetDate\n        value: '{SUNSET}'\n"
        "      - property: replacedBy\n        value: orders_v2\n"
    )
    v2 = OLD_PORT.replace("name: orders\n", "name: orders_v2\n").replace("version: 1.0.0", "version: 2.0.0")
    product.write_text(text.replace(OLD_PORT, deprecated + v2), encoding="utf-8")


@pytest.fixture
def base(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A server on the corpus mesh with sales.orders/orders deprecated; (base URL, an admin token)."""
    mesh = Path(shutil.copytree(BASE_MESH, tmp_path / "mesh"))
    with Registry(f"sqlite:///{tmp_path / 'r.db'}") as registry:
        apply_mesh(mesh, registry=registry)
        publish_v2(mesh)
        apply_mesh(mesh, registry=registry)
        token = create_token(registry, OPERATOR, role="admin", name="admin").token
        with LocalServer(create_app(registry, settings=Settings())) as server:
            yield str(server.url).rstrip("/"), token


def test_a_deprecated_port_and_who_is_still_on_it(base: tuple[str, str], new_page: Callable[..., Any]) -> None:
    url, token = base
    for viewport in ("desktop", "phone"):
        page = new_page(viewport, bypass_csp=True)
        sign_in(page, url, token)
        page.goto(url + "/migrations")
        row = page.inner_text("table.migrations tbody tr")
        assert "sales.orders/orders@1.0.0" in row and "orders_v2@2.0.0" in row and SUNSET in row
        assert "crm.customers" in page.inner_text("td.remaining")
        assert serious_violations(page) == [], viewport
        assert not scrolls_sideways(page), viewport
        if (folder := screenshot_dir()) is not None:
            page.screenshot(path=str(folder / f"migrations-{viewport}.png"), full_page=viewport == "desktop")
    page.goto(url + "/contracts/sales.orders.orders")
    assert "crm.customers" in page.inner_text("table.migrations")
    page.goto(url + "/migrations?domain=crm")
    assert "no migration in progress" in page.inner_text("table.migrations")
