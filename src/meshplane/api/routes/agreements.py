"""Usage agreement routes: request, approve, reject, revoke, list; output port auto-approve settings."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import ConfigDict, Field, StrictBool

from meshplane.access import AgreementState
from meshplane.api.bodies import JsonRoute
from meshplane.api.context import ApiContext, get_context
from meshplane.api.params import (
    ApiModel,
    Day,
    IdFilter,
    NonBlank,
    OpenModel,
    PageOf,
    PageParams,
    PortName,
    ProductId,
    RowId,
    page_params,
    paged,
)
from meshplane.api.problems import READ_PROBLEMS
from meshplane.api.security import (
    CONSUMER_DOMAIN,
    EITHER_SIDE,
    PRODUCT_DOMAIN,
    PROVIDER_DOMAIN,
    Caller,
    read_access,
    writes,
)
from meshplane.service import agreements, migrations, notifications
from meshplane.service.catalog import Page

router = APIRouter(
    prefix="/api/v1",
    tags=["agreements"],
    dependencies=[Depends(read_access)],
    responses=READ_PROBLEMS,
    route_class=JsonRoute,
)

Context = Annotated[ApiContext, Depends(get_context)]
Paging = Annotated[PageParams, Depends(page_params)]
Text = Field(min_length=1, max_length=10_000)


class AgreementRequest(ApiModel):
    """A consumer product asks to use a provider's output port."""

    model_config = ConfigDict(extra="forbid")

    consumer: str = Field(min_length=1, max_length=200, description="The consumer product id.")
    provider: str = Field(min_length=1, max_length=200, description="The provider product id.")
    port: str = Field(min_length=1, max_length=300, description="The provider's output port name.")
    purpose: NonBlank = Text
    end_date: Day | None = Field(default=None, description="Last day the agreement is active (optional).")


class AgreementMove(ApiModel):
    """A consumer carries its open agreement over to the provider's new port (a new major's), same purpose."""

    model_config = ConfigDict(extra="forbid")

    consumer: str = Field(min_length=1, max_length=200, description="The consumer product id.")
    provider: str = Field(min_length=1, max_length=200, description="The provider product id.")
    from_port: str = Field(min_length=1, max_length=300, description="The port the open agreement covers.")
    to_port: str = Field(min_length=1, max_length=300, description="The provider's new port (the new major's).")


