"""Contract checks: a contract compiles into declared check specs, which run in one scan per object.

Public names: `compile_contract` (contract -> specs), `run_checks` (specs -> results through an
engine session), the result types (`CheckResult`, `TestRun`, `Status`) and `junit_xml`.
Check types live one per module in `checks.kinds` (see `checks.registry`).
"""

from __future__ import annotations

from meshplane.checks.compiler import compile_contract
from meshplane.checks.junit import junit_xml
from meshplane.checks.model import CheckResult, CheckSpec, DatasetInfo, Outcome, Status, TestRun, overall_result
from meshplane.checks.runner import ChecksOutcome, ObjectDone, ProgressCallback, run_checks

__all__ = [
    "CheckResult",
    "CheckSpec",
    "ChecksOutcome",
    "DatasetInfo",
    "ObjectDone",
    "Outcome",
    "ProgressCallback",
    "Status",
    "TestRun",
    "compile_contract",
    "junit_xml",
    "overall_result",
    "run_checks",
]
