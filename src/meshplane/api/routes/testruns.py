"""Test run routes: CI publishes `meshplane test --format json` results; history and pass rates per contract."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from meshplane.api.bodies import JsonRoute
from meshplane.api.context import ApiContext, get_context
from meshplane.api.params import IdFilter, OpenModel, PageOf, PageParams, RowId, Timestamp, page_params, paged
from meshplane.api.problems import READ_PROBLEMS
from meshplane.api.security import CONTRACT_DOMAIN, Caller, read_access, writes
from meshplane.service import testruns

router = APIRouter(
    prefix="/api/v1",
    tags=["test runs"],
    dependencies=[Depends(read_access)],
    responses=READ_PROBLEMS,
    route_class=JsonRoute,
)

Context = Annotated[ApiContext, Depends(get_context)]
Paging = Annotated[PageParams, Depends(page_params)]
MAX_DEPTH = 32


def _plain_json(value: Any, depth: int = 0) -> None:
    """Refuse values JSON cannot carry back out (NaN, infinities) and absurd nesting."""
    if depth > MAX_DEPTH:
        raise ValueError(f"values nest deeper than {MAX_DEPTH} levels")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("NaN and infinite numbers are not JSON")
    if isinstance(value, dict):
        for item in value.values():
            _plain_json(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _plain_json(item, depth + 1)


class _Tolerant(BaseModel):
    """Unknown keys are kept (the registry stores them), but must be plain JSON."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _json_only(cls, data: Any) -> Any:
        _plain_json(data)
        return data


class ContractRef(BaseModel):
    """The contract a run tested."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=200)
    version: str = Field(min_length=1, max_length=64)


class CheckIn(_Tolerant):
    """One check result of a run."""

    id: str = Field(min_length=1, max_length=500)
    kind: str | None = Field(default=None, max_length=64)
    object: str | None = Field(default=None, max_length=300)
    property: str | None = Field(default=None, max_length=300)
    status: Literal["passed", "warning", "failed", "error", "skipped"]
    severity: str | None = Field(default=None, max_length=16)
    observed: Any = None
    threshold: str | int | float | None = None
    message: str | None = Field(default=None, max_length=100_000)


class TestRunIn(_Tolerant):
    """One run, as `meshplane test --format json` prints it (ARCHITECTURE.md §3)."""

    __test__ = False  # not a pytest test class

    contract: ContractRef
    server: str | None = Field(default=None, max_length=300)
    engine: str | None = Field(default=None, max_length=64)
    result: Literal["passed", "warning", "failed", "error"]
    started_at: Timestamp = Field(alias="startedAt")
    finished_at: Timestamp | None = Field(default=None, alias="finishedAt")
    checks: list[CheckIn] = Field(default_factory=list, max_length=20_000)


class PublishRequest(BaseModel):
    """Runs to record (all of them are checked before any is stored)."""

    model_config = ConfigDict(extra="forbid")

    runs: list[TestRunIn] = Field(min_length=1, max_length=1000)


class Published(OpenModel):
    """The ids the runs are recorded under, in order; how many were new, how many were stored before."""

    ids: list[int]
    recorded: int
    duplicates: int


class RunSummary(OpenModel):
    """A recorded run."""

    id: int
    contract: dict[str, str]
    domain: str | None
    result: str
    started_at: str
    check_count: int
    source: str
    """``meshplane`` (``meshplane test``, the worker's schedule) or ``openlineage`` (a producer's assertions)."""


class RunDetail(RunSummary):
    """A recorded run with its check results."""

    checks: list[dict[str, Any]]


class PassRate(OpenModel):
    """Runs of one contract and the share that passed ((passed + warning) / runs)."""

    contract: str
    domain: str | None
    runs: int
    pass_rate: float | None
    last_result: str | None


@router.post(
    "/test-runs", status_code=201, response_model=Published, summary="Publish test runs", **writes(CONTRACT_DOMAIN)
)
def publish_runs(context: Context, caller: Caller, body: PublishRequest, response: Response) -> dict[str, Any]:
    """Record contract test runs (`meshplane test --publish URL` sends them).

    201 when at least one run is new; 200 when every run was stored before (a retried request):
    nothing is stored twice.
    """
    runs = [run.model_dump(mode="json", by_alias=True) for run in body.runs]
    outcome = testruns.record_runs(context.registry, caller, runs)
    recorded = sum(1 for _, new in outcome if new)
    if not recorded:
        response.status_code = 200
    return {"ids": [run_id for run_id, _ in outcome], "recorded": recorded, "duplicates": len(outcome) - recorded}


@router.get("/test-runs", response_model=PageOf[RunSummary], summary="List test runs")
def list_runs(
    context: Context,
    paging: Paging,
    *,
    contract: IdFilter = None,
    version: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    domain: IdFilter = None,
    result: Literal["passed", "warning", "failed", "error"] | None = None,
    server: IdFilter = None,
    since: Annotated[Timestamp | None, Query(description="Runs started at or after this instant.")] = None,
    source: Annotated[
        Literal["meshplane", "openlineage"] | None,
        Query(
            description="Only runs of `meshplane test` (and the worker), or only assertions OpenLineage producers "
            "reported (dbt tests)."
        ),
    ] = None,
    checks: Annotated[bool, Query(description="Include each run's check results.")] = False,
) -> dict[str, Any]:
    """Recorded runs, newest first: `meshplane test` runs and the dbt tests (assertions) lineage events reported."""
    page = testruns.list_runs(
        context.registry,
        contract=contract,
        version=version,
        domain=domain,
        result=result,
        server=server,
        since=since,
        source=source,
        checks=checks,
        limit=paging.limit,
        offset=paging.offset,
    )
    return paged(page, paging)


@router.get("/test-runs/pass-rates", response_model=PageOf[PassRate], summary="Pass rate per contract")
def pass_rates(
    context: Context,
    paging: Paging,
    contract: IdFilter = None,
    domain: IdFilter = None,
    since: Annotated[Timestamp | None, Query(description="Count runs started at or after this instant.")] = None,
) -> dict[str, Any]:
    """Per contract: number of runs by result, the pass rate and the latest run."""
    page = testruns.pass_rates(
        context.registry, contract=contract, domain=domain, since=since, limit=paging.limit, offset=paging.offset
    )
    return paged(page, paging)


@router.get("/test-runs/{run_id}", response_model=RunDetail, summary="Get a test run")
def get_run(context: Context, run_id: RowId) -> dict[str, Any]:
    """One run with every check result."""
    return testruns.get_run(context.registry, run_id)


__all__ = ["router"]
