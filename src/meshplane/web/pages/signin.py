"""Sign-in (an API token into a server-side session) and sign-out."""

from __future__ import annotations

from starlette.responses import Response

from meshplane.errors import AccessDenied
from meshplane.web.core import Html, View, get, post, redirect, set_cookie


def _local(target: str | None) -> str:
    """`target` when it is a path of this site (no scheme, no host), else ``/``: no open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def signin_form(view: View) -> Html:
    """The sign-in form."""
    return Html("signin.html", {"title": "Sign in", "message": None, "next": _local(view.query("next"))})


def signin(view: View) -> Html | Response:
    """Check the token with the API's authenticator; start a new session holding it; back to `next`."""
    token = view.field("token")
    target = _local(view.field("next"))
    try:
        view.api.authenticator.authenticate(token)
    except AccessDenied as exc:
        return Html("signin.html", {"title": "Sign in", "message": str(exc), "next": target}, 401)
    view.web.sessions.end(view.session.id)
    started = view.web.sessions.start(token)
    response = redirect(target)
    set_cookie(response, view.request, started)
    return response


def signout(view: View) -> Response:
    """End the session; a fresh anonymous one starts at the next page."""
    view.web.sessions.end(view.session.id)
    response = redirect("/")
    set_cookie(response, view.request, None)  # deleted, with the attributes it was set with
    return response


routes = [
    get("/signin", signin_form, public=True),
    post("/signin", signin, public=True),
    post("/signout", signout, public=True),
]
