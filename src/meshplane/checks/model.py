"""The three stages of a contract check, kept apart (a check is data):

- `CheckSpec`: what the contract declares, compiled from it; never executes. Each check type
  (a module in `checks/kinds/`) subclasses it with its own fields.
- `Outcome` / `CheckResult`: what running one spec against one dataset gave.
- `TestRun`: the evaluation that gets stored and reported, with provenance (contract id and
  version, server, engine, data snapshots, timestamps) and the overall result.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from meshplane.checks.values import json_value


class Status(enum.StrEnum):
    """Status of one check (and, without `skipped`, of a whole run)."""

    PASSED = "passed"
    WARNING = "warning"
    FAILED = "failed"
    ERROR = "error"
    SKIPPED = "skipped"
    """Not executable (text rules, custom engines, unsupported options): reported with the reason."""


SEVERITIES = ("error", "warning", "info")

_SEVERITY_ALIASES = {"warn": "warning", "information": "info", "informational": "info", "minor": "warning"}


def normalize_severity(value: str | None) -> str:
    """A rule's `severity` as one of error/warning/info (unknown words count as error)."""
    if value is None:
        return "error"
    word = value.strip().lower()
    word = _SEVERITY_ALIASES.get(word, word)
    return word if word in SEVERITIES else "error"


@dataclass(frozen=True, kw_only=True)
class CheckSpec:
    """A declared check: identity and presentation fields shared by every check type.

    `object` is the schema object name (None for contract-level checks such as an SLA without an
    element); `property` the dotted property path (None for object-level checks).
    """

    id: str
    kind: str
    object: str | None
    property: str | None = None
    severity: str = "error"
    dimension: str | None = None
    name: str | None = None
    description: str | None = None


@dataclass(frozen=True, kw_only=True)
class PropertySpec(CheckSpec):
    """A check on one property: `column` is its physical path (``("address", "city")``)."""

    column: tuple[str, ...]
    logical_type: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What judging a check gave, before severity is applied.

    `status` is passed, failed, error or skipped; a failed check whose severity is warning or
    info is reported as `warning` (see `CheckResult.from_outcome`).
    """

    status: Status
    observed: Any = None
    threshold: str | None = None
    message: str = ""

    @classmethod
    def passed(cls, message: str, observed: Any = None, threshold: str | None = None) -> Outcome:
        return cls(Status.PASSED, observed, threshold, message)

    @classmethod
    def failed(cls, message: str, observed: Any = None, threshold: str | None = None) -> Outcome:
        return cls(Status.FAILED, observed, threshold, message)

    @classmethod
    def error(cls, message: str, observed: Any = None, threshold: str | None = None) -> Outcome:
        return cls(Status.ERROR, observed, threshold, message)

    @classmethod
    def skipped(cls, message: str, threshold: str | None = None) -> Outcome:
        return cls(Status.SKIPPED, None, threshold, message)

    @classmethod
    def judged(cls, ok: bool, observed: Any, threshold: str | None, good: str, bad: str) -> Outcome:
        """Passed with message `good` when `ok`, else failed with message `bad`."""
        return cls(Status.PASSED if ok else Status.FAILED, observed, threshold, good if ok else bad)


@dataclass(frozen=True)
class CheckResult:
    """The runtime result of one check spec."""

    spec: CheckSpec
    status: Status
    observed: Any = None
    threshold: str | None = None
    message: str = ""
    samples: list[dict[str, Any]] | None = None

    @classmethod
    def from_outcome(cls, spec: CheckSpec, outcome: Outcome) -> CheckResult:
        """Apply the spec's severity: a failure of a warning/info rule is a `warning`."""
        status = outcome.status
        if status is Status.FAILED and spec.severity in ("warning", "info"):
            status = Status.WARNING
        return cls(spec, status, outcome.observed, outcome.threshold, outcome.message)

    def to_dict(self) -> dict[str, Any]:
        """The check as in `test --format json` (ARCHITECTURE.md §3, docs/schemas/test-result.schema.json)."""
        out: dict[str, Any] = {
            "id": self.spec.id,
            "kind": self.spec.kind,
            "object": self.spec.object,
            "property": self.spec.property,
            "status": self.status.value,
            "severity": self.spec.severity,
            "observed": json_value(self.observed),
            "threshold": self.threshold,
            "message": self.message,
            "dimension": self.spec.dimension,
            "name": self.spec.name,
        }
        if self.samples is not None:
            out["samples"] = [{k: json_value(v) for k, v in row.items()} for row in self.samples]
        return out


@dataclass(frozen=True)
class DatasetInfo:
    """Provenance of one dataset read by a run."""

    object: str
    location: str
    format: str | None = None
    snapshot: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"object": self.object, "location": self.location, "format": self.format, "snapshot": self.snapshot}


def overall_result(results: list[CheckResult]) -> Status:
    """failed if any check failed (or could not be evaluated), else warning if any warned, else passed."""
    statuses = {r.status for r in results}
    if Status.FAILED in statuses or Status.ERROR in statuses:
        return Status.FAILED
    if Status.WARNING in statuses:
        return Status.WARNING
    return Status.PASSED


@dataclass
class TestRun:
    """One execution of a contract's checks against one server: the stored evaluation.

    `result` is `error` (with `error` saying why) when the run itself could not happen.
    """

    __test__ = False  # not a pytest test class

    contract_id: str | None
    contract_version: str | None
    server: str | None
    engine: str | None
    started_at: datetime
    finished_at: datetime
    checks: list[CheckResult] = field(default_factory=list)
    error: str | None = None
    file: str | None = None
    datasets: list[DatasetInfo] = field(default_factory=list)

    @property
    def result(self) -> Status:
        """The overall result of the run."""
        if self.error is not None:
            return Status.ERROR
        return overall_result(self.checks)

    def count(self, status: Status) -> int:
        """How many checks have this status."""
        return sum(1 for c in self.checks if c.status is status)

    def to_dict(self) -> dict[str, Any]:
        """The run as `test --format json` prints it."""
        out: dict[str, Any] = {
            "contract": {"id": self.contract_id, "version": self.contract_version},
            "server": self.server,
            "engine": self.engine,
            "result": self.result.value,
            "startedAt": _iso(self.started_at),
            "finishedAt": _iso(self.finished_at),
            "checks": [c.to_dict() for c in self.checks],
            "summary": {s.value: self.count(s) for s in Status},
            "datasets": [d.to_dict() for d in self.datasets],
            "file": self.file,
        }
        if self.error is not None:
            out["error"] = self.error
        return out


def _iso(moment: datetime) -> str:
    text = moment.isoformat()
    return text.replace("+00:00", "Z")
