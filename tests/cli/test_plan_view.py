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