class Decision(ApiModel):
    """Why an agreement was approved (optional)."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=10_000)


class Reason(ApiModel):
    """Why an agreement is rejected or revoked (required)."""

    model_config = ConfigDict(extra="forbid")

    reason: NonBlank = Text


class PortSettings(ApiModel):
    """Settings of an output port."""

    model_config = ConfigDict(extra="forbid")

    auto_approve: StrictBool


class AgreementOut(OpenModel):
    """A usage agreement with its history of transitions."""

    id: int
    state: AgreementState
    consumer: dict[str, str]
    provider: dict[str, str]
    purpose: str
    end_date: str | None
    history: list[dict[str, Any]]


class PortSettingsOut(OpenModel):
    """The settings of an output port."""

    product: str
    port: str
    auto_approve: bool


@router.get("/agreements", response_model=PageOf[AgreementOut], summary="List usage agreements")
def list_agreements(
    context: Context,
    paging: Paging,
    *,
    state: AgreementState | None = None,
    domain: Annotated[str | None, Query(min_length=1, max_length=200, description="Either side's domain.")] = None,
    consumer: IdFilter = None,
    provider: IdFilter = None,
    port: IdFilter = None,
) -> dict[str, Any]:
    """Agreements, newest first; `state` is the state as of now (an active one past its end date is expired)."""
    page = agreements.list_agreements(
        context.registry,
        state=state,
        domain=domain,
        consumer=consumer,
        provider=provider,
        port=port,
        limit=paging.limit,
        offset=paging.offset,
    )
    return paged(agreements_page(page), paging)


def agreements_page(page: agreements.AgreementPage) -> Page:
    """A service page of agreements as the generic page the envelope takes."""
    return Page([a.to_dict() for a in page.items], page.total)


@router.get("/agreements/{agreement_id}", response_model=AgreementOut, summary="Get a usage agreement")
def get_agreement(context: Context, agreement_id: RowId) -> dict[str, Any]:
    """One agreement with every transition (who, when, from, to, why) and the notifications sent about them."""
    found = agreements.get_agreement(context.registry, agreement_id).to_dict()
    return found | {"deliveries": notifications.agreement_deliveries(context.registry, agreement_id)}


@router.post(
    "/agreements",
    status_code=201,
    response_model=AgreementOut,
    summary="Request a usage agreement",
    **writes(CONSUMER_DOMAIN),
)
def request_agreement(context: Context, caller: Caller, body: AgreementRequest) -> dict[str, Any]:
    """Ask for access to an output port; approved at once when the port auto-approves."""
    view = agreements.request_agreement(
        context.registry,
        caller,
        consumer=body.consumer,
        provider=body.provider,
        port=body.port,
        purpose=body.purpose,
        end_date=body.end_date,
    )
    return view.to_dict()


@router.post(
    "/migrations/agreements",
    status_code=201,
    response_model=AgreementOut,
    summary="Carry an agreement over to a new port",
    **writes(CONSUMER_DOMAIN),
)
def migrate_agreement(context: Context, caller: Caller, body: AgreementMove) -> dict[str, Any]:
    """Request the new major's port with the purpose and end date of the open agreement on the old one.

    Approved at once when the provider set the new port to auto-approve; otherwise it waits for the
    provider's decision. The old agreement stays until the old port goes.
    """
    view = migrations.migrate_agreement(
        context.registry,
        caller,
        consumer=body.consumer,
        provider=body.provider,
        old_port=body.from_port,
        new_port=body.to_port,
    )
    return view.to_dict()


@router.post(
    "/agreements/{agreement_id}/approve", response_model=AgreementOut, summary="Approve", **writes(PROVIDER_DOMAIN)
)
def approve(context: Context, caller: Caller, agreement_id: RowId, body: Decision | None = None) -> dict[str, Any]:
    """Approve a requested agreement: it becomes active (until revoked or past its end date)."""
    reason = body.reason if body else None
    return agreements.decide_agreement(context.registry, caller, agreement_id, approve=True, reason=reason).to_dict()


@router.post(
    "/agreements/{agreement_id}/reject", response_model=AgreementOut, summary="Reject", **writes(PROVIDER_DOMAIN)
)
def reject(context: Context, caller: Caller, agreement_id: RowId, body: Reason) -> dict[str, Any]:
    """Reject a requested agreement, saying why."""
    view = agreements.decide_agreement(context.registry, caller, agreement_id, approve=False, reason=body.reason)
    return view.to_dict()


@router.post("/agreements/{agreement_id}/revoke", response_model=AgreementOut, summary="Revoke", **writes(EITHER_SIDE))
def revoke(context: Context, caller: Caller, agreement_id: RowId, body: Reason) -> dict[str, Any]:
    """End an agreement (or withdraw a request), saying why."""
    return agreements.revoke_agreement(context.registry, caller, agreement_id, reason=body.reason).to_dict()


@router.get("/products/{product_id}/ports/{port}/settings", response_model=PortSettingsOut, summary="Port settings")
def get_port_settings(context: Context, product_id: ProductId, port: PortName) -> dict[str, Any]:
    """The settings of an output port (auto-approve)."""
    return agreements.port_setting(context.registry, product_id, port).to_dict()


@router.put(
    "/products/{product_id}/ports/{port}/settings",
    response_model=PortSettingsOut,
    summary="Change port settings",
    **writes(PRODUCT_DOMAIN),
)
def put_port_settings(
    context: Context, caller: Caller, product_id: ProductId, port: PortName, body: PortSettings
) -> dict[str, Any]:
    """Turn auto-approval of usage requests on or off for an output port."""
    view = agreements.set_auto_approve(context.registry, caller, product_id, port, enabled=body.auto_approve)
    return view.to_dict()


__all__ = ["router"]
