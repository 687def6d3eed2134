"""The plan's summary line counts errors and warnings apart (a plan with warnings only still applies)."""

from __future__ import annotations

import pytest

from meshplane.cli import plan_view
from meshplane.diagnostics import Diagnostic, Severity


def _summary(capsys: pytest.CaptureFixture[str], *diagnostics: Diagnostic) -> str:
    view = plan_view.PlanView("mesh", "sqlite:///r.db", [], [d.to_dict() for d in diagnostics])
    plan_view.render_plan(view)
    return [line for line in capsys.readouterr().out.splitlines() if line.startswith("plan:")][-1]


def test_warnings_are_not_counted_as_errors(capsys: pytest.CaptureFixture[str]) -> None:
    warning = Diagnostic(Severity.WARNING, "port-deprecated", "retail.sales/orders is deprecated")
    line = _summary(capsys, warning)
    assert "error(s)" not in line and line.endswith(", 1 warning(s)")
    assert not plan_view.PlanView("m", "r", [], [warning.to_dict()]).has_errors


def test_errors_and_warnings_are_counted_apart(capsys: pytest.CaptureFixture[str]) -> None:
    error = Diagnostic(Severity.ERROR, "breaking-without-major", "a breaking change needs a major version")
    warning = Diagnostic(Severity.WARNING, "port-deprecated", "retail.sales/orders is deprecated")
    assert _summary(capsys, error, warning).endswith(", 1 error(s), 1 warning(s)")
    assert _summary(capsys, error).endswith(", 1 error(s)")


def test_the_impact_headline_counts_every_consumer_and_the_affected_ones_apart() -> None:
    from rich.console import Console
    from rich.tree import Tree

    consumers = [
        {"product": f"d{i}.p", "domain": f"d{i}", "depth": 1 + i // 3, "usage": "affected" if i < 2 else "not-using"}
        for i in range(6)
    ]
    impact = {
        "contract": {"major": 1},
        "summary": {"consumers": 6, "affected": 2, "domains": 5, "maxDepth": 2},
        "consumers": consumers,
    }
    root = Tree("plan")
    plan_view._add_impact(root, impact)
    console = Console(width=200, record=True)
    console.print(root)
    assert "impact on consumers of major version 1: 6 product(s) in 5 domain(s), 2 of them affected, up to depth 2" in (
        console.export_text()
    )
