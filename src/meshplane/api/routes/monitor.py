"""Monitoring routes: the scheduled contract tests the background worker runs (docs/monitoring.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from meshplane.api.bodies import JsonRoute
from meshplane.api.context import ApiContext, get_context
from meshplane.api.params import IdFilter, OpenModel
from meshplane.api.problems import READ_PROBLEMS
from meshplane.api.security import read_access
from meshplane.service import freshness, schedules

router = APIRouter(
    prefix="/api/v1",
    tags=["monitoring"],
    dependencies=[Depends(read_access)],
    responses=READ_PROBLEMS,
    route_class=JsonRoute,
)

Context = Annotated[ApiContext, Depends(get_context)]


class LastRun(OpenModel):
    """The last scheduled run of a contract: when, how long, its result and the stored test run."""

    started_at: str
    finished_at: str | None
    seconds: float | None
    result: str | None
    test_run: int | None
    error: str | None


class ScheduleOut(OpenModel):
    """One scheduled contract: its schedule and where it comes from, its last run and its next run."""

    contract: str
    domain: str
    product: str | None
    port: str | None
    engine: str | None
    schedule: str | None
    origin: str | None
    problem: str | None
    next_run_at: str | None
    running: bool
    claimed_by: str | None
    last_run: LastRun | None


class FreshnessOut(OpenModel):
    """The last freshness cycle: when, how many port SLAs it judged, and those breached or unknown."""

    at: str
    ports: int
    breached: int
    unknown: int
    problems: list[dict[str, Any]]


class MonitorOut(OpenModel):
    """Every scheduled contract test, and the last freshness cycle (None: none ran yet)."""

    schedules: list[ScheduleOut]
    freshness: FreshnessOut | None


@router.get("/monitor", response_model=MonitorOut, summary="Scheduled contract tests")
def monitor_status(context: Context, domain: IdFilter = None) -> dict[str, Any]:
    """Each output port's scheduled contract tests (schedule, last run: duration, result; next run) and the last
    freshness cycle with the port SLAs it found breached or could not judge."""
    return {
        "schedules": schedules.schedule_status(context.registry, domain=domain),
        "freshness": freshness.freshness_summary(context.registry),
    }


__all__ = ["router"]
