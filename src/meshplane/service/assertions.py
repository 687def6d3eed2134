"""dbt tests (and every producer's data quality assertions) as test runs of the port they tested.

An input dataset of a lineage run may carry a ``dataQualityAssertions`` facet (``dbt-ol build``
and ``dbt-ol test`` send one per tested relation; Great Expectations and Soda integrations too).
When the dataset resolves to an output port, derivation (`meshplane.service.derivation`) stores
the assertions as one **test run of the port's contract** in the test-run history
(`meshplane.registry.testruns.store_evidence_run`), beside the runs of ``meshplane test``:

* engine ``openlineage`` (shown as source ``openlineage``), the event's time, the sender as
  recorded-by, and which run, job and dataset it came from (``lineage`` in the run's extra);
* one check per assertion: id ``openlineage.<name>`` (dbt's test name, else the assertion and
  its column), kind ``assertion``, the object of the port and the column, status ``passed``,
  or ``failed`` — ``warning`` when the producer says its severity is ``warn``, as dbt counts it —
  with the expected and actual values the producer gives;
* the run's result is the worst of its checks: a failing assertion is a failing check of the
  port, which opens an incident (`meshplane.service.incidents`) and shows on the port's badge.

Keyed on the run id and the dataset: re-deriving an event (a reindex) never adds a run. Only
evidence a sender may give counts (`meshplane.service.senders.port_evidence_mismatch`): a
maintainer of another domain testing a port is flagged ``sender-mismatch`` instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from meshplane.lineage import Assertion, DatasetIdentity, LineageEvent, PortMatch

SOURCE = "openlineage"
"""The engine (and source) of test runs derived from lineage events."""
KIND = "assertion"
"""The check kind of an assertion a producer reported."""


def assertion_key(run_key: str, identity: DatasetIdentity) -> str:
    """What identifies the assertions of one dataset in one run (stored once, whatever is re-derived)."""
    return f"{SOURCE}\n{run_key}\n{identity.namespace}#{identity.name}"


def _status(assertion: Assertion) -> str:
    if assertion.success:
        return "passed"
    return "warning" if (assertion.severity or "").lower() in ("warn", "warning") else "failed"


def _check(assertion: Assertion, obj: str) -> dict[str, Any]:
    label = assertion.name or (f"{assertion.assertion}.{assertion.column}" if assertion.column else assertion.assertion)
    where = f"column {assertion.column}" if assertion.column else "the dataset"
    verdict = "passed" if assertion.success else "failed"
    message = assertion.description or f"{assertion.assertion} on {where} {verdict}"
    if not assertion.success and assertion.actual is not None:
        message += f" (actual {assertion.actual}" + (f", expected {assertion.expected})" if assertion.expected else ")")
    severity = (assertion.severity or "error").lower()
    return {
        "id": f"{SOURCE}.{label}",
        "kind": KIND,
        "object": obj,
        "property": assertion.column,
        "status": _status(assertion),
        "severity": "warning" if severity in ("warn", "warning") else severity,
        "observed": assertion.actual,
        "threshold": assertion.expected,
        "message": message,
        "assertion": assertion.assertion,
        "name": assertion.name,
        "column": assertion.column,
        "success": assertion.success,
    }


def _result(checks: Sequence[dict[str, Any]]) -> str:
    statuses = {c["status"] for c in checks}
    return "failed" if "failed" in statuses else "warning" if "warning" in statuses else "passed"


def assertion_run(
    event: LineageEvent,
    identity: DatasetIdentity,
    assertions: Sequence[Assertion],
    match: PortMatch,
    *,
    at: datetime,
    received_by: str | None,
) -> dict[str, Any]:
    """The test run (``meshplane test --format json`` shape) of a dataset's assertions in one event."""
    checks = [_check(a, match.object) for a in assertions]
    when = at.isoformat()
    return {
        "contract": {"id": match.contract_id, "version": match.contract_version},
        "server": None,
        "engine": SOURCE,
        "result": _result(checks),
        "startedAt": when,
        "finishedAt": when,
        "checks": checks,
        "source": SOURCE,
        "lineage": {
            "runId": event.run_id,
            "job": f"{event.job_namespace}/{event.job_name}",
            "dataset": {"namespace": identity.namespace, "name": identity.name},
            "port": f"{match.product}/{match.port}",
            "producer": event.producer,
            "receivedBy": received_by,
        },
    }


__all__ = ["KIND", "SOURCE", "assertion_key", "assertion_run"]
