"""The incidents pages in real Chromium: list, detail (blast radius, trail), acknowledge and resolve by
the domain's maintainer; a reader sees no form and a forged POST from a reader is 403."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from web_support import OPERATOR, World, run_document, screenshot_dir, scrolls_sideways, serious_violations, sign_in

from meshplane.registry.incidents import REASONS, STATES
from meshplane.service.incidents import list_incidents, process_test_runs
from meshplane.service.testruns import record_runs
from meshplane.web.pages import incidents as page_module

pytestmark = pytest.mark.browser

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def open_incident(world: World) -> int:
    """A failing run of retail.sales.orders now, processed as the worker's incidents job does."""
    with world.registry() as registry:
        record_runs(registry, OPERATOR, [run_document("failed", datetime.now(UTC))])
        while process_test_runs(registry)[2]:
            pass
        (found,) = list_incidents(registry, state="open").items
        return int(found["id"])


def test_the_pages_lists_match_the_registry() -> None:
    assert ("unresolved", *STATES) == page_module.STATES
    assert page_module.REASONS == REASONS


def test_a_maintainer_acknowledges_and_resolves_an_incident(
    world: World, serve: Callable[..., str], new_page: Callable[..., Any]
) -> None:
    incident = open_incident(world)
    base = serve()
    for viewport in ("desktop", "phone"):
        page = new_page(viewport, bypass_csp=True)
        sign_in(page, base, world.tokens["maintainer:retail"])
        for path, name in (("/incidents", "incidents"), (f"/incidents/{incident}", "incident")):
            page.goto(base + path)
            assert serious_violations(page) == [], (path, viewport)
            assert not scrolls_sideways(page), (path, viewport)
            if (folder := screenshot_dir()) is not None:
                page.screenshot(path=str(folder / f"{name}-{viewport}.png"), full_page=viewport == "desktop")
    page = new_page()
    sign_in(page, base, world.tokens["maintainer:retail"])
    page.goto(base + "/incidents")
    assert page.inner_text("#incidents .state") == "open"
    page.click(f"#incidents a >> text={incident}")
    page.fill("#ack-note", "looking into it")
    page.click("#acknowledge button")
    assert page.inner_text("#state") == "acknowledged"
    page.select_option("#reason", "fixed")
    page.click("#resolve button")
    assert page.inner_text("#state") == "resolved"
    assert "looking into it" in page.inner_text("#trail")


def test_a_reader_sees_no_form_and_a_forged_post_is_403(
    world: World, serve: Callable[..., str], new_page: Callable[..., Any]
) -> None:
    incident = open_incident(world)
    base = serve()
    page = new_page()
    sign_in(page, base, world.tokens["reader"])
    page.goto(f"{base}/incidents/{incident}")
    assert page.locator("#acknowledge, #resolve").count() == 0
    with closing(httpx.Client(base_url=base)) as client:
        csrf = CSRF.search(client.get("/signin").text)
        assert csrf is not None
        client.post("/signin", data={"csrf": csrf.group(1), "token": world.tokens["reader"], "next": "/"})
        answer = client.post(f"/incidents/{incident}/acknowledge", data={"csrf": csrf.group(1)})
        assert answer.status_code == 403  # the session changed at sign-in: its CSRF token too
        fresh = CSRF.search(client.get(f"/incidents/{incident}").text)
        assert fresh is not None
        answer = client.post(f"/incidents/{incident}/acknowledge", data={"csrf": fresh.group(1)})
        assert answer.status_code == 403 and "reader" in answer.text
    page.reload()
    assert page.inner_text("#state") == "open"


def test_ids_beyond_what_the_registry_stores_are_404_pages_not_errors(world: World, serve: Callable[..., str]) -> None:
    base = serve()
    huge = "9" * 25
    with closing(httpx.Client(base_url=base)) as client:
        csrf = CSRF.search(client.get("/signin").text)
        assert csrf is not None
        client.post("/signin", data={"csrf": csrf.group(1), "token": world.tokens["maintainer:retail"], "next": "/"})
        fresh = CSRF.search(client.get("/incidents").text)
        assert fresh is not None
        token = {"csrf": fresh.group(1)}
        for path in (f"/incidents/{huge}", f"/incidents/{huge}/acknowledge", f"/incidents/{huge}/resolve",
                     f"/agreements/{huge}/decide", "/incidents/0/acknowledge"):  # fmt: skip
            answer = client.post(path, data=token | {"action": "approve", "reason": "fixed"}) if path.count("/") > 2 \
                else client.get(path)  # fmt: skip
            assert answer.status_code == 404, (path, answer.status_code)
            assert answer.headers["content-type"].startswith("text/html") and "Traceback" not in answer.text
        assert client.post("/incidents/abc/acknowledge", data=token).status_code == 400


def test_a_form_sent_from_another_site_is_refused_whatever_its_csrf_token(
    world: World, serve: Callable[..., str]
) -> None:
    incident = open_incident(world)
    base = serve()
    with closing(httpx.Client(base_url=base)) as client:
        csrf = CSRF.search(client.get("/signin").text)
        assert csrf is not None
        client.post("/signin", data={"csrf": csrf.group(1), "token": world.tokens["maintainer:retail"], "next": "/"})
        fresh = CSRF.search(client.get(f"/incidents/{incident}").text)
        assert fresh is not None
        form = {"csrf": fresh.group(1), "note": "from elsewhere"}
        for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
                        {"Origin": "https://evil.example"}, {"Origin": "null"}):  # fmt: skip
            answer = client.post(f"/incidents/{incident}/acknowledge", data=form, headers=headers)
            assert answer.status_code == 403 and "another site" in answer.text, headers
        assert 'id="state">open<' in client.get(f"/incidents/{incident}").text
        same = {"Sec-Fetch-Site": "same-origin", "Origin": base}
        assert client.post(f"/incidents/{incident}/acknowledge", data=form, headers=same).status_code == 303
        out = client.post("/signout", data={"csrf": fresh.group(1)}, headers=same)
    cookie = out.headers["set-cookie"].lower()
    assert "meshplane_session=" in cookie and "max-age=0" in cookie and "httponly" in cookie
    assert "samesite=strict" in cookie
