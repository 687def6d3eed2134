"""System routes: liveness (no authentication, no database) and who the caller is."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from meshplane import __version__
from meshplane.access import Principal
from meshplane.api.bodies import JsonRoute
from meshplane.api.params import OpenModel
from meshplane.api.problems import READ_PROBLEMS
from meshplane.api.security import read_access

router = APIRouter(tags=["system"], route_class=JsonRoute)


class Health(OpenModel):
    """The server answers."""

    status: str
    version: str


class Caller(OpenModel):
    """Who the request's token belongs to."""

    name: str
    role: str | None
    domain: str | None
    token_id: str | None


@router.get("/health", response_model=Health, summary="Liveness", responses={400: READ_PROBLEMS[400]})
async def health() -> dict[str, Any]:
    """200 while the process serves requests (touches neither the registry nor the token); 400 for a NUL in the URL."""
    return {"status": "ok", "version": __version__}


@router.get("/api/v1/whoami", response_model=Caller, summary="Who am I", responses=READ_PROBLEMS)
def whoami(principal: Annotated[Principal, Depends(read_access)]) -> dict[str, Any]:
    """The caller as the server sees it: token name, role and domain."""
    return {
        "name": principal.name,
        "role": principal.role.value if principal.role else None,
        "domain": principal.domain,
        "tokenId": principal.token_id,
    }


__all__ = ["router"]
