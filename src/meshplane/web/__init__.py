"""The web cockpit: server-rendered pages over the service layer, served by `meshplane serve`.

`mount_web(app, context)` adds, to the API's application: the pages of `meshplane.web.pages`
(discovered, one module per page; ``/docs`` is the API reference rendered on the server), the
package's static files under ``/static`` (the cockpit's CSS and script, and the vendored Swagger UI)
and ``/docs/explorer`` with Swagger UI served from the package (no CDN; the one page heavier than
500 KB). Pages are readable without JavaScript; see docs/web.md.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from meshplane.api.context import ApiContext
from meshplane.web.core import WebContext
from meshplane.web.pages import discover_pages

STATIC = Path(__file__).parent / "static"
SWAGGER = "/static/vendor/swagger-ui"


async def swagger_ui(request: Request) -> HTMLResponse:
    """``/docs/explorer``: Swagger UI with its script and style from the package (works without internet)."""
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="meshplane API · interactive explorer",
        swagger_js_url=f"{SWAGGER}/swagger-ui-bundle.js",
        swagger_css_url=f"{SWAGGER}/swagger-ui.css",
        swagger_favicon_url="/static/favicon.svg",
    )


def mount_web(app: FastAPI, context: ApiContext) -> WebContext:
    """Serve the cockpit on `app` (the API's application): pages, static files, offline ``/docs/explorer``."""
    web = WebContext(context)
    app.state.web = web
    app.router.routes.append(Route("/docs/explorer", swagger_ui, methods=["GET"], include_in_schema=False))
    app.router.routes.append(Mount("/static", StaticFiles(directory=STATIC), name="static"))
    app.router.routes += discover_pages()
    return web


__all__ = ["mount_web"]
