"""`meshplane init` and `meshplane new domain|product|contract` from the command line: what they
write lints clean; what they refuse is one message on stderr and exit code 2."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from meshplane.cli.app import app, main

runner = CliRunner()


def run_main(
    args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    """Run the console-script entry point in-process: (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["meshplane", *args])
    with pytest.raises(SystemExit) as info:
        main()
    out, err = capsys.readouterr()
    code = info.value.code
    return (code if isinstance(code, int) else 1), out, err


def lint_clean(target: str) -> None:
    """No errors; the only warnings are the placeholder texts the author still has to write."""
    result = runner.invoke(app, ["lint", target])
    assert result.exit_code == 0, result.output
    *findings, last = result.output.splitlines()
    assert " 0 error(s), " in last, result.output
    assert all(line.endswith("[placeholder-text]") for line in findings), result.output


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_init_then_new_domain_product_contract_each_lint_clean(work: Path) -> None:
    result = runner.invoke(app, ["init", "acme"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "created acme/mesh.yaml",
        "created acme/.gitignore",
        "created acme/README.md",
        "created acme/domains/.gitkeep",
        "next: meshplane new domain <id> --mesh acme",
    ]
    lint_clean("acme")

    result = runner.invoke(app, ["new", "domain", "sales", "--mesh", "acme", "--owner", "ana", "--name", "Sales"])
    assert result.exit_code == 0, result.output
    assert result.output == f"created {work / 'acme/domains/sales/domain.yaml'}\n"
    lint_clean("acme")

    result = runner.invoke(app, ["new", "product", "sales", "orders", "--mesh", "acme", "--port", "order_events"])
    assert result.exit_code == 0, result.output
    created, said = result.output.split("4 placeholder text(s) to write before publishing")
    assert [line.split("/acme/", 1)[1] for line in created.splitlines()] == [
        "domains/sales/products/orders/product.odps.yaml",
        "domains/sales/products/orders/contracts/order_events.odcs.yaml",
    ]
    assert "product.odps.yaml:9  description.purpose is still placeholder text" in said
    assert "order_events.odcs.yaml:10  description.usage is still placeholder text" in said
    lint_clean("acme")

    result = runner.invoke(app, ["new", "contract", "sales", "orders", "returns", "--mesh", "acme"])
    assert result.exit_code == 0, result.output
    said = [line for line in result.output.splitlines() if "/acme/" in line and line.startswith(("created", "upd"))]
    assert [(line.split()[0], line.split("/acme/", 1)[1]) for line in said] == [
        ("created", "domains/sales/products/orders/contracts/returns.odcs.yaml"),
        ("updated", "domains/sales/products/orders/product.odps.yaml"),
    ]
    lint_clean("acme")
    lint_clean("acme/domains/sales/products/orders/contracts/returns.odcs.yaml")


def test_new_finds_the_mesh_from_a_subfolder(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert runner.invoke(app, ["init", "acme"]).exit_code == 0
    monkeypatch.chdir(work / "acme" / "domains")
    assert runner.invoke(app, ["new", "domain", "crm", "--owner", "bo"]).exit_code == 0
    assert runner.invoke(app, ["new", "product", "crm", "customers"]).exit_code == 0
    assert (work / "acme/domains/crm/products/customers/contracts/customers.odcs.yaml").is_file()
    monkeypatch.chdir(work)
    lint_clean("acme")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["init", "acme"], "acme is already a mesh (mesh.yaml exists)"),
        (["new", "domain", "sales", "--mesh", "acme"], "already exists; not overwriting it"),
        (["new", "domain", "Sales", "--mesh", "acme"], "domain id 'Sales' is not valid"),
        (["new", "product", "nowhere", "orders", "--mesh", "acme"], "domain 'nowhere' does not exist"),
        (["new", "product", "sales", "orders", "--mesh", "acme"], "already exists; not overwriting it"),
        (["new", "product", "sales", "Orders!", "--mesh", "acme"], "product id 'Orders!' is not valid"),
        (["new", "product", "sales", "other", "--port", "9x", "--mesh", "acme"], "port id '9x' is not valid"),
        (
            ["new", "contract", "sales", "orders", "orders", "--mesh", "acme"],
            "already has an output port named 'orders'",
        ),
        (["new", "contract", "sales", "nothing", "port", "--mesh", "acme"], "has no valid product.odps.yaml"),
        (["new", "contract", "sales", "orders", "Bad Port", "--mesh", "acme"], "port id 'Bad Port' is not valid"),
        (["new", "domain", "crm", "--mesh", "elsewhere"], "no mesh.yaml found at or above elsewhere"),
    ],
)
def test_refusals_are_one_message_and_exit_2(
    work: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    for setup in (
        ["init", "acme"],
        ["new", "domain", "sales", "--mesh", "acme"],
        ["new", "product", "sales", "orders", "--mesh", "acme"],
    ):
        assert runner.invoke(app, setup).exit_code == 0
    (work / "elsewhere").mkdir()
    before = {p: p.read_bytes() for p in work.rglob("*") if p.is_file()}

    code, out, err = run_main(args, monkeypatch, capsys)

    assert code == 2
    assert out == ""
    assert err.startswith("error: ") and message in err
    assert "Traceback" not in err
    assert {p: p.read_bytes() for p in work.rglob("*") if p.is_file()} == before, "a refused command wrote files"

    via_app = runner.invoke(app, args)  # the Typer app itself behaves the same
    assert via_app.exit_code == 2
    assert via_app.stderr.startswith("error: ") and message in via_app.stderr
    lint_clean("acme")


def test_missing_arguments_are_usage_errors(work: Path) -> None:
    result = runner.invoke(app, ["new", "product", "sales"])
    assert result.exit_code == 2
    assert "Missing argument" in result.output
    assert "Traceback" not in result.output
