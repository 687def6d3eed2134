"""A plan (computed here or answered by a server) and a refused plan as CI reports."""

from __future__ import annotations

import sys

from meshplane.api.client import diagnostic_from_dict
from meshplane.cli.plan_view import PlanView
from meshplane.cli.reports import CiReport, emit, markdown_cell
from meshplane.diagnostics import MeshplaneError


def plan_report(view: PlanView) -> CiReport:
    """The plan's errors as findings; its summary and changes as the step summary's table."""
    lines = [f"plan for mesh `{markdown_cell(view.mesh)}`: {view.summary()}", ""]
    if view.changes:
        lines += ["| action | kind | id |", "|---|---|---|"]
        for change in view.changes:
            cells = (str(change.get("action")), str(change.get("kind")), str(change.get("id")))
            lines.append("| " + " | ".join(markdown_cell(c) for c in cells) + " |")
    errors = [diagnostic_from_dict(e) for e in view.errors]
    return CiReport("plan", view.mesh, errors, lines)


def emit_plan(view: PlanView, output_format: str) -> None:
    """Write the plan in a CI format (`github`, `gitlab`) on stdout."""
    emit(plan_report(view), output_format, sys.stdout.write)


def emit_refusal(exc: MeshplaneError, target: str, output_format: str) -> None:
    """A plan that could not be computed (lint errors, unusable input) in a CI format on stdout."""
    emit(CiReport("plan", target, exc.diagnostics, (exc.message,)), output_format, sys.stdout.write)


__all__ = ["emit_plan", "emit_refusal", "plan_report"]
