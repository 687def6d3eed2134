"""What every page handler works with: the request's principal and session, forms, rendering, errors.

A page is a plain function ``handler(view) -> Html | Response`` registered with `get` or `post`;
`endpoint` wraps it: it finds (or starts) the browser's session, authenticates the session's token
through the API's authenticator (the same principal the API would see), applies the API's read
rule (`require_read`: anonymous visitors only when `anonymous_read` is on), checks the CSRF field
of every POST before the handler runs, runs the handler in a worker thread, and turns the
project's errors into HTML pages with the API's statuses (404, 401 with the sign-in form, 403,
409, 400) — never JSON, never a traceback. Templates are Jinja2 with autoescape on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jinja2
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from meshplane import __version__
from meshplane.access import Principal
from meshplane.api.context import ApiContext
from meshplane.api.params import MAX_DB_INT
from meshplane.api.redaction import redact
from meshplane.api.security import require_read
from meshplane.diagnostics import MeshplaneError
from meshplane.errors import AccessDenied, Conflict, NotFound, RegistryUnavailable
from meshplane.web.sessions import COOKIE, Session, SessionStore

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
MAX_FORM_BYTES = 64 * 1024
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}


def _age(value: str | datetime | None) -> str:
    """'3 h ago' style age of an ISO instant (empty for None)."""
    if value is None:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    seconds = max(0, int((datetime.now(UTC) - moment).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return "just now"


def _number(value: int | float | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1%}" if value <= 1 else f"{value:,.1f}"
    return f"{value:,}"


def _url(path: str, **params: Any) -> str:
    kept = {k: v for k, v in params.items() if v not in (None, "", False)}
    return f"{path}?{urlencode(kept)}" if kept else path


def make_environment() -> jinja2.Environment:
    """The cockpit's Jinja2 environment: package templates, autoescape on."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.ChainableUndefined,  # a key a stored document lacks renders empty
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["age"] = _age
    env.filters["number"] = _number
    env.globals["url"] = _url
    env.globals["version"] = __version__
    return env


@dataclass
class WebContext:
    """One per application (`app.state.web`): the templates and the browser sessions."""

    api: ApiContext
    env: jinja2.Environment = field(default_factory=make_environment)
    sessions: SessionStore = field(default_factory=SessionStore)

    def compile_templates(self) -> None:
        """Compile every template now (at server start) rather than on the first request of its page."""
        for name in self.env.list_templates(extensions=["html"]):
            self.env.get_template(name)


@dataclass
class Html:
    """A page to render: a template, its values, the status."""

    template: str
    values: dict[str, Any]
    status: int = 200


@dataclass
class View:
    """One request as a page handler sees it."""

    request: Request
    web: WebContext
    session: Session
    principal: Principal
    form: dict[str, str] = field(default_factory=dict)

    @property
    def api(self) -> ApiContext:
        """The API's context (registry, settings, authenticator)."""
        return self.web.api

    def query(self, name: str, *, limit: int = 300) -> str | None:
        """A query parameter, stripped, cut at `limit` characters; None when absent or empty."""
        value = self.request.query_params.get(name)
        return value.strip()[:limit] or None if value is not None else None

    def shown(self, value: Any) -> Any:
        """`value` as this visitor may see it: without personal data for anonymous visitors (the API's rule)."""
        return value if self.principal.authenticated else redact(value)

    def field(self, name: str) -> str:
        """A form field, stripped ('' when absent)."""
        return self.form.get(name, "").strip()

    def path_id(self, name: str, noun: str) -> int:
        """A numeric id of the path (`noun` names it in errors): a number, else a 400; beyond what the
        registry stores, a 404 (as the API, whose ids are at most `MAX_DB_INT`)."""
        raw = self.request.path_params[name]
        try:
            number = int(raw)
        except ValueError as exc:
            raise MeshplaneError(f"an {noun} id is a number") from exc
        if not 0 < number <= MAX_DB_INT:
            raise NotFound(f"no {noun} {raw[:40]}")
        return number


Handler = Callable[[View], "Html | Response"]


def _session_of(web: WebContext, request: Request) -> tuple[Session, bool]:
    found = web.sessions.get(request.cookies.get(COOKIE))
    return (found, False) if found is not None else (web.sessions.start(), True)


async def principal_of(web: WebContext, session: Session) -> Principal:
    """The principal of a session's token (anonymous without one; a token no longer valid signs it out)."""
    if session.token is None:
        return Principal.anonymous()
    authenticator = web.api.authenticator
    try:
        known = authenticator.remembered(session.token)
        return known if known is not None else await run_in_threadpool(authenticator.authenticate, session.token)
    except AccessDenied:
        session.token = None
        return Principal.anonymous()


