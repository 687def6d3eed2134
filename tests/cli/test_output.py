"""Readable terminal output: tables fit 80 and 100 columns without cutting an id (`cli.output.print_table`).

`agreement list` (against a live server), `test` (failing and warning checks listed, passing ones counted;
`--verbose` lists all) and the table helper itself; `movements` is in test_lineage_commands.py.
"""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from rich.console import Console
from test_test_command import _contract
from typer.testing import CliRunner, Result

from meshplane.access import Principal
from meshplane.cli.app import app
from meshplane.cli.output import Column, print_table
from meshplane.demo.server import LocalServer
from meshplane.registry import Registry
from meshplane.service.agreements import request_agreement
from meshplane.service.gitops import apply_mesh
from meshplane.service.tokens import create_token
from meshplane.settings import get_settings

REPO = Path(__file__).resolve().parents[2]
OPERATOR = Principal.local_admin("test-operator")
PURPOSE = "Attribution of the quarterly campaigns to the orders they brought, per channel and per region"
runner = CliRunner()


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines() if line.strip() and not line.startswith("(not shown")]


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("MESHPLANE_DATABASE_URL", "MESHPLANE_SERVER_URL", "MESHPLANE_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def agreements(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A live server over the example mesh with three agreements; its URL and an admin token."""
    folder = tmp_path_factory.mktemp("agreements")
    mesh = Path(shutil.copytree(REPO / "examples/holding", folder / "mesh", ignore=shutil.ignore_patterns("lake")))
    with Registry(f"sqlite:///{folder / 'r.db'}") as registry:
        apply_mesh(mesh, registry=registry, actor="test")
        admin = create_token(registry, OPERATOR, role="admin", name="admin").token
        for consumer, provider, port in (
            ("marketing.campaign_performance", "retail.sales", "orders"),
            ("customer.customer360", "retail.sales", "orders"),
            ("finance.ledger", "retail.sales", "orders"),
        ):
            request_agreement(
                registry,
                OPERATOR,
                consumer=consumer,
                provider=provider,
                port=port,
                purpose=PURPOSE,
                end_date=date(2027, 12, 31),
            )
        with LocalServer(registry) as server:
            yield server.url, admin


@pytest.mark.parametrize("width", [80, 100])
def test_agreement_list_fits_without_cutting_ids(agreements: tuple[str, str], width: int) -> None:
    url, token = agreements
    result = runner.invoke(
        app, ["agreement", "list", "--server-url", url, "--token", token], env={"COLUMNS": str(width)}
    )
    assert result.exit_code == 0, result.output
    lines = _lines(result.stdout)
    assert max(len(line) for line in lines) <= width
    words = {w for line in lines for w in line.split()}
    for whole in ("marketing.campaign_performance", "customer.customer360", "retail.sales/orders", "requested"):
        assert whole in words, whole
    assert "…" not in result.stdout and "3 of 3 agreement(s)" in result.stdout
    wide = runner.invoke(
        app, ["agreement", "list", "--server-url", url, "--token", token, "--wide"], env={"COLUMNS": str(width)}
    )
    assert PURPOSE in wide.stdout and "2027-12-31" in wide.stdout and "--wide shows" not in wide.stdout


def _test(*args: str, width: int) -> Result:
    return runner.invoke(app, ["test", "-q", "--no-record", *args], env={"COLUMNS": str(width)})


@pytest.mark.parametrize("width", [80, 100])
def test_test_lists_failing_and_warning_checks_and_counts_the_passing_ones(tmp_path: Path, width: int) -> None:
    contract = _contract(tmp_path, cid="customer_order_events", bad=True)
    result = _test(str(contract), width=width)
    assert result.exit_code == 1, result.output
    lines = _lines(result.stdout)
    title = re.compile(r"^[✗!✓] (failed|passed|warning|error) ")  # the run's line: contract id, server, engine
    assert max(len(line) for line in lines if not title.match(line)) <= width
    listed = {m.group(1) for line in lines if (m := re.match(r"\s*[✗!✓]\s+(\S*\.\S+)", line))}
    assert listed == {"customer_order_events.id.unique"}  # whole, and only the failure
    summary = next(line for line in lines if " checks: " in line)
    assert "1 failed" in summary and "(--verbose lists the passing ones)" in summary
    verbose = _lines(_test(str(contract), "--verbose", width=width).stdout)
    every = {m.group(1) for line in verbose if (m := re.match(r"\s*[✗!✓]\s+(\S*\.\S+)", line))}
    assert len(every) == int(summary.split(" checks:")[0]) and "--verbose" not in " ".join(verbose)
    assert "customer_order_events.id.unique" in every and len(every) > 1
    assert max(len(line) for line in verbose if not title.match(line)) <= width


def test_warnings_are_listed_too(tmp_path: Path) -> None:
    result = _test(str(_contract(tmp_path, warn_only=True)), width=100)
    assert result.exit_code == 0, result.output
    assert re.search(r"^\s*!\s+orders\.email\.", result.stdout, re.M), result.stdout


def test_print_table_keeps_key_columns_whole_and_says_what_it_left_out() -> None:
    columns = [Column("id", key=True), Column("state", key=True), Column("note"), Column("amount", drop=1)]
    rows = [["retail.sales.orders-and-more", "pending-review", "a long note " * 6, "1,234,567"]]
    file = io.StringIO()
    left = print_table(columns, rows, target=Console(width=60, file=file, no_color=True, highlight=False))
    text = file.getvalue()
    assert left == ["amount"] and "(not shown at this width: amount; --wide shows every column)" in text
    assert "retail.sales.orders-and-more" in text and "pending-review" in text and "1,234,567" not in text
    assert max(len(line) for line in _lines(text)) <= 60
    file = io.StringIO()
    assert print_table(columns, rows, target=Console(width=60, file=file), wide=True) == []
    assert "1,234,567" in file.getvalue() and "a long note a long note" in file.getvalue()
