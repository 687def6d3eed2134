"""Migration routes: deprecated output ports and the move of their consumers to the new major."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from meshplane.api.bodies import JsonRoute
from meshplane.api.context import ApiContext, get_context
from meshplane.api.params import IdFilter, OpenModel
from meshplane.api.problems import READ_PROBLEMS
from meshplane.api.security import read_access
from meshplane.service.migrations import list_migrations

router = APIRouter(
    prefix="/api/v1",
    tags=["migrations"],
    dependencies=[Depends(read_access)],
    responses=READ_PROBLEMS,
    route_class=JsonRoute,
)

Context = Annotated[ApiContext, Depends(get_context)]


class PortRef(OpenModel):
    """An output port: product, port name and version."""

    product: str
    port: str
    version: str


class ConsumerOut(OpenModel):
    """A consumer on a port: a product (input port or agreement) or a domain seen reading it in lineage."""

    product: str | None
    domain: str | None
    team: str | None
    how: str
    detail: str


class MigrationOut(OpenModel):
    """One open migration: the deprecated port, its successor, its sunset date and its consumers."""

    contract: str | None
    old: PortRef
    new: PortRef | None
    sunset_date: str | None
    days_to_sunset: int | None
    moved: list[ConsumerOut]
    remaining: list[ConsumerOut]


class MigrationsOut(OpenModel):
    """Every open migration, earliest sunset first."""

    migrations: list[MigrationOut]


@router.get("/migrations", response_model=MigrationsOut, summary="Open migrations between major versions")
def migrations(context: Context, domain: IdFilter = None) -> dict[str, Any]:
    """Deprecated output ports: old → new port, consumers moved and remaining (with teams), days to sunset."""
    return {"migrations": list_migrations(context.registry, domain=domain)}


__all__ = ["router"]
