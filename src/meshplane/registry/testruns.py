"""Store contract test runs and their check results (the `meshplane test --format json` shape).

`record_test_run` takes the JSON dict of ARCHITECTURE.md §3 as the checks produce it::

    {"contract": {"id": "…", "version": "…"}, "server": "…", "engine": "duckdb",
     "result": "passed|warning|failed|error", "startedAt": "…", "finishedAt": "…",
     "checks": [{"id": "…", "kind": "…", "object": "orders", "property": "order_id",
                 "status": "passed", "severity": "error", "observed": 0, "threshold": "…", "message": "…"}]}

Keys it does not know are kept (``extra`` columns), so richer results lose nothing. The run is
linked to the registered contract version when there is one; a run of an unregistered contract is
stored all the same. A run is stored once: the same document sent again (a retried request, a
re-run publish) is recognised by its fingerprint (`run_fingerprint`) and not stored twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from meshplane.canonical import canonical_sha256
from meshplane.diagnostics import MeshplaneError
from meshplane.registry import models as m
from meshplane.registry.database import Registry
from meshplane.registry.incidents import Incident

RESULTS = ("passed", "warning", "failed", "error")
_RUN_KEYS = {"contract", "server", "engine", "result", "startedAt", "finishedAt", "checks"}
_CHECK_KEYS = {"id", "kind", "object", "property", "status", "severity", "observed", "threshold", "message"}


def _timestamp(value: Any, name: str) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise MeshplaneError(f"test run: {name} '{value}' is not an ISO 8601 timestamp") from exc
    else:
        raise MeshplaneError(f"test run: {name} must be an ISO 8601 timestamp")
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _require(run: Mapping[str, Any]) -> tuple[str, str, str]:
    contract = run.get("contract")
    if not isinstance(contract, Mapping) or not contract.get("id") or not contract.get("version"):
        raise MeshplaneError("test run: 'contract' must be an object with 'id' and 'version'")
    result = run.get("result")
    if result not in RESULTS:
        raise MeshplaneError(f"test run: 'result' must be one of {', '.join(RESULTS)}, not {result!r}")
    return str(contract["id"]), str(contract["version"]), str(result)


def run_fingerprint(run: Mapping[str, Any]) -> str:
    """sha256 (hex) of a run document's canonical JSON: the same run has the same one, however it travelled.

    Key order, ``null`` fields (the API's model writes them), the spelling of ``startedAt`` and
    ``finishedAt`` (``Z`` or ``+00:00``) and the checks' failing ``samples`` (kept where the tests
    ran, never sent to a server) do not count.
    """
    document = _without_nulls(run)
    for key in ("startedAt", "finishedAt"):
        if key in document:
            document[key] = _timestamp(document[key], key).astimezone(UTC).isoformat()
    if isinstance(document.get("checks"), list):
        document["checks"] = [
            {k: v for k, v in check.items() if k != "samples"} if isinstance(check, dict) else check
            for check in document["checks"]
        ]
    return canonical_sha256(document, default=str)


def _without_nulls(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_without_nulls(v) for v in value]
    return value


def record_test_run(registry: Registry, run: Mapping[str, Any], *, actor: str = "unknown") -> int:
    """Store one test run with its check results in one transaction; returns the run's id (`store_test_run`)."""
    return store_test_run(registry, run, actor=actor)[0]


def store_test_run(registry: Registry, run: Mapping[str, Any], *, actor: str = "unknown") -> tuple[int, bool]:
    """Store one test run with its check results in one transaction.

    Returns the run's id and True; or, when the same run document was stored before, that run's id
    and False (nothing is written).
    """
    _validate(run)  # before the write lock: bad input never waits for it
    fingerprint = run_fingerprint(run)

    # the write lock: two copies sent at once cannot both be new
    def _in_transaction(session: Session) -> tuple[int, bool]:
        stored = session.execute(sa.select(m.TestRun.id).where(m.TestRun.fingerprint == fingerprint)).scalar()
        if stored is not None:
            return stored, False
        return _insert(session, run, actor=actor, fingerprint=fingerprint), True

    return registry.write(_in_transaction, exclusive=True)


def _validate(run: Mapping[str, Any]) -> None:
    """Raise `MeshplaneError` naming what a run document lacks or has wrong."""
    _require(run)
    _timestamp(run.get("startedAt"), "startedAt")
    if run.get("finishedAt") is not None:
        _timestamp(run["finishedAt"], "finishedAt")
    checks = run.get("checks") or []
    if not isinstance(checks, list) or not all(isinstance(c, Mapping) for c in checks):
        raise MeshplaneError("test run: 'checks' must be a list of objects")


def _insert(
    session: Session, run: Mapping[str, Any], *, actor: str, fingerprint: str, started: datetime | None = None
) -> int:
    """Insert a validated run (`started`: its start when not the document's own) and its checks; its id."""
    contract_id, version, result = _require(run)
    finished = _timestamp(run["finishedAt"], "finishedAt") if run.get("finishedAt") is not None else None
    times = (started or _timestamp(run.get("startedAt"), "startedAt"), finished)
    version_id = session.execute(
        sa.select(m.ContractVersion.id).where(
            m.ContractVersion.contract_id == contract_id, m.ContractVersion.version == version
        )
    ).scalar_one_or_none()
    checks = run.get("checks") or []
    row = m.TestRun(
        contract_id=contract_id,
        contract_version=version,
        contract_version_id=version_id,
        server=_text(run.get("server")),
        engine=_text(run.get("engine")),
        result=result,
        started_at=times[0],
        finished_at=times[1],
        recorded_at=m.utcnow(),
        recorded_by=actor[:200],
        check_count=len(checks),
        extra={k: v for k, v in run.items() if k not in _RUN_KEYS},
        fingerprint=fingerprint,
    )
    session.add(row)
    session.flush()
    _insert_checks(session, row.id, checks)
    return row.id


