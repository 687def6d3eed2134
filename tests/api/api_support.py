"""Helpers of the API tests: a registry with the example mesh applied and one token per identity."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from meshplane.access import Principal
from meshplane.demo.server import LocalServer
from meshplane.registry import Registry
from meshplane.service.gitops import apply_mesh
from meshplane.service.tokens import create_token

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_MESH = REPO / "examples" / "holding"
OPERATOR = Principal.local_admin("test-operator")

IDENTITIES = ("anonymous", "reader", "other", "owner", "admin")
"""The callers of the authorization matrix; `other` and `owner` are maintainers, resolved per route."""

MAINTAINED = ("retail", "customer", "finance", "marketing", "logistics")


@dataclass
class World:
    """A registry with the example mesh applied, and a token for every role (maintainers per domain)."""

    registry_url: str
    mesh: Path
    tokens: dict[str, str] = field(default_factory=dict)  # "admin", "reader", "maintainer:<domain>"

    def headers(self, who: str) -> dict[str, str]:
        """The Authorization header of a caller (`anonymous` sends none)."""
        if who == "anonymous":
            return {}
        return {"Authorization": f"Bearer {self.tokens[who]}"}


def copy_mesh(target: Path) -> Path:
    """A private copy of examples/holding (without lake or registry)."""
    return Path(shutil.copytree(EXAMPLE_MESH, target, ignore=shutil.ignore_patterns("lake", ".meshplane")))


def build_world(registry_url: str, folder: Path) -> World:
    """Apply the example mesh to an empty registry and create the tokens."""
    mesh = copy_mesh(folder / "holding")
    world = World(registry_url, mesh)
    with Registry(registry_url) as registry:
        apply_mesh(mesh, registry=registry, actor="test")
        world.tokens["admin"] = create_token(registry, OPERATOR, role="admin", name="admin").token
        world.tokens["reader"] = create_token(registry, OPERATOR, role="reader", name="reader").token
        for domain in MAINTAINED:
            token = create_token(registry, OPERATOR, role="maintainer", domain=domain, name=f"ci-{domain}").token
            world.tokens[f"maintainer:{domain}"] = token
    return world


def copy_world(template: World, folder: Path) -> World:
    """A private copy of the template's registry (same tokens, same mesh)."""
    source = Path(template.registry_url.removeprefix("sqlite:///"))
    target = folder / "registry.db"
    shutil.copyfile(source, target)
    return World(f"sqlite:///{target}", template.mesh, dict(template.tokens))


def bundle(mesh: Path, changes: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Every YAML file of a mesh folder by relative path, with some texts replaced (`changes`)."""
    files = {p.relative_to(mesh).as_posix(): p.read_text(encoding="utf-8") for p in sorted(mesh.rglob("*.yaml"))}
    files = {k: v for k, v in files.items() if not k.startswith(("lake/", ".meshplane/"))}
    for path, change in (changes or {}).items():
        files[path] = change(files[path]) if callable(change) else change
    return files


def retail_description(text: str) -> dict[str, str]:
    """Replacements giving the retail domain a new description (a change owned by retail)."""
    return {"domains/retail/domain.yaml": text}


def run_document(
    contract: str = "retail.sales.orders", version: str = "1.2.0", result: str = "passed"
) -> dict[str, Any]:
    """A test run as `meshplane test --format json` prints it."""
    return {
        "contract": {"id": contract, "version": version},
        "server": "lake",
        "engine": "duckdb",
        "result": result,
        "startedAt": "2026-11-20T10:00:00Z",
        "finishedAt": "2026-11-20T10:00:02Z",
        "checks": [
            {
                "id": "orders.order_id.required",
                "kind": "required",
                "object": "orders",
                "property": "order_id",
                "status": "passed" if result != "failed" else "failed",
                "severity": "error",
                "observed": 0,
                "threshold": "= 0",
                "message": "no nulls",
            },
        ],
    }


LiveServer = LocalServer
"""A real uvicorn server on 127.0.0.1 (ephemeral port) in a thread: `meshplane.demo.server.LocalServer`."""
