"""`meshplane search` and `meshplane show`: the catalog from the registry and from a live server, alike.

One registry (the example mesh applied, a test run recorded, a reader token); the local commands read it
through `--mesh`, the remote ones through a real uvicorn server on 127.0.0.1 (`LocalServer`) with the
token. Both give the same JSON; tables keep ids whole at 80 and 100 columns.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from meshplane.access import Principal
from meshplane.cli.app import app
from meshplane.demo.server import LocalServer
from meshplane.registry import Registry
from meshplane.service.gitops import apply_mesh
from meshplane.service.testruns import record_runs
from meshplane.service.tokens import create_token
from meshplane.settings import get_settings

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "holding"
OPERATOR = Principal.local_admin("test-operator")
RUN = {
    "contract": {"id": "retail.sales.orders", "version": "1.2.0"},
    "server": "lake",
    "engine": "duckdb",
    "result": "failed",
    "startedAt": "2026-11-20T10:00:00Z",
    "finishedAt": "2026-11-20T10:00:02Z",
    "checks": [
        {
            "id": "orders.order_id.required",
            "kind": "required",
            "object": "orders",
            "property": "order_id",
            "status": "failed",
            "severity": "error",
            "observed": 3,
            "threshold": "= 0",
            "message": "3 nulls",
        }
    ],
}
CONSUMERS = ("customer.customer360", "finance.ledger", "finance.revenue", "logistics.shipments")

runner = CliRunner()


@dataclass
class World:
    """The example mesh applied to its default registry, a recorded run, a server over it and a reader token."""

    mesh: Path
    url: str
    token: str


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("catalog")
    mesh = Path(shutil.copytree(EXAMPLE, folder / "holding", ignore=shutil.ignore_patterns("lake", ".meshplane")))
    (mesh / ".meshplane").mkdir()
    with Registry(f"sqlite:///{mesh / '.meshplane' / 'registry.db'}") as registry:
        apply_mesh(mesh, registry=registry, actor="test")
        record_runs(registry, OPERATOR, [RUN])
        token = create_token(registry, OPERATOR, role="reader", name="catalog-reader").token
        with LocalServer(registry) as server:
            yield World(mesh, server.url, token)


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("MESHPLANE_DATABASE_URL", "MESHPLANE_SERVER_URL", "MESHPLANE_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "100")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def local(world: World, *args: str) -> Result:
    return runner.invoke(app, [*args, "--mesh", str(world.mesh)])


def remote(world: World, *args: str) -> Result:
    """The command against the server, with MESHPLANE_TOKEN set (before the settings are read again).

    The server runs in this process and reads the same cached settings: the variable is set first, so
    whoever reads them next sees it.
    """
    os.environ["MESHPLANE_TOKEN"] = world.token
    get_settings.cache_clear()
    try:
        return runner.invoke(app, [*args, "--server-url", world.url])
    finally:
        del os.environ["MESHPLANE_TOKEN"]
        get_settings.cache_clear()


def test_search_by_text_from_the_registry_and_the_server(world: World) -> None:
    here = local(world, "search", "sales", "--format", "json")
    there = remote(world, "search", "sales", "--format", "json")
    assert here.exit_code == 0 and there.exit_code == 0, here.output + there.output
    assert json.loads(here.stdout) == json.loads(there.stdout)
    found = json.loads(here.stdout)
    assert found["items"][0]["id"] == "retail.sales" and found["items"][0]["matched"][:2] == ["id", "name"]
    assert found["total"] == len(found["items"])


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--column", "*email*"], {"customer.customer360", "customer.profiles", "marketing.campaign_responses"}),
        (["--domain", "finance"], {"finance.ledger", "finance.revenue"}),
        (["--tag", "fact", "--domain", "retail"], {"retail.sales"}),
        (["--owner", "anna.schmidt"], {"retail.sales", "retail.catalog"}),
        (["--classification", "restricted"], {"customer.profiles", "finance.ledger"}),
        (["nothing-matches-this"], set()),
    ],
)
def test_search_criteria(world: World, args: list[str], expected: set[str]) -> None:
    here = local(world, "search", *args, "--format", "json")
    there = remote(world, "search", *args, "--format", "json")
    assert here.exit_code == 0, here.output
    assert {item["id"] for item in json.loads(here.stdout)["items"]} == expected
    assert json.loads(there.stdout) == json.loads(here.stdout)


def test_search_table_names_the_matching_columns(world: World) -> None:
    result = local(world, "search", "--column", "*email*")
    assert result.exit_code == 0, result.output
    assert "customers.email" in result.stdout and "3 product(s) match" in result.stdout
    assert "[" not in result.stdout  # no Rich markup in piped output
    assert "no product matches" in local(world, "search", "nothing-matches-this").stdout


def test_show_a_product(world: World) -> None:
    result = local(world, "show", "retail.sales", "--format", "json")
    assert result.exit_code == 0, result.output
    view = json.loads(result.stdout)
    assert view["product"]["id"] == "retail.sales" and view["product"]["descriptor"]["id"] == "retail.sales"
    assert [p["name"] for p in view["ports"]] == ["order_lines", "orders"]
    orders = next(p for p in view["ports"] if p["name"] == "orders")
    assert sorted({c["product"] for c in orders["consumers"]}) == list(CONSUMERS)
    assert view["latestTestRuns"]["retail.sales.orders"]["result"] == "failed"
    assert view["latestTestRuns"]["retail.sales.order_lines"] is None
    there = remote(world, "show", "retail.sales", "--format", "json")
    assert there.exit_code == 0 and json.loads(there.stdout) == view


@pytest.mark.parametrize("width", ["80", "100"])
def test_show_table_keeps_ids_whole(world: World, width: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", width)
    result = local(world, "show", "retail.sales")
    assert result.exit_code == 0, result.output
    text = result.stdout
    for token in (*CONSUMERS, "retail.sales.orders", "retail.sales.order_lines", "customer.profiles.customers"):
        assert token in text, token
    assert "failed" in text and "never tested" in text and "2026-11-20T10:00:00" in text
    assert "…" not in text and "[" not in text
    table_lines = [line for line in text.splitlines() if not line.startswith(("(not shown", "purpose:", "team:"))]
    assert max(len(line.rstrip()) for line in table_lines) <= int(width)
    wide = local(world, "show", "retail.sales", "--wide")
    assert "not shown at this width" not in wide.stdout and "auto-approve" in wide.stdout


def test_unknown_product_and_bad_input_are_one_line_errors(world: World, tmp_path: Path) -> None:
    for result in (local(world, "show", "retail.nothing"), remote(world, "show", "retail.nothing")):
        assert result.exit_code == 2 and "no product 'retail.nothing'" in result.stderr, result.output
        assert "Traceback" not in result.output
    unreachable = runner.invoke(app, ["search", "x", "--server-url", "http://127.0.0.1:9"])
    assert unreachable.exit_code == 2 and "cannot reach the meshplane server" in unreachable.stderr
    anonymous = runner.invoke(app, ["search", "x", "--server-url", world.url])
    assert anonymous.exit_code == 2 and "401" in anonymous.stderr
    nowhere = runner.invoke(app, ["search", "x", "--mesh", str(tmp_path)])
    assert nowhere.exit_code == 2 and "Traceback" not in nowhere.output
    assert not (tmp_path / ".meshplane").exists()
    bad = local(world, "search", "x", "--format", "xml")
    assert bad.exit_code == 2