def set_cookie(response: Response, request: Request, session: Session | None) -> None:
    """The session cookie: HttpOnly, SameSite=Strict, Secure on HTTPS, for the whole site (None: delete it)."""
    response.set_cookie(
        COOKIE,
        session.id if session is not None else "",
        max_age=None if session is not None else 0,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )


def cross_site(request: Request) -> bool:
    """Whether a browser says the request comes from another site (as Go's CrossOriginProtection judges).

    ``Sec-Fetch-Site``, which every current browser sends and no page can forge, decides when present:
    only ``same-origin`` and ``none`` (typed in, bookmarked) are this site. Without it (an older browser),
    an ``Origin`` must name the host the request was sent to. Neither header (a script, curl): not a
    browser's cross-site request; the CSRF token still guards the form.
    """
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site not in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None:
        return False
    return origin == "null" or urlsplit(origin).netloc != request.headers.get("host", "")


def _status_of(exc: MeshplaneError) -> int:
    if isinstance(exc, AccessDenied):
        return 403 if exc.authenticated else 401
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, RegistryUnavailable):
        return 503
    return 400


def render(web: WebContext, request: Request, session: Session, principal: Principal, page: Html) -> Response:
    """An HTML response of a page (with the layout's values: who is signed in, the CSRF token)."""
    values = {
        "principal": principal,
        "csrf": session.csrf,
        "path": request.url.path,
        "anonymous_read": web.api.settings.anonymous_read,
    } | page.values
    body = web.env.get_template(page.template).render(values)
    return HTMLResponse(body, status_code=page.status, headers=SECURITY_HEADERS)


def error_page(exc: MeshplaneError) -> Html:
    """The page of a refused request (the sign-in form when the visitor must sign in)."""
    status = _status_of(exc)
    message = exc.public if isinstance(exc, RegistryUnavailable) else str(exc)
    return Html("error.html", {"status": status, "message": message, "title": f"{status}"}, status)


async def _form(request: Request) -> dict[str, str] | None:
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return None
    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=50, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        return None
    return {k: v[0] for k, v in parsed.items() if "\x00" not in v[0]}


def endpoint(handler: Handler, *, public: bool = False) -> Callable[[Request], Any]:
    """The Starlette endpoint of a page handler (session, principal, read rule, CSRF, errors)."""

    async def run(request: Request) -> Response:
        web: WebContext = request.app.state.web
        session, new = _session_of(web, request)
        principal = await principal_of(web, session)
        form: dict[str, str] = {}
        try:
            if request.method == "POST":
                if cross_site(request):
                    raise AccessDenied("the form was sent from another site: open the page here and send it again")
                parsed = await _form(request)
                if parsed is None:
                    raise MeshplaneError("the form could not be read (at most 64 KiB of UTF-8 text)")
                if not session.csrf_ok(parsed.get("csrf")):
                    raise AccessDenied("the form's CSRF token is missing or stale: reload the page and send it again")
                form = parsed
            if not public:
                require_read(principal, web.api)
            result = await run_in_threadpool(handler, View(request, web, session, principal, form))
        except MeshplaneError as exc:
            result = error_page(exc)
        response = render(web, request, session, principal, result) if isinstance(result, Html) else result
        if new:
            set_cookie(response, request, session)
        return response

    run.__name__ = handler.__name__
    run.__module__ = "meshplane.web"  # the routes of the cockpit are documented in docs/web.md
    return run


def get(path: str, handler: Handler, *, public: bool = False) -> Route:
    """A GET page."""
    return Route(path, endpoint(handler, public=public), methods=["GET"], name=f"web.{handler.__name__}")


def post(path: str, handler: Handler, *, public: bool = False) -> Route:
    """A form target (POST, CSRF-checked); it answers with a redirect (303) or a page."""
    return Route(path, endpoint(handler, public=public), methods=["POST"], name=f"web.{handler.__name__}")


def redirect(location: str) -> Response:
    """See other (after a form post)."""
    return RedirectResponse(location, status_code=303, headers=SECURITY_HEADERS)


__all__ = [
    "SECURITY_HEADERS",
    "Html",
    "View",
    "WebContext",
    "cross_site",
    "endpoint",
    "error_page",
    "get",
    "make_environment",
    "post",
    "principal_of",
    "redirect",
    "render",
    "set_cookie",
]
