"""The demo runs end to end on a small lake and shows what it promises."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from meshplane.cli.app import app
from meshplane.demo.steps import DEMO_MARKER, DemoOptions, DemoStep, prepare_work_dir, run_demo, tour
from meshplane.diagnostics import MeshplaneError

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def steps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, DemoStep]:
    work = tmp_path_factory.mktemp("demo") / "work"
    return {step.title: step for step in run_demo(DemoOptions(work, rows=200, seed=3, now=NOW))}


def _step(steps: dict[str, DemoStep], prefix: str) -> DemoStep:
    matches = [s for title, s in steps.items() if title.startswith(prefix)]
    assert len(matches) == 1, f"no single step starting with {prefix!r} in {list(steps)}"
    return matches[0]


def test_every_step_succeeds(steps: dict[str, DemoStep]) -> None:
    failed = [title for title, step in steps.items() if not step.ok]
    assert failed == []


def test_lint_is_clean(steps: dict[str, DemoStep]) -> None:
    lines = _step(steps, "Lint").lines
    assert "0 error(s), 0 warning(s)" in lines[0]


def test_apply_then_plan_shows_no_changes(steps: dict[str, DemoStep]) -> None:
    lines = _step(steps, "Apply").lines
    assert lines[0].startswith("applied: ") and "to create" in lines[0]
    assert lines[1] == "plan again: no changes"


def test_breaking_change_is_refused_with_its_cross_domain_impact(steps: dict[str, DemoStep]) -> None:
    step = _step(steps, "Plan a breaking change")
    plan = step.detail
    assert plan.has_errors
    assert [d.code for d in plan.errors] == ["breaking-without-major"]
    text = "\n".join(step.lines)
    assert "customers.segment was removed" in text
    # segment is read across domains: marketing and retail consume customer.profiles
    assert "marketing.campaign_performance (marketing" in text
    assert "retail.sales (retail" in text


def test_work_dir_not_made_by_the_demo_is_refused(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(MeshplaneError, match="not empty"):
        prepare_work_dir(tmp_path)
    assert (tmp_path / "precious.txt").exists()


def test_work_dir_of_a_previous_demo_is_reset(tmp_path: Path) -> None:
    work = tmp_path / "w"
    prepare_work_dir(work)
    (work / "old.txt").write_text("x", encoding="utf-8")
    prepare_work_dir(work)
    assert sorted(p.name for p in work.iterdir()) == [DEMO_MARKER]


def test_cli_refuses_a_foreign_folder_without_traceback(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("x", encoding="utf-8")
    result = CliRunner().invoke(app, ["demo", "--dir", str(tmp_path), "--rows", "100"])
    assert result.exit_code == 2
    assert "not empty" in result.output and "Traceback" not in result.output


def test_contract_tests_fail_only_the_deliberately_broken_product(steps: dict[str, DemoStep]) -> None:
    step = _step(steps, "Test every data product")
    runs = step.detail
    results = {run.contract_id: run.to_dict()["result"] for run in runs}  # type: ignore[union-attr]
    assert len(results) == 11
    assert {cid for cid, result in results.items() if result != "passed"} == {"marketing.campaign_responses.responses"}
    text = "\n".join(step.lines)
    for expected in ("3 duplicate value(s)", "5 null value(s)", "4 value(s) break format email", "invalid values: 2"):
        assert expected in text


def test_a_week_of_lineage_flags_the_flow_without_an_agreement(steps: dict[str, DemoStep]) -> None:
    step = _step(steps, "Inter-domain data movement")
    report = step.detail
    flagged = [f for f in report.flows if "no-agreement" in f.flags]  # type: ignore[union-attr]
    assert [(f.from_product, f.to_product) for f in flagged] == [("retail.sales", "marketing.campaign_performance")]
    assert all(f.agreement == "active" for f in report.flows if f.from_domain != f.to_domain and f not in flagged)  # type: ignore[union-attr]


def test_breaking_change_impact_is_narrowed_by_column_lineage(steps: dict[str, DemoStep]) -> None:
    plan = _step(steps, "Plan a breaking change").detail
    (version,) = [v for v in plan.versions if v.impact is not None]  # type: ignore[union-attr]
    usage = {hit.consumer.product: hit.usage.value for hit in version.impact.consumers}
    assert usage["customer.customer360"] == "affected"
    assert usage["marketing.campaign_performance"] == "affected"
    assert usage["retail.sales"] == "not-using"  # reads customer_id and country_code only
    assert usage["finance.ledger"] == "not-using"  # downstream of retail.sales


TOUR_EXIT = {
    "meshplane test marketing.campaign_responses": 1,  # the deliberately broken product fails its tests
    "meshplane test --all": 1,
    "meshplane plan": 1,  # the breaking change is refused
    "meshplane diff": 1,  # and the diff says it is breaking
}


@pytest.mark.slow
def test_every_try_next_command_works_as_printed(steps: dict[str, DemoStep], tmp_path: Path) -> None:
    """Each printed command, pasted into a shell elsewhere without configuration, does what the demo says."""
    work = Path(_step(steps, "Copy the example mesh").lines[0]).parent
    env = {k: v for k, v in os.environ.items() if not k.startswith("MESHPLANE_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    for command in tour(work):
        done = subprocess.run(
            ["/bin/sh", "-c", command], check=False, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
        )
        output = done.stdout + done.stderr
        expected = next((code for prefix, code in TOUR_EXIT.items() if command.startswith(prefix)), 0)
        assert done.returncode == expected, f"{command}\n{output}"
        assert "Traceback" not in output and "no registry" not in output, f"{command}\n{output}"
        if command.startswith("meshplane plan"):  # against the demo's registry, not an empty new one
            assert "breaking-without-major" in output and "to create" in output, output
            assert "60 to create" not in output
    assert not (work / "mesh-change" / ".meshplane").exists(), "no registry was created beside the change"


def test_the_breaking_change_ships_as_a_new_major_beside_the_old_one(steps: dict[str, DemoStep]) -> None:
    step = _step(steps, "Publish customers 2.0.0 beside 1.x")
    [row] = step.detail  # type: ignore[misc]
    assert (row["old"]["port"], row["new"]["port"], row["daysToSunset"]) == ("customers", "customers_v2", 90)
    assert [c["product"] for c in row["moved"]] == ["retail.sales"]
    declared = {c["product"] for c in row["remaining"] if c["how"] == "inputPort"}
    assert declared == {"customer.customer360", "marketing.campaign_performance"}
    assert any(
        line.startswith("warning: output port customer.profiles/customers@1.0.0 is deprecated") for line in step.lines
    )
