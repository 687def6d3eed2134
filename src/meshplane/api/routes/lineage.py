"""Lineage routes: the OpenLineage receiver, the lineage graph, data movements and governance flags.

The receiver is what the OpenLineage clients call unchanged (``OPENLINEAGE_URL`` = the server,
``OPENLINEAGE_API_KEY`` = a meshplane token, sent as ``Authorization: Bearer``; the default
endpoint ``api/v1/lineage``; gzip bodies are inflated by `api.guard`). Its two routes are plain
Starlette routes (`plain_routes`), placed ahead of the FastAPI routes and inside the whole
middleware stack: one request per event is the norm, and they need neither FastAPI's parameter
parsing nor its dependency solving. Their OpenAPI operations are declared once, here
(`openapi_paths`). The body is read as it was sent and checked by `meshplane.lineage.check_event`
(the OpenLineage JSON Schema is the judge); a malformed event is a 400 problem naming the field.
A body whose ``Content-Type`` is not `MEDIA_TYPE` (what the clients send, what the document declares)
is 415, naming it.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from meshplane.api.bodies import JsonRoute
from meshplane.api.context import ApiContext, get_context
from meshplane.api.params import DIGITS, Day, DomainId, Flag, ProductId
from meshplane.api.problems import PROBLEM_MEDIA_TYPE, READ_PROBLEMS, WRITE_PROBLEMS, problem
from meshplane.api.security import (
    OWNER_EXTENSION,
    Ownership,
    last_use_due,
    read_access,
    require_read,
    resolve_principal,
)
from meshplane.lineage import InvalidEventError
from meshplane.service import lineage, movements

router = APIRouter(
    prefix="/api/v1",
    tags=["lineage"],
    dependencies=[Depends(read_access)],
    responses=READ_PROBLEMS,
    route_class=JsonRoute,
)

Context = Annotated[ApiContext, Depends(get_context)]

RECEIVER = Ownership(
    "any-writer",
    "A maintainer of any domain, a lineage-writer token or an admin. A maintainer's runs are its own domain's "
    "and say nothing of another domain's ports or runs (flagged sender-mismatch instead); the runs of a "
    "lineage-writer or an admin are attributed by their job (mesh.yaml job namespaces, the ownership facet, the "
    "parent run, the ports written).",
)


MEDIA_TYPE = "application/json"
"""The one media type of the receiver's bodies: what the OpenLineage clients send, what `openapi_paths` declares."""


def _unsupported_media(request: Request) -> Response | None:
    """The 415 answer of a body that is not `MEDIA_TYPE` (parameters such as ``charset`` aside), else None."""
    media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media == MEDIA_TYPE:
        return None
    sent = f"'{media[:50]}'" if media else "missing"
    detail = f"the body's Content-Type is {sent}: the receiver accepts {MEDIA_TYPE}"
    return problem(415, detail, kind="unsupported-media-type", instance=request.url.path)


def _invalid(exc: InvalidEventError, path: str, **extensions: Any) -> JSONResponse:
    errors = [{"in": "body", "field": issue.path, "reason": issue.reason} for issue in exc.issues]
    return problem(400, exc.message, kind="invalid-event", instance=path, errors=errors, **extensions)


async def _writer(request: Request) -> tuple[ApiContext, Any, BackgroundTask | None]:
    """The context, the caller (may read and write) and the token's last-use note, as every route has them."""
    context: ApiContext = request.app.state.context
    caller = await resolve_principal(request.headers.get("authorization"), context)
    require_read(caller, context)
    caller.require_lineage_sender()
    token_id = last_use_due(caller, context)
    note = BackgroundTask(context.authenticator.record_use, token_id) if token_id else None
    return context, caller, note


async def receive_event(request: Request) -> Response:
    """Store one event (201; 200 when it was stored before). A malformed event is 400, naming the field."""
    context, caller, note = await _writer(request)
    if (refused := _unsupported_media(request)) is not None:
        return refused
    body = await request.body()
    try:
        result = await lineage.receive_event_async(context.registry, body, caller)
    except InvalidEventError as exc:
        return _invalid(exc, request.url.path)
    stored = result.status is lineage.IngestStatus.STORED
    return Response(
        orjson.dumps(result.to_dict()),
        status_code=201 if stored else 200,
        media_type="application/json",
        background=note,
    )


async def receive_batch(request: Request) -> Response:
    """Store the valid events of an array, one result per item (the OpenLineage batch answer).

    A malformed item fails alone, with its reason; when every item fails (or the body is not an
    array) the answer is 400.
    """
    context, caller, note = await _writer(request)
    if (refused := _unsupported_media(request)) is not None:
        return refused
    body = await request.body()
    try:
        outcome = await lineage.receive_batch_async(context.registry, body, caller)
    except InvalidEventError as exc:
        return _invalid(exc, request.url.path)
    answer = outcome.to_dict()
    failures = outcome.count(lineage.IngestStatus.FAILED)
    if failures and failures == len(outcome.results):
        first = outcome.results[0]
        detail = f"none of the {failures} events is valid; event 0: {first.reason}"
        errors = [
            {"in": "body", "field": f"{r.index}.{issue.path}", "reason": issue.reason}
            for r in outcome.results
            for issue in r.errors
        ]
        extras = {k: answer[k] for k in ("summary", "failed_events", "results")}
        return problem(400, detail, kind="invalid-event", instance=request.url.path, errors=errors, **extras)
    return Response(orjson.dumps(answer), media_type="application/json", background=note)


