"""Parameters shared by the routes: pagination, identifiers, timestamps, and the page envelope.

Scalars are read exactly as the OpenAPI document declares them, no laxer (pydantic would take
``1.0`` as an integer, ``yes`` as a boolean and ``0.5`` as a Unix time): integers are digits,
booleans ``true``/``false``, days ``YYYY-MM-DD`` and instants RFC 3339 date-times with an offset.
The conformance test (tests/api/test_api_conformance.py) holds the document to it.

Pagination is ``limit``/``offset``: ``limit`` 1-500 (default 50), ``offset`` from 0. A page answers
``{"items": [...], "total": N, "limit": L, "offset": O, "next": O+L or null}``; ``total`` counts
every match, so a client knows how many pages there are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Path, Query
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema
from pydantic.alias_generators import to_camel

from meshplane.service.catalog import Page

MAX_LIMIT = 500
MAX_OFFSET = 1_000_000_000
MAX_DB_INT = 2**31 - 1

T = TypeVar("T")

_INTEGER = re.compile(r"-?[0-9]+")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_INSTANT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
EDGE_DAYS = "^(?!0001-01-01|9999-12-31)"
"""The first and last representable days are refused as instants: an offset would take them out of range."""


NON_BLANK = "[^\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
"""A character that is not white space (Python's `str.isspace`, which the service strips; the same in JSON Schema)."""


def _non_blank(value: str) -> str:
    if not re.search(NON_BLANK, value):
        raise ValueError("must not be blank")
    return value


def _integer(value: Any) -> Any:
    if isinstance(value, str) and not _INTEGER.fullmatch(value):
        raise ValueError("an integer is expected (digits only)")
    return value


def _flag(value: Any) -> Any:
    if isinstance(value, str):
        if value not in ("true", "false"):
            raise ValueError("`true` or `false` is expected")
        return value == "true"
    return value


def _day(value: Any) -> Any:
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _DAY.fullmatch(value):
        raise ValueError("a day YYYY-MM-DD is expected")
    return value


def _instant(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _INSTANT.fullmatch(value):
        raise ValueError("an RFC 3339 date-time with its offset is expected, e.g. 2026-11-20T10:00:00Z")
    if not re.match(EDGE_DAYS, value):
        raise ValueError("the timestamp is out of range")
    return value


DIGITS = BeforeValidator(_integer)
"""Metadata for an integer parameter: digits only. After its `Query`/`Path` (``Annotated[int, Query(ge=1), DIGITS]``):
before it, FastAPI would lose the bounds from the document."""
Flag = Annotated[bool, BeforeValidator(_flag)]
"""A boolean query parameter: ``true`` or ``false`` (bodies take JSON booleans: `pydantic.StrictBool`)."""
Day = Annotated[date, BeforeValidator(_day)]
"""A day, ``YYYY-MM-DD``."""
NonBlank = Annotated[str, AfterValidator(_non_blank), Field(json_schema_extra={"pattern": NON_BLANK})]
"""A text with at least one character that is not white space."""


@dataclass(frozen=True)
class PageParams:
    """``limit`` and ``offset`` of a list request."""

    limit: int
    offset: int


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page (1-500)."), DIGITS] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip."), DIGITS] = 0,
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


Timestamp = Annotated[
    datetime,
    BeforeValidator(_instant),
    AfterValidator(_utc),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": EDGE_DAYS}),
]
"""An RFC 3339 date-time with its offset (``Z`` or ``+02:00``), as UTC; not on the first or last representable day."""

DomainId = Annotated[str, Path(min_length=1, max_length=200, description="A domain id.")]
ProductId = Annotated[str, Path(min_length=1, max_length=200, description="A product id, e.g. retail.sales.")]
ContractId = Annotated[str, Path(min_length=1, max_length=200, description="A contract id.")]
PortName = Annotated[str, Path(min_length=1, max_length=300, description="An output port name.")]
Version = Annotated[str, Path(min_length=1, max_length=64, description="A contract version, e.g. 1.2.0.")]
RowId = Annotated[int, Path(ge=1, le=MAX_DB_INT, description="A numeric id."), DIGITS]
IdFilter = Annotated[str | None, Query(min_length=1, max_length=300)]

__all__ = [
    "DIGITS",
    "MAX_LIMIT",
    "ApiModel",
    "ContractId",
    "Day",
    "DomainId",
    "Flag",
    "IdFilter",
    "NonBlank",
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
