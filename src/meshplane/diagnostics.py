"""Diagnostics: what meshplane tells a user about a file, a mesh or a request.

A diagnostic names where the problem is (file, line, column, JSON path) and says what is wrong in
plain words. Loaders and linters never raise for a problem in the user's input: they return
diagnostics, all of them at once, so a team fixes a file in one pass.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any


class Severity(enum.StrEnum):
    """How bad a diagnostic is. Only errors make `lint` fail."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


JsonPath = tuple[str | int, ...]
"""A location inside a document, as keys and list indexes from the root."""


def render_json_path(path: Sequence[str | int]) -> str:
    """Render a path as a JSONPath string: ``$.schema[0].properties[2].name``."""
    out = "$"
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.isidentifier():
            out += f".{part}"
        else:
            escaped = part.replace("\\", "\\\\").replace("'", "\\'")
            out += f"['{escaped}']"
    return out


@dataclass(frozen=True, order=True)
class Position:
    """A 1-based line and column in a text file."""

    line: int
    column: int


@dataclass(frozen=True)
class Diagnostic:
    """One finding about the user's input.

    ``code`` is a stable, machine-readable identifier (e.g. ``schema``, ``yaml-syntax``,
    ``unresolved-input-port``) that tests and tools can match on; ``message`` is for people.
    """

    severity: Severity
    code: str
    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    path: str | None = None
    hint: str | None = field(default=None, compare=False)

    @property
    def location(self) -> str:
        """``file:line:column`` as far as known, for messages and editors."""
        where = self.file or "<input>"
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return where

    def __str__(self) -> str:
        at = f" at {self.path}" if self.path else ""
        return f"{self.location}: {self.severity.value}: {self.message}{at} [{self.code}]"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form (the shape of `lint --format json`)."""
        return {
            "severity": self.severity.value,
            "code": self.code,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "hint": self.hint,
        }


def json_type(value: Any) -> str:
    """The JSON type name of a Python value, for messages (``null``, ``integer``, ``array``, ``object``, ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    names = ((int, "integer"), (float, "number"), (str, "string"), (list, "array"), (dict, "object"))
    for kind, name in names:
        if isinstance(value, kind):
            return name
    return type(value).__name__


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    """True when any diagnostic is an error."""
    return any(d.severity is Severity.ERROR for d in diagnostics)


def sort_diagnostics(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Order by file, then line, then column; errors before warnings on the same spot."""
    rank = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
    return sorted(
        diagnostics,
        key=lambda d: (d.file or "", d.line or 0, d.column or 0, rank[d.severity], d.code, d.message),
    )


class MeshplaneError(Exception):
    """A problem the user can fix (bad input, missing file, refused operation).

    The CLI prints it as a message and exits non-zero; the API turns it into a 4xx problem.
    Carry diagnostics when there is more than one thing to say.
    """

    def __init__(self, message: str, diagnostics: Sequence[Diagnostic] = (), exit_code: int = 2) -> None:
        super().__init__(message)
        self.message = message
        self.diagnostics = list(diagnostics)
        self.exit_code = exit_code
