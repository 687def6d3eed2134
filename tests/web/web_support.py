"""Helpers of the browser tests: a world (the example mesh, tokens, test runs, lineage), a real server, Chromium.

The world is the example holding mesh applied to SQLite, with one hostile text (``<script>`` in
retail.sales' purpose), a few recorded test runs of retail.sales.orders over the last days, and
one cross-domain read without an agreement (logistics.shipments reading retail.sales/orders three
days ago), derived as the server's worker would. Pages are driven through Playwright in the
system's Chromium (`CHROMIUM`), never a downloaded browser.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from meshplane.access import Principal
from meshplane.registry import Registry
from meshplane.registry import lineage as store
from meshplane.service import lineage as lineage_service
from meshplane.service.derivation import derive_pending
from meshplane.service.gitops import apply_mesh
from meshplane.service.testruns import record_runs
from meshplane.service.tokens import create_token

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_MESH = REPO / "examples" / "holding"
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
OPERATOR = Principal.local_admin("web-tests")
HOSTILE = "<script>window.__pwned = 1</script>"
PRODUCER = "https://example.org/meshplane-web-tests"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


@dataclass
class World:
    """A SQLite registry with the example mesh, tokens per identity and the lake path of every port."""

    registry_url: str
    mesh: Path
    tokens: dict[str, str] = field(default_factory=dict)
    ports: dict[str, str] = field(default_factory=dict)

    def registry(self) -> Registry:
        """The world's registry (open; close it)."""
        return Registry(self.registry_url)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def run_document(result: str, started: datetime) -> dict[str, Any]:
    """A test run of retail.sales.orders as `meshplane test --format json` prints it."""
    return {
        "contract": {"id": "retail.sales.orders", "version": "1.2.0"},
        "server": "lake",
        "engine": "duckdb",
        "result": result,
        "startedAt": _iso(started),
        "finishedAt": _iso(started + timedelta(seconds=2)),
        "checks": [
            {
                "id": "orders.order_id.required",
                "kind": "required",
                "object": "orders",
                "property": "order_id",
                "status": "failed" if result == "failed" else "passed",
                "severity": "error",
                "observed": 3 if result == "failed" else 0,
                "threshold": "= 0",
                "message": "nulls in order_id" if result == "failed" else "no nulls",
            }
        ],
    }


def read_event(world: World, at: datetime) -> dict[str, Any]:
    """logistics.shipments' job reading retail.sales/orders (a cross-domain read) at `at`."""
    return {
        "eventTime": _iso(at),
        "eventType": "COMPLETE",
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": str(uuid.uuid4()), "facets": {}},
        "job": {"namespace": "airflow-logistics", "name": "shipments", "facets": {}},
        "inputs": [{"namespace": "file", "name": world.ports["retail.sales/orders"]}],
        "outputs": [{"namespace": "file", "name": world.ports["logistics.shipments/shipments"] + "/part-0.parquet"}],
    }


def send_reads(world: World, *moments: datetime) -> None:
    """Receive and derive reads of retail.sales/orders at `moments` (what the server's worker does)."""
    with world.registry() as registry:
        events = json.dumps([read_event(world, at) for at in moments])
        outcome = lineage_service.receive_batch(registry, events, OPERATOR)
        assert outcome.count(lineage_service.IngestStatus.FAILED) == 0, outcome.to_dict()
        derive_pending(registry)


def make_purpose_hostile(world: World, folder: Path) -> None:
    """Apply to `world`'s registry a copy of its mesh in `folder` whose retail.sales purpose starts with `HOSTILE`.

    Only that test's registry copy sees it: the shared mesh, and so the screenshots, keep the example's text.
    """
    mesh = Path(shutil.copytree(world.mesh, folder / "hostile-mesh", ignore=shutil.ignore_patterns(".meshplane")))
    descriptor = mesh / "domains" / "retail" / "products" / "sales" / "product.odps.yaml"
    text = descriptor.read_text(encoding="utf-8")
    descriptor.write_text(text.replace("  purpose: >-\n", f"  purpose: >-\n    {HOSTILE}\n", 1), encoding="utf-8")
    with Registry(world.registry_url) as registry:
        apply_mesh(mesh, registry=registry, actor="web-tests")


def build_world(folder: Path) -> World:
    """The example mesh applied to SQLite, tokens, test runs and one unagreed read."""
    mesh = Path(shutil.copytree(EXAMPLE_MESH, folder / "holding", ignore=shutil.ignore_patterns("lake", ".meshplane")))
    world = World(f"sqlite:///{folder / 'registry.db'}", mesh)
    now = datetime.now(UTC)
    with Registry(world.registry_url) as registry:
        apply_mesh(mesh, registry=registry, actor="web-tests")
        world.tokens["admin"] = create_token(registry, OPERATOR, role="admin", name="admin").token
        world.tokens["reader"] = create_token(registry, OPERATOR, role="reader", name="reader").token
        for domain in ("retail", "logistics", "finance"):
            token = create_token(registry, OPERATOR, role="maintainer", domain=domain, name=f"ci-{domain}")
            world.tokens[f"maintainer:{domain}"] = token.token
        results = ["passed", "passed", "failed", "passed", "warning", "passed"]
        runs = [run_document(r, now - timedelta(days=len(results) - i, hours=1)) for i, r in enumerate(results)]
        record_runs(registry, OPERATOR, runs)
        with registry.read() as session:
            for row in store.load_index(session).rows:
                world.ports.setdefault(f"{row['product']}/{row['port']}", row["name"])
    send_reads(world, now - timedelta(days=3))
    return world


def copy_world(template: World, folder: Path) -> World:
    """A private copy of the template's registry."""
    target = folder / "registry.db"
    shutil.copyfile(template.registry_url.removeprefix("sqlite:///"), target)
    return World(f"sqlite:///{target}", template.mesh, dict(template.tokens), dict(template.ports))


def screenshot_dir() -> Path | None:
    """Where pages' screenshots go (`MESHPLANE_SCREENSHOTS`, set by `make screenshots`); None: not kept."""
    value = os.environ.get("MESHPLANE_SCREENSHOTS")
    return Path(value) if value else None


AXE_RUN = """async () => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21aa", "best-practice"]}});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}));
}"""


def serious_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations of the page (the context must bypass the CSP)."""
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(AXE_RUN)
    return [v for v in found if v["impact"] in ("serious", "critical")]


def scrolls_sideways(page: Any) -> bool:
    """True when the page body is wider than the viewport (horizontal scrolling)."""
    return bool(page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth"))


def sign_in(page: Any, base: str, token: str) -> None:
    """Sign in through the form."""
    page.goto(f"{base}/signin")
    page.fill("#token", token)
    page.click("form[action='/signin'] button[type=submit]")
