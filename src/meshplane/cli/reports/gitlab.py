"""GitLab CI: a Code Quality report (the Code Climate subset GitLab reads), one issue per finding.

Each issue has `description`, `check_name`, `fingerprint`, `severity` (error → major, warning →
minor, info → info) and `location` (`path` relative to the working folder, `lines.begin`, 1 when
the finding has no line). The fingerprint is a SHA-256 of the check, path, JSON path and message:
stable across runs while the finding stays, unique for two findings in one file.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from meshplane.cli.reports import CiReport, where_in_document
from meshplane.diagnostics import Diagnostic, Severity

_SEVERITY = {Severity.ERROR: "major", Severity.WARNING: "minor", Severity.INFO: "info"}


def _relative(file: str | None) -> str:
    if not file:
        return "mesh.yaml"
    path = Path(file)
    if path.is_absolute():
        try:
            return path.relative_to(Path.cwd()).as_posix()
        except ValueError:
            return path.as_posix()
    return path.as_posix()


def issue(diag: Diagnostic) -> dict[str, Any]:
    """One diagnostic as a Code Quality issue."""
    path = _relative(diag.file)
    key = "\0".join((diag.code, path, diag.path or "", diag.message))
    description = diag.message + where_in_document(diag)
    return {
        "description": description,
        "check_name": f"meshplane/{diag.code}",
        "fingerprint": hashlib.sha256(key.encode("utf-8")).hexdigest(),
        "severity": _SEVERITY[diag.severity],
        "location": {"path": path, "lines": {"begin": max(diag.line or 1, 1)}},
    }


def code_quality(report: CiReport) -> list[dict[str, Any]]:
    """The report as a Code Quality document (a JSON array, empty when nothing was found)."""
    return [issue(d) for d in report.diagnostics]


def emit(report: CiReport, write: Callable[[str], object]) -> None:
    """The Code Quality JSON through `write`."""
    write(json.dumps(code_quality(report), indent=2, ensure_ascii=False) + "\n")


__all__ = ["code_quality", "emit", "issue"]
