"""What every request handler works with: the registry, the settings and the token authenticator."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import Request

from meshplane.registry import Registry
from meshplane.service.tokens import TokenAuthenticator
from meshplane.settings import Settings


@dataclass
class ApiContext:
    """One per application (`app.state.context`); shared by the requests of a server process."""

    registry: Registry
    settings: Settings
    authenticator: TokenAuthenticator
    owns_registry: bool = False
    """True when `create_app` opened the registry itself (and closes it at shutdown)."""
    lake_base: Path | None = None
    """Where relative lake roots of applied bundles resolve (the `lake_base` setting, else the server's mesh)."""


async def get_context(request: Request) -> ApiContext:
    """The application's context (a FastAPI dependency; async: no worker-thread hop for it)."""
    context: ApiContext = request.app.state.context
    return context


__all__ = ["ApiContext", "get_context"]
