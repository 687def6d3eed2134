"""Token routes (admins only): create a token (its secret is in this one answer), list, revoke."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import ConfigDict, Field

from meshplane.access import Role
from meshplane.api.bodies import JsonRoute
from meshplane.api.context import ApiContext, get_context
from meshplane.api.params import ApiModel, Flag, OpenModel
from meshplane.api.problems import READ_PROBLEMS, WRITE_PROBLEMS
from meshplane.api.security import ADMIN_ONLY, Caller, read_access, writes
from meshplane.service import tokens

router = APIRouter(
    prefix="/api/v1",
    tags=["tokens"],
    dependencies=[Depends(read_access)],
    responses=READ_PROBLEMS,
    route_class=JsonRoute,
)

Context = Annotated[ApiContext, Depends(get_context)]


class TokenRequest(ApiModel):
    """A token to create."""

    model_config = ConfigDict(extra="forbid")

    role: Role
    domain: str | None = Field(default=None, max_length=200, description="The domain of a maintainer token.")
    name: str | None = Field(default=None, max_length=300, description="Who or what uses it (e.g. ci-retail).")
    expires: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="When it expires: a duration (30d, 12h, P90D), a date (2027-01-31: 00:00 UTC) or a time with "
        "its offset, at most 366 days ahead. Default: the token_default_expiry_days setting (90 days).",
    )


class TokenOut(OpenModel):
    """A token as listed: never its secret."""

    id: str
    name: str
    role: Role
    domain: str | None
    expires_at: str = Field(description="From this instant on the token is refused (401).")
    active: bool = Field(description="Neither revoked nor expired.")


class CreatedTokenOut(TokenOut):
    """A new token: `token` is the secret, shown in this answer only."""

    token: str


@router.get("/tokens", response_model=list[TokenOut], summary="List tokens", responses={403: WRITE_PROBLEMS[403]})
def list_tokens(
    context: Context,
    caller: Caller,
    include_revoked: Annotated[Flag, Query(alias="includeRevoked")] = False,
) -> list[dict[str, Any]]:
    """Every token, newest first (admins only); revoked and expired ones with `includeRevoked`."""
    return [t.to_dict() for t in tokens.list_tokens(context.registry, caller, include_revoked=include_revoked)]


@router.post("/tokens", status_code=201, response_model=CreatedTokenOut, summary="Create a token", **writes(ADMIN_ONLY))
def create_token(context: Context, caller: Caller, body: TokenRequest) -> dict[str, Any]:
    """Create a token; the answer is the only place its secret ever appears."""
    created = tokens.create_token(
        context.registry,
        caller,
        role=body.role,
        domain=body.domain,
        name=body.name,
        expires=body.expires,
        default_days=context.settings.token_default_expiry_days,
    )
    return created.to_dict()


@router.delete("/tokens/{token_id}", response_model=TokenOut, summary="Revoke a token", **writes(ADMIN_ONLY))
def revoke_token(
    context: Context,
    caller: Caller,
    token_id: Annotated[str, Path(min_length=1, max_length=64, description="The token's public id.")],
) -> dict[str, Any]:
    """Revoke a token by its public id; requests with it are refused from now on."""
    return tokens.revoke_token(context.registry, caller, token_id).to_dict()


__all__ = ["router"]
