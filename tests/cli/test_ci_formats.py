"""`lint|test|plan --format github|gitlab`: GitHub Actions annotations and step summary, GitLab Code Quality."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from test_remote_gitops import Served, breaking_change, run_local, run_remote, served, template
from typer.testing import CliRunner

from meshplane.cli.app import app
from meshplane.cli.reports.github import annotation, escape_data, escape_property
from meshplane.diagnostics import Diagnostic, Severity

REPO = Path(__file__).resolve().parents[2]
BASE_MESH = REPO / "tests" / "corpus" / "meshes" / "_base"
CONTRACT = "domains/sales/products/orders/contracts/orders.odcs.yaml"
runner = CliRunner()
__all__ = ["served", "template"]  # the live-server fixtures of the remote GitOps tests


@pytest.fixture
def broken_mesh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The base mesh with two known errors in the orders contract: an unknown field, a bad logicalType."""
    mesh = Path(shutil.copytree(BASE_MESH, tmp_path / "m"))
    contract = mesh / CONTRACT
    text = contract.read_text(encoding="utf-8")
    text = text.replace("status: active\n", "status: active\nfoo: bar\n", 1)
    text = text.replace("        logicalType: number\n", "        logicalType: money\n", 1)
    contract.write_text(text, encoding="utf-8")
    monkeypatch.chdir(mesh)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    return mesh


def test_escaping_follows_the_workflow_command_rules() -> None:
    assert escape_data("50% done\r\nnext: a, b") == "50%25 done%0D%0Anext: a, b"
    assert escape_property("a: b, 50%\n") == "a%3A b%2C 50%25%0A"
    diag = Diagnostic(Severity.WARNING, "x", "it is 100%: done,\nreally", file="d:1,2.yaml", line=3, column=4)
    assert (
        annotation(diag) == "::warning file=d%3A1%2C2.yaml,line=3,col=4,title=meshplane x::it is 100%25: done,%0Areally"
    )
    assert annotation(Diagnostic(Severity.INFO, "n", "no file")) == "::notice title=meshplane n::no file"


def test_lint_github_annotations_line_by_line(broken_mesh: Path) -> None:
    result = runner.invoke(app, ["lint", ".", "--format", "github"])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"::error file={CONTRACT},line=7,col=1,title=meshplane schema-unknown-field::unknown field 'foo': not part "
        "of ODCS v3.1.0; remove it or use customProperties at $.foo%0Ahint: customProperties: [{property: foo, "
        "value: ...}]",
        f'::error file={CONTRACT},line=37,col=22,title=meshplane schema-enum::"money" is not allowed here; expected '
        "one of: string, date, timestamp, time, number, integer, object, array, boolean at "
        "$.schema[0].properties[3].logicalType",
    ]


