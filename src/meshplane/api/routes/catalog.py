"""Catalog routes: domains, products, output ports and product search (reads only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from meshplane.api.bodies import JsonRoute
from meshplane.api.context import ApiContext, get_context
from meshplane.api.params import (
    DomainId,
    Flag,
    IdFilter,
    OpenModel,
    PageOf,
    PageParams,
    PortName,
    ProductId,
    page_params,
    paged,
)
from meshplane.api.problems import READ_PROBLEMS
from meshplane.api.security import read_access
from meshplane.service import catalog

router = APIRouter(
    prefix="/api/v1",
    tags=["catalog"],
    dependencies=[Depends(read_access)],
    responses=READ_PROBLEMS,
    route_class=JsonRoute,
)

Context = Annotated[ApiContext, Depends(get_context)]
Paging = Annotated[PageParams, Depends(page_params)]


class DomainSummary(OpenModel):
    """A domain in a list."""

    id: str
    name: str | None
    description: str | None
    tags: list[str]
    team: str | None
    products: int
    retired_at: str | None


class DomainDetail(OpenModel):
    """A domain with its team, products and document."""

    id: str
    name: str | None
    team: dict[str, Any] | None
    products: list[dict[str, Any]]
    document: dict[str, Any]


class ProductSummary(OpenModel):
    """A product in lists and search results; `matched` says which criteria it met."""

    id: str
    domain: str
    name: str | None
    status: str
    version: str | None
    tags: list[str]
    purpose: str | None
    matched: list[str]


class ProductDetail(OpenModel):
    """A product: descriptor, team, ports, contracts."""

    id: str
    domain: str
    name: str | None
    status: str
    output_ports: list[dict[str, Any]]
    input_ports: list[dict[str, Any]]
    contracts: list[dict[str, Any]]
    descriptor: dict[str, Any]


class PortSummary(OpenModel):
    """An active output port."""

    product: str
    domain: str
    name: str
    version: str
    contract_id: str | None
    auto_approve: bool


class PortDetail(OpenModel):
    """An output port: versions, consumers, agreement counts."""

    product: str
    domain: str
    name: str
    versions: list[dict[str, Any]]
    auto_approve: bool
    consumers: list[dict[str, Any]]
    agreements: dict[str, int]


@router.get("/domains", response_model=PageOf[DomainSummary], summary="List domains")
def list_domains(
    context: Context,
    paging: Paging,
    include_retired: Annotated[Flag, Query(alias="includeRetired")] = False,
) -> dict[str, Any]:
    """Domains by id, with their team and number of active products."""
    page = catalog.list_domains(
        context.registry, include_retired=include_retired, limit=paging.limit, offset=paging.offset
    )
    return paged(page, paging)


@router.get("/domains/{domain_id}", response_model=DomainDetail, summary="Get a domain")
def get_domain(context: Context, domain_id: DomainId) -> dict[str, Any]:
    """A domain with its team members and products."""
    return catalog.get_domain(context.registry, domain_id)


@router.get("/products", response_model=PageOf[ProductSummary], summary="List products")
def list_products(
    context: Context,
    paging: Paging,
    domain: IdFilter = None,
    tag: IdFilter = None,
    status: IdFilter = None,
) -> dict[str, Any]:
    """Active products by id, optionally of one domain, with one tag or one status."""
    query = catalog.ProductQuery(domain=domain, tag=tag, status=status)
    return paged(catalog.search_products(context.registry, query, limit=paging.limit, offset=paging.offset), paging)


@router.get("/products/{product_id}", response_model=ProductDetail, summary="Get a product")
def get_product(context: Context, product_id: ProductId) -> dict[str, Any]:
    """A product with its descriptor, team, output ports (and auto-approve), input ports (and providers)."""
    return catalog.get_product(context.registry, product_id)


@router.get("/products/{product_id}/ports/{port}", response_model=PortDetail, summary="Get an output port")
def get_port(context: Context, product_id: ProductId, port: PortName) -> dict[str, Any]:
    """An output port: every version, the consumers of its active versions, agreements per state."""
    return catalog.get_port(context.registry, product_id, port)


@router.get("/ports", response_model=PageOf[PortSummary], summary="List output ports")
def list_ports(
    context: Context,
    paging: Paging,
    domain: IdFilter = None,
    product: IdFilter = None,
    contract: IdFilter = None,
) -> dict[str, Any]:
    """Active output ports, optionally of one domain, product or contract."""
    page = catalog.list_ports(
        context.registry, domain=domain, product=product, contract=contract, limit=paging.limit, offset=paging.offset
    )
    return paged(page, paging)


@router.get("/search", response_model=PageOf[ProductSummary], summary="Search products")
def search(
    context: Context,
    paging: Paging,
    *,
    q: Annotated[
        str | None, Query(max_length=500, description="Words that must all occur in id, name or description.")
    ] = None,
    tag: IdFilter = None,
    domain: IdFilter = None,
    owner: Annotated[str | None, Query(max_length=300, description="Part of a team member's username or name.")] = None,
    column: Annotated[
        str | None, Query(max_length=300, description="A column name of the product's contracts (`*` wildcards).")
    ] = None,
    status: IdFilter = None,
    classification: Annotated[
        str | None,
        Query(min_length=1, max_length=100, description="A column classification (`restricted`, `pii`…; any case)."),
    ] = None,
) -> dict[str, Any]:
    """Active products matching every given criterion; text matches on id or name rank first."""
    query = catalog.ProductQuery(
        text=q, tag=tag, domain=domain, owner=owner, column=column, status=status, classification=classification
    )
    return paged(catalog.search_products(context.registry, query, limit=paging.limit, offset=paging.offset), paging)


__all__ = ["router"]
