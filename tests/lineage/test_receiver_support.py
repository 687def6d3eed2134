"""Helpers of the receiver, movement, flag, client and load tests: a world (the example mesh applied to a
registry, with tokens), event builders, and servers on 127.0.0.1 (a uvicorn thread, a `meshplane serve` process).

The other lineage test modules import from here; the few tests at the end check the helpers themselves.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from meshplane.access import Principal
from meshplane.demo.server import LocalServer
from meshplane.registry import Registry
from meshplane.registry import lineage as store
from meshplane.service.derivation import derive_pending
from meshplane.service.gitops import apply_mesh
from meshplane.service.tokens import create_token

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_MESH = REPO / "examples" / "holding"
OPERATOR = Principal.local_admin("lineage-tests")
PRODUCER = "https://example.org/meshplane-tests"
DAY = "2026-11-20"


@dataclass
class World:
    """The example mesh applied to a registry, with tokens and the lake locations of its ports."""

    mesh: Path
    registry_url: str
    tokens: dict[str, str] = field(default_factory=dict)
    ports: dict[str, str] = field(default_factory=dict)

    @property
    def lake(self) -> Path:
        """The mesh's lake folder (absolute)."""
        return (self.mesh / "lake").absolute()

    def path(self, port: str, *below: str) -> str:
        """A file path in the lake folder of ``product/port`` (below its folder)."""
        return "/".join([self.ports[port], *below])

    def headers(self, who: str = "admin") -> dict[str, str]:
        """Authorization header of a token of the world."""
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def registry(self) -> Registry:
        """Open the world's registry."""
        return Registry(self.registry_url)


def build_world(folder: Path, registry_url: str, mesh: Path = EXAMPLE_MESH) -> World:
    """Copy the mesh to `folder`, apply it to the registry, create tokens, note the port locations."""
    target = folder / "holding"
    shutil.copytree(mesh, target, ignore=shutil.ignore_patterns("lake", ".meshplane"))
    world = World(target, registry_url)
    with Registry(registry_url) as registry:
        apply_mesh(target, registry=registry, actor="tests")
        tokens = world.tokens
        tokens["admin"] = create_token(registry, OPERATOR, role="admin", name="admin").token
        tokens["reader"] = create_token(registry, OPERATOR, role="reader", name="reader").token
        for domain in ("retail", "finance", "marketing"):
            tokens[f"maintainer:{domain}"] = create_token(
                registry, OPERATOR, role="maintainer", domain=domain, name=f"ci-{domain}"
            ).token
        with registry.read() as session:
            for row in store.load_index(session).rows:
                world.ports.setdefault(f"{row['product']}/{row['port']}", row["name"])
    return world


def copy_world(template: World, folder: Path) -> World:
    """A private copy of a SQLite world (same mesh, tokens and ports)."""
    source = Path(template.registry_url.removeprefix("sqlite:///"))
    target = folder / "registry.db"
    shutil.copyfile(source, target)
    return World(template.mesh, f"sqlite:///{target}", dict(template.tokens), dict(template.ports))


def world_for(url_kind: str, request: pytest.FixtureRequest, tmp_path: Path, template: World | None) -> World:
    """A fresh world on SQLite (copied from `template`) or on a fresh PostgreSQL database."""
    if url_kind == "sqlite" and template is not None:
        return copy_world(template, tmp_path)
    if url_kind == "sqlite":
        return build_world(tmp_path, f"sqlite:///{tmp_path / 'registry.db'}")
    url: str = request.getfixturevalue("postgres_url")
    return build_world(tmp_path, url)


# --- events -------------------------------------------------------------------------------------------------


def new_run_id() -> str:
    """A fresh run id."""
    return str(uuid.uuid4())