plain_routes = [
    Route("/api/v1/lineage", receive_event, methods=["POST"], name="receive_event"),
    Route("/api/v1/lineage/batch", receive_batch, methods=["POST"], name="receive_batch"),
]
"""The receiver's routes (`create_app` places them ahead of the FastAPI routes)."""

_EVENT_SCHEMA = {
    "type": "object",
    "description": "An OpenLineage RunEvent, DatasetEvent or JobEvent (spec 1.x/2.x); the OpenLineage JSON Schema "
    "judges the rest (400 `invalid-event` naming the field).",
    "required": ["eventTime", "producer", "schemaURL"],
    "properties": {name: {"type": "string"} for name in ("eventTime", "producer", "schemaURL")},
}
_PROBLEM = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
_ANSWER = {"application/json": {"schema": {"type": "object"}}}


def _operation(operation_id: str, summary: str, description: str, body: dict[str, Any], answers: dict[str, str]) -> Any:
    problems = {**READ_PROBLEMS, **WRITE_PROBLEMS}
    responses: dict[str, Any] = {code: {"description": text, "content": _ANSWER} for code, text in answers.items()}
    responses |= {
        str(code): {"description": doc["description"], "content": _PROBLEM}
        | {k: v for k, v in doc.items() if k == "headers"}
        for code, doc in problems.items()
    }
    responses["415"]["description"] = f"The body is not gzip, deflate or plain, or not {MEDIA_TYPE}."
    return {
        "post": {
            "tags": ["lineage"],
            "summary": summary,
            "description": description,
            "operationId": operation_id,
            "requestBody": {"required": True, "content": {MEDIA_TYPE: {"schema": body}}},
            "responses": dict(sorted(responses.items())),
            OWNER_EXTENSION: RECEIVER.to_dict(),
        }
    }


openapi_paths = {
    "/api/v1/lineage": _operation(
        "receive_event",
        "Receive an OpenLineage event",
        receive_event.__doc__ or "",
        _EVENT_SCHEMA,
        {"200": "Stored before (a duplicate).", "201": "Stored."},
    ),
    "/api/v1/lineage/batch": _operation(
        "receive_batch",
        "Receive a batch of OpenLineage events",
        receive_batch.__doc__ or "",
        {"type": "array", "items": _EVENT_SCHEMA},
        {"200": "One result per item."},
    ),
}
"""The receiver's OpenAPI operations (`create_app` adds them to the document)."""


Since = Annotated[Day | None, Query(description="A day (YYYY-MM-DD), UTC.")]
AsOf = Annotated[
    Day | None,
    Query(
        alias="asOf", description="Judge as of the end of this day (YYYY-MM-DD, UTC): runs, agreements, schemas then."
    ),
]
DirectionParam = Annotated[movements.Direction, Query(description="upstream, downstream or both.")]
Depth = Annotated[int, Query(ge=0, le=50, description="Hops from the product or domain."), DIGITS]


@router.get("/lineage/movements", summary="Data movements between domains")
def list_movements(
    context: Context,
    since: Since = None,
    until: Annotated[Day | None, Query(description="First day not included (YYYY-MM-DD).")] = None,
    by_day: Annotated[Flag, Query(alias="byDay", description="One flow per day.")] = False,
    as_of: AsOf = None,
) -> dict[str, Any]:
    """Flows between products and domains (runs, runs covered, rows, bytes, agreement, flags), the flags of the
    ports they read or write, and the domain x domain matrix; with `asOf`, as they stood at the end of that day."""
    report = movements.movements(context.registry, since=since, until=until, by_day=by_day, as_of=as_of)
    return {
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
        "asOf": as_of.isoformat() if as_of else None,
        **report.to_dict(),
        "matrix": report.matrix(),
    }


@router.get("/lineage/flags", summary="Governance flags of data movements")
def list_flags(context: Context, since: Since = None, as_of: AsOf = None) -> dict[str, Any]:
    """Every governance flag of flows and ports raised by observed lineage, with what to look at (`asOf`: as of
    the end of that day)."""
    findings = movements.governance_flags(context.registry, since=since, as_of=as_of)
    rules = [{"flag": flag.value, "description": text} for flag, text in movements.FLAG_RULES.items()]
    return {
        "since": since.isoformat() if since else None,
        "asOf": as_of.isoformat() if as_of else None,
        "rules": rules,
        "items": [f.to_dict() for f in findings],
    }


@router.get("/lineage/products/{product_id}", summary="Product-level lineage graph")
def product_lineage(
    context: Context, product_id: ProductId, direction: DirectionParam = movements.Direction.BOTH, depth: Depth = 3
) -> dict[str, Any]:
    """Products upstream and downstream of a product, with the observed edges between them."""
    return movements.lineage_graph(context.registry, product_id, direction=direction, depth=depth).to_dict()


@router.get("/lineage/domains/{domain_id}", summary="Domain-level lineage graph")
def domain_lineage(
    context: Context, domain_id: DomainId, direction: DirectionParam = movements.Direction.BOTH, depth: Depth = 3
) -> dict[str, Any]:
    """Domains upstream and downstream of a domain, with the observed movements between them."""
    return movements.domain_graph(context.registry, domain_id, direction=direction, depth=depth).to_dict()


@router.get("/lineage/status", summary="What the receiver has stored")
def lineage_status(context: Context) -> dict[str, Any]:
    """Row counts of the lineage tables and the port index (version, notes)."""
    return lineage.lineage_status(context.registry)


__all__ = ["MEDIA_TYPE", "RECEIVER", "openapi_paths", "plain_routes", "receive_batch", "receive_event", "router"]
