"""Fixtures of the browser tests: a world copied per test, a real server on 127.0.0.1, Chromium via Playwright."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from web_support import CHROMIUM, World, build_world, copy_world

from meshplane.demo.server import LocalServer
from meshplane.registry import Registry
from meshplane.settings import Settings, get_settings

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _no_ambient_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("MESHPLANE_DATABASE_URL", "MESHPLANE_ANONYMOUS_READ", "MESHPLANE_TOKEN", "MESHPLANE_SERVER_URL"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def world_template(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(tmp_path_factory.mktemp("web-world"))


@pytest.fixture
def world(world_template: World, tmp_path: Path) -> World:
    return copy_world(world_template, tmp_path)


@pytest.fixture
def serve(world: World) -> Iterator[Callable[..., str]]:
    """Start a real server (uvicorn, 127.0.0.1) on the world's registry; returns its base URL."""
    from meshplane.api import create_app

    opened: list[Any] = []

    def start(*, anonymous_read: bool = False) -> str:
        registry = Registry(world.registry_url)
        server = LocalServer(create_app(registry, settings=Settings(anonymous_read=anonymous_read)))
        server.__enter__()
        opened.append((server, registry))
        return str(server.url).rstrip("/")

    yield start
    for server, registry in reversed(opened):
        server.__exit__(None, None, None)
        registry.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Chromium from the system (Debian's `chromium`), driven by Playwright."""
    if not os.path.exists(CHROMIUM):  # the root conftest's rule: skipped outside CI, a failure in CI
        reason = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """Pages in fresh browser contexts (own cookies); `bypass_csp` lets axe-core be injected."""
    contexts: list[Any] = []

    def make(viewport: str = "desktop", *, bypass_csp: bool = False) -> Any:
        from web_support import VIEWPORTS

        context = browser.new_context(viewport=VIEWPORTS[viewport], bypass_csp=bypass_csp)
        context.set_default_timeout(20_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