def ds(
    namespace: str,
    name: str,
    *,
    rows: int | None = None,
    size: int | None = None,
    output: bool = False,
    schema: Sequence[tuple[str, str]] | None = None,
    lineage: dict[str, list[tuple[str, str, str]]] | None = None,
    symlinks: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """A dataset of an event, with statistics, a schema facet, column lineage or symlinks when given."""
    out: dict[str, Any] = {"namespace": namespace, "name": name}
    facets: dict[str, Any] = {}
    if schema is not None:
        facets["schema"] = {"fields": [{"name": n, "type": t} for n, t in schema]}
    if lineage is not None:
        facets["columnLineage"] = {
            "fields": {
                column: {"inputFields": [{"namespace": n, "name": s, "field": f} for n, s, f in sources]}
                for column, sources in lineage.items()
            }
        }
    if symlinks:
        facets["symlinks"] = {"identifiers": [{"namespace": n, "name": s, "type": "TABLE"} for n, s in symlinks]}
    if facets:
        out["facets"] = facets
    if rows is not None or size is not None:
        stats = {k: v for k, v in (("rowCount", rows), ("size", size)) if v is not None}
        out["outputFacets" if output else "inputFacets"] = {"outputStatistics" if output else "inputStatistics": stats}
    return out


def run_event(
    job: str = "airflow-marketing/performance.build_kpis",
    *,
    event_type: str | None = "COMPLETE",
    at: str = f"{DAY}T10:00:00Z",
    run_id: str | None = None,
    inputs: Sequence[dict[str, Any]] = (),
    outputs: Sequence[dict[str, Any]] = (),
    run_facets: dict[str, Any] | None = None,
    job_facets: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A RunEvent of job ``namespace/name``."""
    namespace, _, name = job.partition("/")
    event: dict[str, Any] = {
        "eventTime": at,
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": run_id or new_run_id(), "facets": run_facets or {}},
        "job": {"namespace": namespace, "name": name, "facets": job_facets or {}},
        "inputs": list(inputs),
        "outputs": list(outputs),
    }
    if event_type is not None:
        event["eventType"] = event_type
    return event


# --- servers on 127.0.0.1 -----------------------------------------------------------------------------------


LiveServer = LocalServer
"""A real uvicorn server on 127.0.0.1 (ephemeral port) in a thread: `meshplane.demo.server.LocalServer`."""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServerProcess:
    """`meshplane serve` in its own process on 127.0.0.1 (clients in this process do not share its GIL)."""

    def __init__(self, registry_url: str, *, workers: int = 1) -> None:
        self.port = free_port()
        self.registry_url = registry_url
        self.workers = workers
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL of the server."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerProcess:
        import httpx

        env = {k: v for k, v in os.environ.items() if not k.startswith(("MESHPLANE_", "OPENLINEAGE"))}
        env |= {"MESHPLANE_DATABASE_URL": self.registry_url, "MESHPLANE_LOG_LEVEL": "warning"}
        command = [sys.executable, "-m", "meshplane", "serve", "--port", str(self.port), "--workers", str(self.workers)]
        self.process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"meshplane serve exited: {self.process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        self.__exit__()
        raise RuntimeError("meshplane serve did not answer within 60 s")

    def __exit__(self, *_exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def counts(world: World, *, derived: bool = True) -> dict[str, int]:
    """Rows of the lineage tables; with `derived`, as a reader sees them (queued events derived first)."""
    with world.registry() as registry:
        if derived:
            derive_pending(registry)
        with registry.read() as session:
            return store.lineage_counts(session)


# --- checks of the helpers ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def helper_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("helpers")
    yield build_world(folder, f"sqlite:///{folder / 'registry.db'}")


def test_the_world_knows_where_every_output_port_lives(helper_world: World) -> None:
    assert len(helper_world.ports) == 11
    orders = helper_world.ports["retail.sales/orders"]
    assert orders == str(helper_world.lake / "retail" / "sales" / "orders")
    assert helper_world.path("retail.sales/orders", "dt=2026-11-20", "part-0.parquet").startswith(orders + "/")


def test_events_built_here_are_valid() -> None:
    from meshplane.lineage import parse_event

    event = run_event(
        inputs=[ds("file", "/lake/a", rows=3, symlinks=[("hive://h", "db.a")])],
        outputs=[
            ds("file", "/lake/b", rows=2, output=True, schema=[("x", "int")], lineage={"x": [("file", "/lake/a", "y")]})
        ],
    )
    parsed = parse_event(event)
    assert parsed.inputs[0].statistics is not None and parsed.inputs[0].statistics.row_count == 3
    assert parsed.outputs[0].column_lineage is not None and parsed.warnings == ()
