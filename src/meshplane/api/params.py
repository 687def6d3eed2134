"""Parameters shared by the routes: pagination, identifiers, timestamps, and the page envelope.

Pagination is ``limit``/``offset``: ``limit`` 1-500 (default 50), ``offset`` from 0. A page answers
``{"items": [...], "total": N, "limit": L, "offset": O, "next": O+L or null}``; ``total`` counts
every match, so a client knows how many pages there are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Path, Query
from pydantic import AfterValidator, BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from meshplane.service.catalog import Page

MAX_LIMIT = 500
MAX_OFFSET = 1_000_000_000
MAX_DB_INT = 2**31 - 1

T = TypeVar("T")


@dataclass(frozen=True)
class PageParams:
    """``limit`` and ``offset`` of a list request."""

    limit: int
    offset: int


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page (1-500).")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip.")] = 0,
) -> PageParams:
    """The pagination parameters of a list route (a FastAPI dependency)."""
    return PageParams(limit, offset)


class PageOf(BaseModel, Generic[T]):
    """One page of a list."""

    items: list[T]
    total: int
    limit: int
    offset: int
    next: int | None


def paged(page: Page, params: PageParams) -> dict[str, Any]:
    """The page envelope of a service `Page`."""
    following = params.offset + params.limit
    return {
        "items": page.items,
        "total": page.total,
        "limit": params.limit,
        "offset": params.offset,
        "next": following if following < page.total else None,
    }


class ApiModel(BaseModel):
    """Base of request and response bodies: camelCase in JSON, snake_case in Python."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True)


class OpenModel(ApiModel):
    """A response body whose documented fields are the main ones; others may follow."""

    model_config = ConfigDict(extra="allow")


def _utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)
    except OverflowError:
        raise ValueError("the timestamp is out of range") from None


Timestamp = Annotated[datetime, AfterValidator(_utc)]
"""An ISO 8601 timestamp; naive ones are UTC."""

DomainId = Annotated[str, Path(min_length=1, max_length=200, description="A domain id.")]
ProductId = Annotated[str, Path(min_length=1, max_length=200, description="A product id, e.g. retail.sales.")]
ContractId = Annotated[str, Path(min_length=1, max_length=200, description="A contract id.")]
PortName = Annotated[str, Path(min_length=1, max_length=300, description="An output port name.")]
Version = Annotated[str, Path(min_length=1, max_length=64, description="A contract version, e.g. 1.2.0.")]
RowId = Annotated[int, Path(ge=1, le=MAX_DB_INT, description="A numeric id.")]
IdFilter = Annotated[str | None, Query(min_length=1, max_length=300)]

__all__ = [
    "MAX_LIMIT",
    "ApiModel",
    "ContractId",
    "DomainId",
    "IdFilter",
    "OpenModel",
    "PageOf",
    "PageParams",
    "PortName",
    "ProductId",
    "RowId",
    "Timestamp",
    "Version",
    "page_params",
    "paged",
]