def test_lint_github_step_summary_is_appended(
    broken_mesh: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert runner.invoke(app, ["lint", ".", "--format", "github"]).exit_code == 1
    lines = summary.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "earlier step"
    assert lines[1] == "### meshplane lint .: ❌ failed"
    assert "2 error(s), 0 warning(s)" in lines
    assert f"| error | {CONTRACT}:37:22 | schema-enum | \"money\" is not allowed here; expected one of: string, date, " \
        "timestamp, time, number, integer, object, array, boolean |" in lines  # fmt: skip


def test_lint_gitlab_code_quality_has_the_required_fields(broken_mesh: Path) -> None:
    result = runner.invoke(app, ["lint", ".", "--format", "gitlab"])
    assert result.exit_code == 1
    issues = json.loads(result.stdout)
    assert [(i["check_name"], i["location"]["lines"]["begin"]) for i in issues] == [
        ("meshplane/schema-unknown-field", 7),
        ("meshplane/schema-enum", 37),
    ]
    for item in issues:
        assert set(item) == {"description", "check_name", "fingerprint", "severity", "location"}
        assert item["severity"] == "major" and item["description"]
        assert item["location"]["path"] == CONTRACT
        assert isinstance(item["location"]["lines"]["begin"], int)
    assert len({i["fingerprint"] for i in issues}) == 2
    again = json.loads(runner.invoke(app, ["lint", ".", "--format", "gitlab"]).stdout)
    assert [i["fingerprint"] for i in again] == [i["fingerprint"] for i in issues]  # stable across runs


def test_a_clean_lint_is_an_empty_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(shutil.copytree(BASE_MESH, tmp_path / "m"))
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    result = runner.invoke(app, ["lint", ".", "--format", "gitlab", "--no-warnings"])
    assert result.exit_code == 0 and json.loads(result.stdout) == []


def _tested_contract(folder: Path) -> Path:
    pq.write_table(pa.table({"id": [1, 2, 2], "email": ["a@x.org", None, "c@x.org"]}), folder / "orders.parquet")
    doc = {
        "apiVersion": "v3.1.0", "kind": "DataContract", "id": "orders", "version": "1.0.0", "status": "active",
        "servers": [{"server": "lake", "type": "local", "path": "{model}.parquet", "format": "parquet"}],
        "schema": [{"name": "orders", "properties": [
            {"name": "id", "logicalType": "integer", "unique": True},
            {"name": "email", "logicalType": "string",
             "quality": [{"metric": "nullValues", "mustBe": 0, "severity": "warning"}]},
        ]}],
    }  # fmt: skip
    path = folder / "orders.odcs.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def test_test_github_annotates_failed_and_warning_checks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _tested_contract(tmp_path)
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = runner.invoke(app, ["test", "orders.odcs.yaml", "--format", "github", "--quiet", "--no-record"])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("::error file=orders.odcs.yaml,title=meshplane orders.id.unique::orders 1.0.0: failed: ")
    assert lines[1].startswith("::warning file=orders.odcs.yaml,title=meshplane orders.email.nullValues::")
    text = summary.read_text(encoding="utf-8")
    assert "### meshplane test orders.odcs.yaml: ❌ failed" in text
    assert "| orders 1.0.0 | lake | duckdb | failed |" in text


def test_test_gitlab_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _tested_contract(tmp_path)
    result = runner.invoke(app, ["test", "orders.odcs.yaml", "--format", "gitlab", "--quiet", "--no-record"])
    assert result.exit_code == 1
    issues = json.loads(result.stdout)
    assert [(i["check_name"], i["severity"]) for i in issues] == [
        ("meshplane/orders.id.unique", "major"),
        ("meshplane/orders.email.nullValues", "minor"),
    ]
    assert all(i["location"] == {"path": "orders.odcs.yaml", "lines": {"begin": 1}} for i in issues)


def test_plan_github_and_gitlab(broken_mesh: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESHPLANE_DATABASE_URL", f"sqlite:///{tmp_path}/registry.db")
    assert runner.invoke(app, ["db", "init", "."]).exit_code == 0
    refused = runner.invoke(app, ["plan", ".", "--format", "github"])
    assert refused.exit_code == 1
    assert [line.split("::")[1] for line in refused.stdout.splitlines()] == [
        f"error file={CONTRACT},line=7,col=1,title=meshplane schema-unknown-field",
        f"error file={CONTRACT},line=37,col=22,title=meshplane schema-enum",
    ]
    shutil.copy(BASE_MESH / CONTRACT, broken_mesh / CONTRACT)
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    clean = runner.invoke(app, ["plan", ".", "--format", "github"])
    assert clean.exit_code == 0 and clean.stdout == ""
    assert "| create | contract | sales.orders.orders |" in summary.read_text(encoding="utf-8")
    gitlab = runner.invoke(app, ["plan", ".", "--format", "gitlab"])
    assert gitlab.exit_code == 0 and json.loads(gitlab.stdout) == []


@pytest.mark.parametrize("command", [["lint", "."], ["plan", "."], ["test", "x.odcs.yaml"]])
def test_unknown_format_is_a_usage_error(command: list[str], broken_mesh: Path) -> None:
    result = runner.invoke(app, [*command, "--format", "sarif"])
    assert result.exit_code == 2


@pytest.mark.slow
@pytest.mark.parametrize("output_format", ["github", "gitlab"])
def test_a_plan_through_the_server_reports_as_the_local_one(
    served: Served, monkeypatch: pytest.MonkeyPatch, output_format: str
) -> None:
    """`plan --server-url --format github|gitlab`: the same findings, line for line, as the local plan."""
    breaking_change(served.mesh)
    local = run_local(served, monkeypatch, "plan", str(served.mesh), "--format", output_format)
    remote = run_remote(served, monkeypatch, "customer", "plan", str(served.mesh), "--format", output_format)
    assert local.exit_code == remote.exit_code == 1
    assert remote.stdout == local.stdout
    if output_format == "github":
        assert any(
            line.startswith("::error file=") and "title=meshplane breaking-without-major::" in line
            for line in remote.stdout.splitlines()
        )
    else:
        assert "meshplane/breaking-without-major" in {i["check_name"] for i in json.loads(remote.stdout)}
