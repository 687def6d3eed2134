"""Contract routes: contracts, their registered versions, and the classified diff between two versions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import Field

from meshplane.api.bodies import JsonRoute
from meshplane.api.context import ApiContext, get_context
from meshplane.api.params import ContractId, Flag, IdFilter, OpenModel, PageOf, PageParams, Version, page_params, paged
from meshplane.api.problems import READ_PROBLEMS
from meshplane.api.security import read_access
from meshplane.service import catalog

router = APIRouter(
    prefix="/api/v1",
    tags=["contracts"],
    dependencies=[Depends(read_access)],
    responses=READ_PROBLEMS,
    route_class=JsonRoute,
)

Context = Annotated[ApiContext, Depends(get_context)]
Paging = Annotated[PageParams, Depends(page_params)]


class ContractSummary(OpenModel):
    """A contract in a list."""

    id: str
    name: str | None
    domain: str
    product: str | None
    latest_version: str


class ContractDetail(OpenModel):
    """A contract with its versions, publishing ports and consumers."""

    id: str
    domain: str
    latest_version: str
    versions: list[dict[str, Any]]
    output_ports: list[dict[str, Any]]
    consumers: list[dict[str, Any]]


class ContractVersionDetail(OpenModel):
    """One registered version with its document."""

    id: str
    version: str
    status: str
    sha256: str
    document: dict[str, Any]


class ContractDiff(OpenModel):
    """The `meshplane diff --format json` shape."""

    from_: str | None = Field(default=None, alias="from")
    to: str | None = None
    level: str
    required_bump: str
    semver_ok: bool
    changes: list[dict[str, Any]]


@router.get("/contracts", response_model=PageOf[ContractSummary], summary="List contracts")
def list_contracts(
    context: Context,
    paging: Paging,
    domain: IdFilter = None,
    product: IdFilter = None,
    include_retired: Annotated[Flag, Query(alias="includeRetired")] = False,
) -> dict[str, Any]:
    """Contracts by id with their latest version."""
    page = catalog.list_contracts(
        context.registry,
        domain=domain,
        product=product,
        include_retired=include_retired,
        limit=paging.limit,
        offset=paging.offset,
    )
    return paged(page, paging)


@router.get("/contracts/{contract_id}", response_model=ContractDetail, summary="Get a contract")
def get_contract(context: Context, contract_id: ContractId) -> dict[str, Any]:
    """A contract: its versions (oldest first), the output ports publishing it, the input ports reading it."""
    return catalog.get_contract(context.registry, contract_id)


@router.get(
    "/contracts/{contract_id}/versions/{version}", response_model=ContractVersionDetail, summary="Get a version"
)
def get_contract_version(context: Context, contract_id: ContractId, version: Version) -> dict[str, Any]:
    """One registered version of a contract with its document (as applied)."""
    return catalog.get_contract_version(context.registry, contract_id, version)


@router.get("/contracts/{contract_id}/diff", response_model=ContractDiff, summary="Diff two versions")
def diff_versions(
    context: Context,
    contract_id: ContractId,
    old: Annotated[str, Query(alias="from", min_length=1, max_length=64, description="The older version.")],
    new: Annotated[str, Query(alias="to", min_length=1, max_length=64, description="The newer version.")],
) -> dict[str, Any]:
    """The classified changes from one registered version to another (consumer perspective)."""
    return catalog.diff_contract_versions(context.registry, contract_id, old, new)


__all__ = ["router"]
