"""The API documentation is kept true: every route, ownership rule and problem type is documented."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from fastapi.routing import iter_route_contexts

import meshplane.api as api
from meshplane.api import create_app
from meshplane.api.security import OWNER_EXTENSION
from meshplane.registry import Registry
from meshplane.settings import Settings

REPO = Path(__file__).resolve().parents[2]
API_DOC = (REPO / "docs" / "api.md").read_text(encoding="utf-8")
AUTH_DOC = (REPO / "docs" / "auth.md").read_text(encoding="utf-8")
INTERNAL = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


def routes() -> list[tuple[str, str, dict, str]]:  # type: ignore[type-arg]
    """(method, path, OpenAPI extras, route module name) of every route."""
    app = create_app(Registry("sqlite:///:memory:", auto_upgrade=False), settings=Settings())
    paths = app.openapi()["paths"]  # the operations as documented, FastAPI's and the plain routes' alike
    return [
        (
            method,
            route.path,
            paths.get(route.path, {}).get(method.lower(), {}),
            getattr(route.endpoint, "__module__", "").rsplit(".", 1)[-1],
        )
        for route in iter_route_contexts(app.routes)
        if route.path and route.path not in INTERNAL
        for method in sorted((route.methods or set()) - {"HEAD"})
    ]


def test_every_route_is_documented() -> None:
    """In docs/api.md, or in the page named after the route's module (docs/lineage.md for routes/lineage.py)."""
    missing = []
    for method, path, _, module in routes():
        own_page = REPO / "docs" / f"{module}.md"
        text = API_DOC + (own_page.read_text(encoding="utf-8") if own_page.is_file() else "")
        if f"{method} {path}" not in text:
            missing.append(f"{method} {path}")
    assert not missing, f"undocumented routes (docs/api.md or docs/<module>.md): {missing}"


def test_every_ownership_rule_is_documented() -> None:
    rules = {extra[OWNER_EXTENSION]["rule"] for _, _, extra, _ in routes() if OWNER_EXTENSION in extra}
    missing = [rule for rule in sorted(rules) if f"`{rule}`" not in AUTH_DOC]
    assert not missing, f"docs/auth.md does not explain the ownership rules: {missing}"


def test_every_problem_type_is_documented() -> None:
    source = "\n".join(path.read_text(encoding="utf-8") for path in (REPO / "src" / "meshplane" / "api").rglob("*.py"))
    kinds = set(re.findall(r'kind="([a-z-]+)"', source)) | set(re.findall(r'_Refused\(\d+, .*?, "([a-z-]+)"\)', source))
    kinds -= {"invalid-event"}  # the lineage receiver's, documented in docs/lineage.md
    missing = [kind for kind in sorted(kinds) if f"`{kind}`" not in API_DOC]
    assert not missing, f"docs/api.md does not list the problem types: {missing}"


def test_the_public_names_are_documented() -> None:
    for name in api.__all__:
        assert inspect.getdoc(getattr(api, name)), name


def test_modules_stay_small() -> None:
    mine = [*(REPO / "src/meshplane/api").rglob("*.py"), REPO / "src/meshplane/registry/access.py"]
    mine += [REPO / "src/meshplane" / f"{name}.py" for name in ("access", "errors")]
    mine += [
        REPO / "src/meshplane/service" / f"{name}.py"
        for name in ("catalog", "tokens", "agreements", "publishing", "testruns")
    ]
    big = {p.name: n for p in mine if (n := p.read_text(encoding="utf-8").count("\n")) >= 800}
    assert not big, big
