"""Incident routes: list and read incidents (readers), acknowledge and resolve them (their domain's maintainers)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import ConfigDict, Field

from meshplane.api.bodies import JsonRoute
from meshplane.api.context import ApiContext, get_context
from meshplane.api.params import ApiModel, IdFilter, OpenModel, PageOf, PageParams, RowId, page_params, paged
from meshplane.api.problems import READ_PROBLEMS
from meshplane.api.security import Caller, Ownership, read_access, writes
from meshplane.service import incidents

router = APIRouter(
    prefix="/api/v1",
    tags=["incidents"],
    dependencies=[Depends(read_access)],
    responses=READ_PROBLEMS,
    route_class=JsonRoute,
)

Context = Annotated[ApiContext, Depends(get_context)]
Paging = Annotated[PageParams, Depends(page_params)]

INCIDENT_DOMAIN = Ownership("incident", "The domain of the incident's output port (its contract's domain).")


class IncidentOut(OpenModel):
    """An incident: its port and check, state, counts, last observed value, who acknowledged or resolved it."""

    id: int
    key: str
    contract: str
    check: str
    kind: str
    domain: str
    product: str | None
    port: str | None
    state: Literal["open", "acknowledged", "resolved"]
    opened_at: str
    last_seen_at: str
    occurrences: int
    reopened: int
    observed: Any = None
    message: str | None
    acknowledged: dict[str, Any] | None
    resolved: dict[str, Any] | None


class IncidentEventOut(OpenModel):
    """One state change of an incident."""

    id: int
    kind: Literal["opened", "acknowledged", "resolved", "reopened"]
    at: str
    actor: str
    to: str
    reason: str | None
    note: str | None


class IncidentDetail(IncidentOut):
    """An incident with its audit trail, oldest change first."""

    events: list[IncidentEventOut]


class Acknowledgement(ApiModel):
    """An optional note on acknowledging."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=4000)


class Resolution(ApiModel):
    """Why an incident is resolved."""

    model_config = ConfigDict(extra="forbid")

    reason: Literal["fixed", "false-positive", "expected", "other"]
    note: str | None = Field(default=None, max_length=4000)


@router.get("/incidents", response_model=PageOf[IncidentOut], summary="List incidents")
def list_incidents(
    context: Context,
    paging: Paging,
    state: Annotated[
        Literal["unresolved", "open", "acknowledged", "resolved"] | None,
        Query(description="unresolved: open or acknowledged."),
    ] = None,
    domain: IdFilter = None,
    contract: IdFilter = None,
) -> dict[str, Any]:
    """Incidents, most recently seen first."""
    page = incidents.list_incidents(
        context.registry, state=state, domain=domain, contract=contract, limit=paging.limit, offset=paging.offset
    )
    return paged(page, paging)


@router.get("/incidents/{incident_id}", response_model=IncidentDetail, summary="Get an incident")
def get_incident(context: Context, incident_id: RowId) -> dict[str, Any]:
    """One incident with its trail."""
    return incidents.get_incident(context.registry, incident_id)


@router.post(
    "/incidents/{incident_id}/acknowledge",
    response_model=IncidentOut,
    summary="Acknowledge an incident",
    **writes(INCIDENT_DOMAIN),
)
def acknowledge(
    context: Context, caller: Caller, incident_id: RowId, body: Acknowledgement | None = None
) -> dict[str, Any]:
    """Say someone is on it (open → acknowledged); 409 when it is not open."""
    return incidents.acknowledge(context.registry, caller, incident_id, note=body.note if body else None)


@router.post(
    "/incidents/{incident_id}/resolve",
    response_model=IncidentOut,
    summary="Resolve an incident",
    **writes(INCIDENT_DOMAIN),
)
def resolve(context: Context, caller: Caller, incident_id: RowId, body: Resolution) -> dict[str, Any]:
    """Close an open or acknowledged incident with a reason (fixed, false-positive, expected, other); 409: resolved."""
    return incidents.resolve(context.registry, caller, incident_id, body.reason, note=body.note)


__all__ = ["INCIDENT_DOMAIN", "router"]
