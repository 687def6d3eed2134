"""Contract test runs published to a meshplane server: recording them, reading them back, pass rates.

A run is the JSON of `meshplane test --format json` (ARCHITECTURE.md §3). It is recorded by
maintainers of its contract's domain (or admins); a run of a contract the registry does not know is
refused (404 naming the contract id), whoever sends it.
History and pass rates are read back per contract. The history also holds the test results
OpenLineage producers report (dbt's tests: `meshplane.service.assertions`), source ``openlineage``,
beside the runs of ``meshplane test`` (source ``meshplane``). Mesh bundles, the other thing CI
publishes, are `service.publishing`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from meshplane.access import Principal
from meshplane.diagnostics import MeshplaneError
from meshplane.errors import NotFound
from meshplane.registry import Registry, store_test_run
from meshplane.registry import models as m
from meshplane.service.assertions import SOURCE as LINEAGE_SOURCE
from meshplane.service.catalog import Page

SOURCES = ("meshplane", LINEAGE_SOURCE)
"""What `list_runs` filters on: runs meshplane ran (``meshplane test``, CI, the worker's schedule: source
``meshplane`` or ``schedule``), or the assertions an OpenLineage producer reported (source ``openlineage``)."""


def _contract_domains(registry: Registry, contract_ids: Iterable[str]) -> dict[str, str]:
    ids = set(contract_ids)
    with registry.read() as session:
        rows = session.execute(sa.select(m.Contract.id, m.Contract.domain_id).where(m.Contract.id.in_(ids)))
        return {row.id: row.domain_id for row in rows}


def _named(contract_ids: Sequence[str]) -> str:
    named = ", ".join(repr(c if len(c) <= 120 else c[:120] + "…") for c in contract_ids[:5])
    more = f" and {len(contract_ids) - 5} more" if len(contract_ids) > 5 else ""
    return f"contract(s) {named}{more}"


def refuse_unregistered(registry: Registry, contract_ids: Iterable[str], *, hint: str = "") -> None:
    """`NotFound` naming the contract ids the registry does not know (runs of those are never recorded)."""
    ids = set(contract_ids)
    unknown = sorted(ids - set(_contract_domains(registry, ids)))
    if unknown:
        raise NotFound(
            f"{_named(unknown)} are not registered in the registry at {registry.url.display}: "
            f"apply them first, then record their runs{hint}; nothing was recorded"
        )


def record_runs(registry: Registry, actor: Principal, runs: Sequence[Mapping[str, Any]]) -> list[tuple[int, bool]]:
    """Record test runs (each in its own transaction) after checking the caller may publish every one.

    One (id, new) per run: a run stored before (the same document) is not stored again; its id is given.
    """
    actor.require_writer()
    contract_ids = []
    for index, run in enumerate(runs):
        contract = run.get("contract")
        if not isinstance(contract, Mapping) or not isinstance(contract.get("id"), str):
            raise MeshplaneError(f"runs[{index}]: 'contract' must be an object with 'id' and 'version'")
        contract_ids.append(contract["id"])
        if run.get("engine") == LINEAGE_SOURCE:
            raise MeshplaneError(
                f"runs[{index}]: engine '{LINEAGE_SOURCE}' is kept for the test results lineage events report; "
                "name the engine the checks ran on"
            )
    domains = _contract_domains(registry, contract_ids)
    unknown = sorted({c for c in contract_ids if c not in domains})
    if unknown:
        raise NotFound(f"{_named(unknown)} are not registered: apply them first, then record their runs")
    actor.require_maintainer({domains[c] for c in contract_ids if c in domains}, "publish test runs of these contracts")
    return [store_test_run(registry, run, actor=actor.actor) for run in runs]


def _source(row: m.TestRun) -> str:
    """``openlineage`` (a producer's assertions), ``schedule`` (the worker's monitoring), else ``meshplane``."""
    if row.engine == LINEAGE_SOURCE:
        return LINEAGE_SOURCE
    said = (row.extra or {}).get("source")
    return said if isinstance(said, str) and said else "meshplane"


def _run_summary(row: m.TestRun, domain: str | None) -> dict[str, Any]:
    return {
        "id": row.id,
        "contract": {"id": row.contract_id, "version": row.contract_version},
        "domain": domain,
        "server": row.server,
        "engine": row.engine,
        "result": row.result,
        "startedAt": row.started_at.isoformat(),
        "finishedAt": row.finished_at.isoformat() if row.finished_at else None,
        "recordedAt": row.recorded_at.isoformat(),
        "recordedBy": row.recorded_by,
        "checkCount": row.check_count,
        "registeredVersion": row.contract_version_id is not None,
        "source": _source(row),
    }


def list_runs(
    registry: Registry,
    *,
    contract: str | None = None,
    version: str | None = None,
    domain: str | None = None,
    result: str | None = None,
    server: str | None = None,
    since: datetime | None = None,
    source: str | None = None,
    checks: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> Page:
    """Recorded runs, newest first; from one `source` (`SOURCES`) only when given; with their checks if `checks`."""
    query = sa.select(m.TestRun, m.Contract.domain_id).outerjoin(m.Contract, m.Contract.id == m.TestRun.contract_id)
    if contract:
        query = query.where(m.TestRun.contract_id == contract)
    if version:
        query = query.where(m.TestRun.contract_version == version)
    if domain:
        query = query.where(m.Contract.domain_id == domain)
    if result:
        query = query.where(m.TestRun.result == result)
    if server:
        query = query.where(m.TestRun.server == server)
    if since is not None:
        query = query.where(m.TestRun.started_at >= since)
    if source == LINEAGE_SOURCE:
        query = query.where(m.TestRun.engine == LINEAGE_SOURCE)
    elif source is not None:
        query = query.where(sa.or_(m.TestRun.engine.is_(None), m.TestRun.engine != LINEAGE_SOURCE))
    with registry.read() as session:
        total = int(session.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one())
        rows = session.execute(
            query.order_by(m.TestRun.started_at.desc(), m.TestRun.id.desc()).limit(limit).offset(offset)
        ).all()
        items = [_run_summary(run, dom) for run, dom in rows]
        if checks:
            found = _checks_of(session, [item["id"] for item in items])
            for item in items:
                item["checks"] = found.get(item["id"], [])
        return Page(items, total)


def _check_dict(c: m.CheckResult) -> dict[str, Any]:
    return {
        "id": c.check_id,
        "kind": c.kind,
        "object": c.object,
        "property": c.property,
        "status": c.status,
        "severity": c.severity,
        "observed": c.observed,
        "threshold": c.threshold,
        "message": c.message,
    } | (c.extra or {})


def _checks_of(session: Any, run_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    if not run_ids:
        return out
    query = sa.select(m.CheckResult).where(m.CheckResult.test_run_id.in_(run_ids))
    for check in session.execute(query.order_by(m.CheckResult.test_run_id, m.CheckResult.position)).scalars():
        out.setdefault(check.test_run_id, []).append(_check_dict(check))
    return out


def get_run(registry: Registry, run_id: int) -> dict[str, Any]:
    """One run with every check result (the shape it was published in, plus provenance)."""
    with registry.read() as session:
        row = session.get(m.TestRun, run_id)
        if row is None:
            raise NotFound(f"no test run {run_id}")
        domain = session.execute(
            sa.select(m.Contract.domain_id).where(m.Contract.id == row.contract_id)
        ).scalar_one_or_none()
        checks = session.execute(
            sa.select(m.CheckResult).where(m.CheckResult.test_run_id == run_id).order_by(m.CheckResult.position)
        ).scalars()
        out = _run_summary(row, domain)
        out["extra"] = row.extra or {}
        out["checks"] = [_check_dict(c) for c in checks]
        return out


PASSING = ("passed", "warning")


def pass_rates(
    registry: Registry,
    *,
    contract: str | None = None,
    domain: str | None = None,
    since: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page:
    """Per contract: runs, their results, the pass rate ((passed + warning) / runs) and the latest run."""
    run = m.TestRun
    filters = []
    if contract:
        filters.append(run.contract_id == contract)
    if since is not None:
        filters.append(run.started_at >= since)
    if domain:
        filters.append(run.contract_id.in_(sa.select(m.Contract.id).where(m.Contract.domain_id == domain)))

    def counted(result: str) -> Any:
        return sa.func.sum(sa.case((run.result == result, 1), else_=0)).label(result)

    grouped = (
        sa.select(
            run.contract_id,
            sa.func.count().label("runs"),
            *(counted(r) for r in ("passed", "warning", "failed", "error")),
        )
        .where(*filters)
        .group_by(run.contract_id)
    )
    with registry.read() as session:
        total = int(session.execute(sa.select(sa.func.count()).select_from(grouped.subquery())).scalar_one())
        rows = session.execute(grouped.order_by(run.contract_id).limit(limit).offset(offset)).all()
        ids = [r.contract_id for r in rows]
        ranked = (
            sa.select(
                run.contract_id,
                run.result,
                run.started_at,
                run.contract_version,
                sa.func.row_number()
                .over(partition_by=run.contract_id, order_by=(run.started_at.desc(), run.id.desc()))
                .label("rank"),
            )
            .where(run.contract_id.in_(ids), *filters)
            .subquery()
        )
        latest = {r.contract_id: r for r in session.execute(sa.select(ranked).where(ranked.c.rank == 1))}
        domains = dict(
            session.execute(sa.select(m.Contract.id, m.Contract.domain_id).where(m.Contract.id.in_(ids))).all()
        )
        items = []
        for r in rows:
            passing = int(r.passed or 0) + int(r.warning or 0)
            last = latest.get(r.contract_id)
            items.append(
                {
                    "contract": r.contract_id,
                    "domain": domains.get(r.contract_id),
                    "runs": int(r.runs),
                    "passed": int(r.passed or 0),
                    "warning": int(r.warning or 0),
                    "failed": int(r.failed or 0),
                    "error": int(r.error or 0),
                    "passRate": round(passing / r.runs, 4) if r.runs else None,
                    "lastResult": last.result if last else None,
                    "lastVersion": last.contract_version if last else None,
                    "lastRunAt": last.started_at.isoformat() if last else None,
                }
            )
        return Page(items, total)


__all__ = ["PASSING", "SOURCES", "get_run", "list_runs", "pass_rates", "record_runs", "refuse_unregistered"]
