"""The journey of issue 17 in real Chromium, and the cockpit's security: sign-in/out, CSRF, anonymous
read on and off, a reader without approve buttons whose forged POST is 403."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from web_support import World, send_reads, sign_in

pytestmark = pytest.mark.browser

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def test_search_request_access_approve_and_the_flag_clears(
    world: World, serve: Callable[..., str], new_page: Callable[..., Any]
) -> None:
    base = serve()
    consumer = new_page()
    sign_in(consumer, base, world.tokens["maintainer:logistics"])
    consumer.fill("input[name=q]", "orders")
    consumer.click("form[role=search] button")
    consumer.click(".product-card h2 >> text=Retail Sales")
    assert consumer.inner_text("h1") == "Retail Sales"
    consumer.select_option("#consumer", "logistics.shipments")
    consumer.select_option("#port", "orders")
    consumer.fill("#purpose", "Ship what was sold")
    consumer.click("#request-access button")
    assert "requested" in consumer.inner_text(".notice")
    assert consumer.inner_text("#agreements .state") == "requested"

    provider = new_page()  # another browser session
    sign_in(provider, base, world.tokens["maintainer:retail"])
    provider.goto(base + "/agreements")
    request = provider.locator("#waiting .request").filter(has_text="Ship what was sold")
    request.locator("button[value=approve]").click()
    assert "active" in provider.inner_text(".notice")

    consumer.reload()
    assert consumer.inner_text("#agreements .state") == "active"
    # the read three days ago stays flagged (a later agreement never covers an earlier read);
    # a read made now is covered: the map of the last day has no flagged edge
    send_reads(world, datetime.now(UTC) + timedelta(seconds=2))  # after the approval (events carry whole seconds)
    consumer.goto(base + "/map?days=7")
    assert consumer.locator("svg.map line.edge.flagged").count() == 1
    consumer.goto(base + "/map?days=1")
    assert consumer.locator("svg.map line.edge").count() == 1
    assert consumer.locator("svg.map line.edge.flagged").count() == 0, consumer.inner_text("#flows")
    assert "active" in consumer.inner_text("#flows")


def test_sign_in_and_out(world: World, serve: Callable[..., str], new_page: Callable[..., Any]) -> None:
    base = serve()
    page = new_page()
    page.goto(base + "/")
    assert page.inner_text("h1") == "Sign in"  # anonymous read is off: the sign-in form, status 401
    page.fill("#token", "mp_not_a_token")
    page.click("form[action='/signin'] button")
    assert "not" in page.inner_text(".error")
    sign_in(page, base, world.tokens["reader"])
    page.goto(base + "/")
    assert "reader" in page.inner_text(".who")
    cookie = next(c for c in page.context.cookies() if c["name"] == "meshplane_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert world.tokens["reader"] not in cookie["value"]
    page.click(".who button")
    page.goto(base + "/governance")
    assert page.inner_text("h1") == "Sign in"


def _session(base: str, token: str | None) -> tuple[httpx.Client, str]:
    """An HTTP client with a cockpit session (signed in with `token`) and its CSRF token."""
    client = httpx.Client(base_url=base, follow_redirects=False)
    csrf = CSRF.search(client.get("/signin").text)
    assert csrf is not None
    if token is not None:
        assert client.post("/signin", data={"csrf": csrf.group(1), "token": token, "next": "/"}).status_code == 303
        found = CSRF.search(client.get("/agreements").text)
        assert found is not None
        csrf = found
    return client, csrf.group(1)


def test_a_form_post_without_its_csrf_token_is_refused(world: World, serve: Callable[..., str]) -> None:
    base = serve()
    with closing(_session(base, world.tokens["maintainer:logistics"])[0]) as client:
        form = {"consumer": "logistics.shipments", "port": "orders", "purpose": "x"}
        for sent in (form, form | {"csrf": "forged"}):
            answer = client.post("/products/retail.sales/request-access", data=sent)
            assert answer.status_code == 403
            assert "CSRF" in answer.text
        assert "x" not in client.get("/products/retail.sales").text.split('id="agreements"')[1].split("</table>")[0]


def test_anonymous_read_off_and_on(world: World, serve: Callable[..., str]) -> None:
    closed, opened = serve(), serve(anonymous_read=True)
    for path in ("/", "/products/retail.sales", "/governance", "/map", "/agreements"):
        assert httpx.get(closed + path).status_code == 401, path
        assert httpx.get(opened + path).status_code == 200, path
    assert httpx.get(closed + "/docs").status_code == 200  # the API's documentation stays public


def test_a_reader_sees_no_approve_button_and_a_forged_post_is_403(
    world: World, serve: Callable[..., str], new_page: Callable[..., Any]
) -> None:
    base = serve()
    with closing(_session(base, world.tokens["maintainer:logistics"])[0]) as client:
        csrf = CSRF.search(client.get("/products/retail.sales").text)
        assert csrf is not None
        data = {"csrf": csrf.group(1), "consumer": "logistics.shipments", "port": "orders", "purpose": "p"}
        assert client.post("/products/retail.sales/request-access", data=data).status_code == 303
    page = new_page()
    sign_in(page, base, world.tokens["reader"])
    page.goto(base + "/agreements")
    assert page.locator("#waiting .request").count() == 1
    assert page.locator("button[value=approve]").count() == 0
    reader, csrf_token = _session(base, world.tokens["reader"])
    with closing(reader):
        answer = reader.post("/agreements/1/decide", data={"csrf": csrf_token, "action": "approve"})
        assert answer.status_code == 403
        assert "reader" in answer.text
    other, other_csrf = _session(base, world.tokens["maintainer:finance"])  # a maintainer of another domain
    with closing(other):
        assert other.post("/agreements/1/decide", data={"csrf": other_csrf, "action": "approve"}).status_code == 403
    page.goto(base + "/agreements")
    assert page.locator("#waiting .request").count() == 1  # still waiting
