"""Errors as RFC 9457 problem details (``application/problem+json``), for every error the API returns.

Every problem has ``type``, ``title``, ``status`` and ``detail``; validation problems add
``errors`` (one ``{"in", "field", "reason"}`` per problem, and ``line``/``column`` for a body that
is not JSON), user errors from the service layer add ``diagnostics`` (file, line, JSON path, code:
the shape of `meshplane lint --format json`). A refused apply also carries its ``plan``.

User input never yields a 500: bad JSON is 400, an invalid request 422, a value the database
refuses 422, a write that lost a race 409. A 500 means a bug; its detail says nothing of the cause
(the log does).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from meshplane.api.operations import OperationIndex
from meshplane.diagnostics import MeshplaneError
from meshplane.errors import AccessDenied, Conflict, NotFound, RegistryUnavailable
from meshplane.service.publishing import BundleRefused

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "urn:meshplane:problem:"
"""Problem types are URNs (identifiers, not links); docs/api.md lists them."""


_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    503: "Registry unavailable",
}


class FieldError(BaseModel):
    """One problem with one field of a request."""

    model_config = ConfigDict(extra="allow")

    in_: str = Field(alias="in", description="body, query, path or header")
    field: str = Field(description="Dotted path of the field (`files.mesh.yaml`, `runs.0.result`, `limit`).")
    reason: str


class Problem(BaseModel):
    """An RFC 9457 problem; extension members depend on the type."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldError] | None = None
    diagnostics: list[dict[str, Any]] | None = None


def _problem_doc(description: str) -> dict[str, Any]:
    return {"description": description, "model": Problem, "content": {PROBLEM_MEDIA_TYPE: {}}}


