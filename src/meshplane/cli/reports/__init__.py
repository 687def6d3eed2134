"""CI reports of `lint`, `test` and `plan`: GitHub Actions annotations, GitLab Code Quality.

Every command hands the same diagnostics its table and JSON formats show to a `CiReport`; one
module per CI format (`github`, `gitlab`) turns a report into what that CI reads. A test check
that failed or warned becomes a diagnostic of its contract file (`from_test_runs`); a plan's
errors are diagnostics already.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from meshplane.diagnostics import Diagnostic, Severity, has_errors

if TYPE_CHECKING:
    from meshplane.checks import TestRun

CI_FORMATS = ("github", "gitlab")
"""The `--format` values every CI-facing command accepts besides its own."""


@dataclass(frozen=True)
class CiReport:
    """What one command found, for a CI: its title, its findings, and a short Markdown summary.

    `lines` are the Markdown lines of the step summary below its heading (counts, a table).
    """

    command: str
    target: str
    diagnostics: Sequence[Diagnostic]
    lines: Sequence[str] = field(default_factory=tuple)

    @property
    def failed(self) -> bool:
        """True when a finding is an error."""
        return has_errors(self.diagnostics)

    def counts(self) -> dict[str, int]:
        """Findings per severity (error, warning, info), zeros included."""
        return {s.value: sum(1 for d in self.diagnostics if d.severity is s) for s in Severity}


def from_test_runs(runs: Sequence[TestRun]) -> list[Diagnostic]:
    """The checks of test runs that did not pass, and the runs that could not happen, as diagnostics.

    A failed check is an error, a warning a warning, a check that could not run an error; the
    diagnostic names the contract file (checks have no line of their own: the annotation is on the file).
    """
    out: list[Diagnostic] = []
    for run in runs:
        file = run.file
        head = f"{run.contract_id or file} {run.contract_version or ''}".strip()
        if run.error:
            out.append(Diagnostic(Severity.ERROR, "test-run", f"{head}: {run.error}", file=file))
        for check in run.checks:
            status = check.status.value
            if status in ("passed", "skipped"):
                continue
            severity = Severity.WARNING if status == "warning" else Severity.ERROR
            observed = f" (observed {check.observed}, threshold {check.threshold})" if check.threshold else ""
            out.append(Diagnostic(severity, check.spec.id, f"{head}: {status}: {check.message}{observed}", file=file))
    return out


def test_summary_lines(runs: Sequence[TestRun]) -> list[str]:
    """A Markdown table of the runs: contract, server, engine, result and counts per status."""
    lines = [
        "| contract | server | engine | result | passed | warning | failed | error |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        counts = {
            s: sum(1 for c in run.checks if c.status.value == s) for s in ("passed", "warning", "failed", "error")
        }
        head = f"{run.contract_id or run.file} {run.contract_version or ''}".strip()
        cells = [head, run.server or "", run.engine or "", run.result.value, *(str(n) for n in counts.values())]
        lines.append("| " + " | ".join(markdown_cell(c) for c in cells) + " |")
    return lines


def where_in_document(diag: Diagnostic) -> str:
    """`` at $.schema[0]`` when the diagnostic points inside its document, else nothing."""
    return f" at {diag.path}" if diag.path and diag.path != "$" else ""


def markdown_cell(text: str) -> str:
    """Text safe in a Markdown table cell (pipes escaped, one line)."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def emit(report: CiReport, output_format: str, write: Callable[[str], object]) -> None:
    """Write `report` in a CI format (`github` or `gitlab`) through `write`."""
    from meshplane.cli.reports import github, gitlab

    writers = {"github": github.emit, "gitlab": gitlab.emit}
    writers[output_format](report, write)


__all__ = [
    "CI_FORMATS",
    "CiReport",
    "emit",
    "from_test_runs",
    "markdown_cell",
    "test_summary_lines",
    "where_in_document",
]
