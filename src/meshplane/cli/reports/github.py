"""GitHub Actions: one workflow command per finding (``::error file=…,line=…,col=…,title=…::message``)
and a Markdown step summary appended to the file ``$GITHUB_STEP_SUMMARY`` names, when it is set.

Escaping follows the workflow-command rules: in the message ``%``, CR and LF become ``%25``,
``%0D``, ``%0A``; property values (file, title) also escape ``:`` and ``,`` (``%3A``, ``%2C``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from meshplane.cli.reports import CiReport, markdown_cell, where_in_document
from meshplane.diagnostics import Diagnostic, Severity

SUMMARY_VARIABLE = "GITHUB_STEP_SUMMARY"
_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(text: str) -> str:
    """A workflow command's message: %, CR and LF percent-encoded."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value: the message's escapes, and : and , too."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(diag: Diagnostic) -> str:
    """One diagnostic as a workflow command: `error`, `warning` or `notice`, located as far as known."""
    props: list[tuple[str, str]] = []
    if diag.file:
        props.append(("file", diag.file))
        if diag.line is not None:
            props.append(("line", str(diag.line)))
            if diag.column is not None:
                props.append(("col", str(diag.column)))
    props.append(("title", f"meshplane {diag.code}"))
    message = diag.message + where_in_document(diag) + (f"\nhint: {diag.hint}" if diag.hint else "")
    rendered = ",".join(f"{key}={escape_property(value)}" for key, value in props)
    return f"::{_COMMAND[diag.severity]} {rendered}::{escape_data(message)}"


def step_summary(report: CiReport) -> str:
    """The Markdown summary of a report: heading with the verdict, counts, the findings, the command's lines."""
    counts = report.counts()
    verdict = "❌ failed" if report.failed else "✅ passed"
    out = [
        f"### meshplane {report.command} {markdown_cell(report.target)}: {verdict}",
        "",
        f"{counts['error']} error(s), {counts['warning']} warning(s)",
        "",
    ]
    if report.lines:
        out += [*report.lines, ""]
    if report.diagnostics:
        out += ["| severity | where | code | message |", "|---|---|---|---|"]
        for d in report.diagnostics:
            cells = (d.severity.value, d.location, d.code, d.message)
            out.append("| " + " | ".join(markdown_cell(c) for c in cells) + " |")
        out.append("")
    return "\n".join(out) + "\n"


def emit(report: CiReport, write: Callable[[str], object]) -> None:
    """Annotations through `write`; the step summary appended to $GITHUB_STEP_SUMMARY when set."""
    for diag in report.diagnostics:
        write(annotation(diag) + "\n")
    summary_file = os.environ.get(SUMMARY_VARIABLE)
    if summary_file:
        with Path(summary_file).open("a", encoding="utf-8") as handle:
            handle.write(step_summary(report))


__all__ = ["SUMMARY_VARIABLE", "annotation", "emit", "escape_data", "escape_property", "step_summary"]
