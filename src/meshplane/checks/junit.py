"""Test runs as JUnit XML, the format CI systems (GitLab, Jenkins, GitHub actions) display.

One ``<testsuite>`` per run (contract on a server), one ``<testcase>`` per check: a failed check
has a ``<failure>``, an errored one an ``<error>``, a skipped one ``<skipped>``; a warning passes
with its message in ``<system-out>``. A run that could not happen is a suite with one errored case.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from meshplane.checks.model import CheckResult, Status, TestRun
from meshplane.checks.values import json_value


def _detail(check: CheckResult) -> str:
    lines = [check.message]
    if check.observed is not None:
        lines.append(f"observed: {json.dumps(json_value(check.observed), default=str)}")
    if check.threshold:
        lines.append(f"threshold: {check.threshold}")
    if check.samples:
        lines.append("samples:")
        for row in check.samples:
            lines.append("  " + json.dumps({k: json_value(v) for k, v in row.items()}, default=str))
    return "\n".join(lines)


def _suite(run: TestRun) -> ET.Element:
    name = f"{run.contract_id or run.file or 'contract'}"
    if run.server:
        name += f" @ {run.server}"
    seconds = max((run.finished_at - run.started_at).total_seconds(), 0.0)
    suite = ET.Element("testsuite", name=name, timestamp=run.started_at.isoformat(), time=f"{seconds:.3f}")
    props = ET.SubElement(suite, "properties")
    for key, value in (
        ("contract.id", run.contract_id),
        ("contract.version", run.contract_version),
        ("server", run.server),
        ("engine", run.engine),
        ("result", run.result.value),
    ):
        if value is not None:
            ET.SubElement(props, "property", name=key, value=str(value))
    cases: list[tuple[str, str, Status, str, str]] = []
    if run.error is not None:
        cases.append(("run", name, Status.ERROR, run.error, run.error))
    for check in run.checks:
        classname = ".".join(x for x in (run.contract_id, check.spec.object) if x) or name
        cases.append((check.spec.id, classname, check.status, check.message, _detail(check)))
    counts = {s: sum(1 for c in cases if c[2] is s) for s in Status}
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(counts[Status.FAILED]))
    suite.set("errors", str(counts[Status.ERROR]))
    suite.set("skipped", str(counts[Status.SKIPPED]))
    for case_name, classname, status, message, detail in cases:
        case = ET.SubElement(suite, "testcase", name=case_name, classname=classname, time="0")
        if status is Status.FAILED:
            ET.SubElement(case, "failure", message=message, type="failed").text = detail
        elif status is Status.ERROR:
            ET.SubElement(case, "error", message=message, type="error").text = detail
        elif status is Status.SKIPPED:
            ET.SubElement(case, "skipped", message=message)
        elif status is Status.WARNING:
            ET.SubElement(case, "system-out").text = f"WARNING: {detail}"
    return suite


def junit_xml(runs: Sequence[TestRun]) -> str:
    """JUnit XML for one or more runs."""
    root = ET.Element("testsuites", name="meshplane test")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for run in runs:
        suite = _suite(run)
        root.append(suite)
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
