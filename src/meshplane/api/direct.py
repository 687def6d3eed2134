"""The direct path: high-volume routes served ahead of FastAPI's routing and dependency injection.

The OpenLineage receiver takes one request per event from every job of the lake. For such a
request, matching the route table and solving the dependency graph cost more of the server's
core than checking the token and storing the event (docs/lineage.md has the figures). A route
whose endpoint is marked with `direct` is therefore called straight from the outermost layer of
the application, for its exact method and path, by `DirectRoutes`, which does what FastAPI would
have done for it, with the same code:

* the request guard (`api.guard.guard_request`: size limit, gzip, NUL characters);
* the caller (`security.resolve_principal`) and the checks its declared dependencies stand for
  (`read_access`: `security.require_read`; `write_access`: `Principal.require_writer`), and the
  token's ``last_used`` note after the answer;
* the endpoint function itself, called with ``(request, context, caller)``;
* errors through the application's own exception handlers (`api.problems`).

The route stays declared with FastAPI (the OpenAPI document, the route table, the authorization
matrix read it there). A marked route may depend only on the security dependencies and the
context, and take no parameter of its own: `DirectRoutes` refuses to start otherwise, rather than
skip one. Any other request (another method, a path with a trailing slash, an application behind
a root path, dependencies overridden as tests do) goes through FastAPI as usual.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from meshplane.api.context import ApiContext, get_context
from meshplane.api.guard import Refused, guard_request, replay
from meshplane.api.security import (
    current_principal,
    last_use_due,
    read_access,
    require_read,
    resolve_principal,
    write_access,
)
from meshplane.registry.access import Principal

DirectEndpoint = Callable[[Request, ApiContext, Principal], Awaitable[Response]]
E = TypeVar("E", bound=DirectEndpoint)

_MARK = "__meshplane_direct__"
_ALLOWED = {read_access, write_access, current_principal, get_context}


def direct(endpoint: E) -> E:
    """Mark a route's endpoint for the direct path (declare the route with FastAPI as usual).

    The endpoint takes ``(request, context, caller)`` and returns a `Response`; its route may depend
    only on `read_access`, `write_access`, `current_principal` and `get_context`.
    """
    setattr(endpoint, _MARK, True)
    return endpoint


class _Route:
    def __init__(self, endpoint: DirectEndpoint, *, read: bool, write: bool) -> None:
        self.endpoint, self.read, self.write = endpoint, read, write


def _calls(dependant: Dependant) -> set[Any]:
    found: set[Any] = set()
    for dependency in dependant.dependencies:
        found |= {dependency.call} | _calls(dependency)
    return found


def _parameters(dependant: Dependant) -> list[str]:
    """Path, query, header, cookie and body parameters, which only FastAPI would read."""
    kinds = (dependant.path_params, dependant.query_params, dependant.header_params, dependant.cookie_params)
    found = [param.name for params in kinds for param in params] + [param.name for param in dependant.body_params]
    return found + [name for dependency in dependant.dependencies for name in _parameters(dependency)]


def direct_routes(app: FastAPI) -> dict[tuple[str, str], _Route]:
    """The marked routes of `app` by (method, path); `TypeError` for one whose dependencies the path cannot honour."""
    routes: dict[tuple[str, str], _Route] = {}
    for route in iter_route_contexts(app.routes):
        endpoint = route.endpoint
        if endpoint is None or not getattr(endpoint, _MARK, False) or route.path is None:
            continue
        calls = _calls(route.dependant)
        if extra := calls - _ALLOWED:
            names = sorted(getattr(call, "__name__", repr(call)) for call in extra)
            raise TypeError(f"direct route {route.path} depends on {names}: only the security dependencies may be used")
        if parameters := _parameters(route.dependant):
            raise TypeError(f"direct route {route.path} takes {parameters}: it takes (request, context, caller) only")
        for method in route.methods or ():
            routes[(method, route.path)] = _Route(endpoint, read=read_access in calls, write=write_access in calls)
    return routes


class DirectRoutes:
    """The outermost layer of the application: calls the `direct` routes, hands everything else on."""

    def __init__(self, app: ASGIApp, api: FastAPI) -> None:
        self.app = app
        self.api = api
        self.routes = direct_routes(api)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = None
        if scope["type"] == "http" and not scope.get("root_path") and not self.api.dependency_overrides:
            route = self.routes.get((scope.get("method", ""), scope.get("path", "")))
        if route is None:  # behind a root path, or with dependencies overridden (tests): FastAPI decides
            await self.app(scope, receive, send)
            return
        context: ApiContext = self.api.state.context
        try:
            scope, body = await guard_request(scope, receive, context.settings.max_request_bytes)
        except Refused as refused:
            await refused.response(scope)(scope, receive, send)
            return
        request = Request(scope, replay(body, receive))
        token_id = None
        try:
            caller = await resolve_principal(request.headers.get("authorization"), context)
            if route.read:
                require_read(caller, context)
            if route.write:
                caller.require_writer()
            response = await route.endpoint(request, context, caller)
            token_id = last_use_due(caller, context)  # as FastAPI: noted when the endpoint answered
        except Exception as exc:
            response = await self._handled(request, exc)
        await response(scope, receive, send)
        if token_id:
            await run_in_threadpool(context.authenticator.record_use, token_id)

    async def _handled(self, request: Request, exc: Exception) -> Response:
        """The answer the application's exception handlers give for `exc` (re-raised when none does)."""
        for cls in type(exc).__mro__:
            handler = self.api.exception_handlers.get(cls)
            if handler is not None:
                response = handler(request, exc)
                return await response if isinstance(response, Awaitable) else response
        raise exc


__all__ = ["DirectEndpoint", "DirectRoutes", "direct", "direct_routes"]