def _check_rows(checks: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The `check_results` rows of a run's checks (without the run's id)."""
    return [
        {
            "position": index,
            "check_id": str(check.get("id") or f"check-{index}")[:500],
            "kind": _text(check.get("kind")),
            "object": _text(check.get("object")),
            "property": _text(check.get("property")),
            "status": str(check.get("status") or "error"),
            "severity": _text(check.get("severity")),
            "observed": check.get("observed"),
            "threshold": _text(check.get("threshold")),
            "message": _text(check.get("message")),
            "extra": {k: v for k, v in check.items() if k not in _CHECK_KEYS} or None,
        }
        for index, check in enumerate(checks)
    ]


def _insert_checks(session: Session, run_id: int, checks: Sequence[Mapping[str, Any]]) -> None:
    if checks:
        session.execute(sa.insert(m.CheckResult), [{"test_run_id": run_id, **row} for row in _check_rows(checks)])


def _stored_checks(session: Session, run_id: int) -> list[dict[str, Any]]:
    """A stored run's `check_results` rows as `_check_rows` gives them."""
    columns = [getattr(m.CheckResult, name) for name in _CHECK_COLUMNS]
    query = sa.select(*columns).where(m.CheckResult.test_run_id == run_id).order_by(m.CheckResult.position)
    return [dict(zip(_CHECK_COLUMNS, row, strict=True)) for row in session.execute(query)]


_CHECK_COLUMNS = ("position", "check_id", "kind", "object", "property", "status", "severity", "observed",
                  "threshold", "message", "extra")  # fmt: skip


def evidence_fingerprint(key: str) -> str:
    """The ``fingerprint`` of a run derived from evidence (`store_evidence_run`): sha256 of its key, namespaced."""
    return hashlib.sha256(f"evidence\n{key}".encode()).hexdigest()


def store_evidence_run(session: Session, run: Mapping[str, Any], *, key: str, actor: str) -> tuple[int, bool]:
    """Store a run that evidence says happened (an OpenLineage event's assertions), once per `key`.

    Inside the caller's transaction. The same key again stores no second run: a re-derived event
    with the same evidence keeps the stored run and its id; an event at least as recent whose contract,
    result or checks differ (a later event of the run, a resolution a reindex changed) replaces the
    stored run by one with a new id, so that readers following run ids see the change. Returns the
    run's id and whether it is new.
    """
    contract_id, version, result = _require(run)
    started = _timestamp(run.get("startedAt"), "startedAt")
    finished = _timestamp(run["finishedAt"], "finishedAt") if run.get("finishedAt") is not None else None
    checks = run.get("checks") or []
    fingerprint = evidence_fingerprint(key)
    row = session.execute(sa.select(m.TestRun).where(m.TestRun.fingerprint == fingerprint)).scalar_one_or_none()
    if row is None:
        return _insert(session, run, actor=actor, fingerprint=fingerprint), True
    if (finished or started) < (row.finished_at or row.started_at).replace(tzinfo=(finished or started).tzinfo):
        return row.id, False  # an older event of the same run says less
    started = min(started, row.started_at.replace(tzinfo=started.tzinfo))
    extra = {k: v for k, v in run.items() if k not in _RUN_KEYS}
    stored = (row.contract_id, row.contract_version, row.result, row.server, row.engine, row.extra or {})
    same = (contract_id, version, result, _text(run.get("server")), _text(run.get("engine")), extra) == stored
    if same and _stored_checks(session, row.id) == _check_rows(checks):
        row.started_at, row.finished_at = started, finished  # a re-derived event: the same evidence
        return row.id, False
    # the evidence changed (a later event of the run, a resolution a reindex changed): the run is stored
    # again under a new id, above every other, so that what reads runs by id (the incidents' cursor, the
    # governance figures' stamp) sees it; the old row goes, the incidents it last updated follow
    old = row.id
    row.fingerprint = f"replaced {old}"
    session.flush()
    new = _insert(session, run, actor=actor, fingerprint=fingerprint, started=started)
    session.execute(sa.delete(m.CheckResult).where(m.CheckResult.test_run_id == old))
    session.delete(row)
    session.execute(sa.update(Incident).where(Incident.last_run_id == old).values(last_run_id=new))
    return new, False


@dataclass(frozen=True)
class TestRunSummary:
    """A stored run, as history listings show it."""

    __test__ = False  # not a pytest test class

    id: int
    contract_id: str
    contract_version: str
    server: str | None
    engine: str | None
    result: str
    started_at: datetime
    finished_at: datetime | None
    check_count: int
    registered_version: bool


def list_test_runs(registry: Registry, contract_id: str, *, limit: int = 50) -> list[TestRunSummary]:
    """The latest runs of a contract, newest first."""
    with registry.read() as session:
        rows = session.execute(
            sa.select(m.TestRun)
            .where(m.TestRun.contract_id == contract_id)
            .order_by(m.TestRun.started_at.desc(), m.TestRun.id.desc())
            .limit(limit)
        ).scalars()
        return [
            TestRunSummary(
                r.id,
                r.contract_id,
                r.contract_version,
                r.server,
                r.engine,
                r.result,
                r.started_at,
                r.finished_at,
                r.check_count,
                r.contract_version_id is not None,
            )
            for r in rows
        ]