READ_PROBLEMS: dict[int | str, dict[str, Any]] = {
    400: _problem_doc("Malformed request (not JSON, NUL characters)."),
    401: {
        **_problem_doc("No valid token (and anonymous read is off)."),
        "headers": {"WWW-Authenticate": {"description": "`Bearer`.", "schema": {"type": "string"}}},
    },
    404: _problem_doc("Not found."),
    422: _problem_doc("Invalid parameters or body."),
    429: {
        **_problem_doc("Too many requests from this token or address (the rate limit)."),
        "headers": {"Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}},
    },
    503: _problem_doc("The registry cannot be reached or cannot take the write (read-only, full)."),
}
"""The problems every ``/api/`` route may answer; `security.writes` adds the write ones."""

WRITE_PROBLEMS: dict[int | str, dict[str, Any]] = {
    403: _problem_doc("The token's role or domain does not allow this."),
    409: _problem_doc("The request conflicts with the current state."),
    413: _problem_doc("The request body is too large."),
    415: _problem_doc("The body's Content-Encoding is not gzip or deflate."),
}


def document_problems(document: dict[str, Any]) -> None:
    """Declare error answers as what they are: ``application/problem+json`` with the `Problem` schema, only.

    FastAPI lists a response's model under ``application/json`` (the route's media type); no error
    is ever sent as that.
    """
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if str(status)[:1] in "45" and PROBLEM_MEDIA_TYPE in content:
                    schema = content.pop("application/json", {}).get("schema") or {
                        "$ref": "#/components/schemas/Problem"
                    }
                    content[PROBLEM_MEDIA_TYPE] = {"schema": schema}


def problem(
    status: int,
    detail: str,
    *,
    kind: str | None = None,
    instance: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    """A problem+json response."""
    title = _TITLES.get(status, "Error")
    body: dict[str, Any] = {
        "type": TYPE_BASE + (kind or title.lower().replace(" ", "-")),
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update({k: v for k, v in extensions.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=dict(headers or {}))


def _field(loc: Sequence[Any]) -> tuple[str, str]:
    where = str(loc[0]) if loc else "body"
    rest = [str(part) for part in loc[1:]]
    return where, ".".join(rest) if rest else where


def _line_column(text: str, position: int) -> tuple[int, int]:
    before = text[:position]
    return before.count("\n") + 1, position - (before.rfind("\n") + 1) + 1


async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors: list[dict[str, Any]] = []
    for error in exc.errors():
        loc = list(error.get("loc", ()))
        if error.get("type") == "json_invalid":
            position = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else 0
            text = (await request.body()).decode("utf-8", errors="replace")
            line, column = _line_column(text, position)
            reason = str((error.get("ctx") or {}).get("error") or "invalid JSON")
            return problem(
                400,
                f"the body is not valid JSON: {reason} at line {line}, column {column}",
                kind="invalid-json",
                instance=request.url.path,
                errors=[{"in": "body", "field": "body", "reason": reason, "line": line, "column": column}],
            )
        where, field = _field(loc)
        reason = str(error.get("msg", "invalid"))
        if tuple(loc) == ("body",) and isinstance(error.get("input"), bytes | str):
            reason = "the body must be a JSON object sent with Content-Type: application/json"
        errors.append({"in": where, "field": field, "reason": reason})
    listed = "; ".join(f"{e['field']}: {e['reason']}" for e in errors[:5])
    return problem(
        422, f"the request is not valid: {listed}", kind="validation", instance=request.url.path, errors=errors
    )


def allowed_methods(request: Request) -> list[str] | None:
    """The methods the OpenAPI document gives the request's path (the ``Allow`` header of a 405), or None.

    The document is the list: every method of a documented path is served, and only those. (Starlette
    would name the methods of the first route of the path only; FastAPI has one route per method.)
    """
    return OperationIndex(request.app.openapi()).methods(request.url.path)


def _unreadable_json(exc: StarletteHTTPException) -> tuple[str, str] | None:
    """(reason, detail) of a JSON body FastAPI could not read for a cause it does not name (else None)."""
    cause = exc.__cause__
    if isinstance(cause, RecursionError):
        limit = sys.getrecursionlimit()
        reason = f"nested deeper than the JSON reader allows (about {limit:,} levels, the nesting depth limit)"
    elif isinstance(cause, UnicodeDecodeError):
        reason = f"not UTF-8: {cause.reason} at byte {cause.start}"
    else:
        return None
    return reason, f"the body is not valid JSON: {reason}"


async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    status = exc.status_code
    unreadable = _unreadable_json(exc) if status == 400 else None
    if unreadable is not None:  # FastAPI's "There was an error parsing the body"
        reason, detail = unreadable
        errors = [{"in": "body", "field": "body", "reason": reason}]
        return problem(400, detail, kind="invalid-json", instance=request.url.path, errors=errors)
    detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(status, "error")
    headers = dict(exc.headers or {})
    if status == 404 and detail == "Not Found":
        detail = f"no such resource: {request.url.path}"
    if status == 405 and (methods := allowed_methods(request)):
        headers["Allow"] = ", ".join(methods)
        detail = f"{request.method} is not allowed on {request.url.path}; allowed: {headers['Allow']}"
    return problem(status, detail, instance=request.url.path, headers=headers)


def _user_error(request: Request, exc: MeshplaneError) -> JSONResponse:
    diagnostics = [d.to_dict() for d in exc.diagnostics] or None
    path = request.url.path
    if isinstance(exc, AccessDenied):
        if not exc.authenticated:
            return problem(401, exc.message, kind="unauthorized", instance=path, headers={"WWW-Authenticate": "Bearer"})
        return problem(403, exc.message, kind="forbidden", instance=path)
    if isinstance(exc, NotFound):
        return problem(404, exc.message, kind="not-found", instance=path)
    if isinstance(exc, Conflict):
        return problem(409, exc.message, kind="conflict", instance=path)
    if isinstance(exc, RegistryUnavailable):  # read-only or full: the log names the registry, the caller not
        log.error("%s", exc.message)
        return problem(503, exc.public, kind="registry-unavailable", instance=path)
    if isinstance(exc, BundleRefused):
        outcome = exc.outcome.to_dict()
        return problem(422, exc.message, kind="plan-refused", instance=path, diagnostics=diagnostics, plan=outcome)
    cause = exc.__cause__
    if isinstance(cause, sa.exc.OperationalError | sa.exc.InterfaceError):
        log.error("registry unavailable: %s", type(cause.orig).__name__ if cause.orig else type(cause).__name__)
        return problem(503, "the registry database is unavailable; try again", kind="registry-unavailable")
    return problem(422, exc.message, kind="invalid", instance=path, diagnostics=diagnostics)


async def _meshplane(request: Request, exc: MeshplaneError) -> JSONResponse:
    return _user_error(request, exc)


def _database_reason(exc: sa.exc.DBAPIError) -> str:
    # The driver's own first line (never the statement or its parameters).
    text = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else type(exc).__name__
    return text[:300]


async def _database(request: Request, exc: sa.exc.SQLAlchemyError) -> JSONResponse:
    path = request.url.path
    if isinstance(exc, sa.exc.IntegrityError):
        return problem(
            409, "the write conflicts with a concurrent one; look again and retry", kind="conflict", instance=path
        )
    if isinstance(exc, sa.exc.DataError):
        return problem(422, f"the registry refused a value: {_database_reason(exc)}", kind="invalid", instance=path)
    if isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError):
        log.error("registry unavailable: %s", _database_reason(exc))
        return problem(503, "the registry database is unavailable; try again", kind="registry-unavailable")
    log.exception("database error on %s %s", request.method, path)
    return problem(500, "internal error (logged on the server)", kind="internal")


async def error_response(request: Request, exc: Exception) -> JSONResponse:
    """The problem+json answer of `exc` as the exception handlers give it (for middleware, outside them)."""
    if isinstance(exc, MeshplaneError):
        return _user_error(request, exc)
    if isinstance(exc, sa.exc.SQLAlchemyError):
        return await _database(request, exc)
    return await _unexpected(request, exc)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return problem(500, "internal error (logged on the server)", kind="internal")


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error of `app` with a problem+json response."""
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http)  # type: ignore[arg-type]
    app.add_exception_handler(MeshplaneError, _meshplane)  # type: ignore[arg-type]
    app.add_exception_handler(sa.exc.SQLAlchemyError, _database)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)


__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "READ_PROBLEMS",
    "TYPE_BASE",
    "WRITE_PROBLEMS",
    "FieldError",
    "Problem",
    "allowed_methods",
    "document_problems",
    "error_response",
    "install_problem_handlers",
    "problem",
]
