"""Layout at phone width, themes, and screenshots of the main screens."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Server, open_page, screenshot
from tests.e2e.helpers import chat, ready, send, session_id, wait_idle

pytestmark = pytest.mark.e2e

RICH = (
    "Here is a summary.\n\n```python\ndef greet(name):\n    return f'hello {name}'\n```\n\n"
    "| file | lines |\n|---|---|\n| app.py | 120 |\n| README.md | 40 |\n\n- one\n- two"
)


def _fill_history(api: httpx.Client) -> str:
    sid = chat(api, RICH)
    chat(api, 'List the files [[tool=list_files {"path": "."}]]', sid=sid)
    return sid


def _no_horizontal_overflow(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.evaluate("window.innerWidth")
    assert width <= viewport, f"page is {width}px wide in a {viewport}px viewport"


def test_phone_viewport(phone_page: Any, api: httpx.Client) -> None:
    page = phone_page
    chat(api, "A session to find on the phone [[tokens=3]]")
    ready(page)
    _no_horizontal_overflow(page)
    screenshot(page, "phone-light-empty")
    # The sidebar is a slide-over with a backdrop.
    assert not page.locator("#sidebar").is_visible() or page.locator("#sidebar").bounding_box()["x"] < 0
    page.locator("#sidebar-open").click()
    page.locator("#backdrop").wait_for()
    page.wait_for_timeout(250)
    box = page.locator("#sidebar").bounding_box()
    assert box["x"] >= 0 and box["width"] <= 390
    screenshot(page, "phone-light-sidebar")
    page.locator(".srow").first.click()
    page.wait_for_url("**/s/*")
    page.locator("#backdrop").wait_for(state="hidden")
    send(page, "Hello from a phone [[tokens=20 delay=0.01]]")
    wait_idle(page)
    _no_horizontal_overflow(page)
    assert page.locator(".msg-assistant.last-turn .md").inner_text().startswith("t0")
    screenshot(page, "phone-light-chat")
    # The workspace panel is a slide-over too, and Escape closes it.
    page.locator("#workspace-toggle").click()
    page.locator("#workspace").wait_for()
    assert page.locator("#workspace").bounding_box()["width"] <= 390.5
    page.keyboard.press("Escape")
    page.locator("#workspace").wait_for(state="hidden")


def test_screens_light_and_dark(page: Any, dark_page: Any, api: httpx.Client) -> None:
    sid = _fill_history(api)
    for p, theme in ((page, "light"), (dark_page, "dark")):
        ready(p)
        screenshot(p, f"desktop-{theme}-empty")
        ready(p, f"/s/{sid}")
        p.locator(".code-block").first.wait_for()
        p.locator(".tool-head").last.click()
        p.evaluate("() => { const t = document.querySelector('#transcript'); t.scrollTop = t.scrollHeight; }")
        screenshot(p, f"desktop-{theme}-chat")
        p.locator("#settings-open").click()
        p.locator("dialog[open]").wait_for()
        screenshot(p, f"desktop-{theme}-settings")
        p.keyboard.press("Escape")
    # The theme setting is stored on the server and applied on the next load.
    ready(page)
    page.locator("#settings-open").click()
    page.locator(".seg[data-value='dark']").click()
    page.wait_for_function("() => document.documentElement.dataset.theme === 'dark'")
    assert api.get("/api/settings").json()["theme"] == "dark"
    page.reload()
    page.wait_for_selector("body.ready")
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    api.post("/api/settings", json={"theme": "system"})


def test_slash_help_and_keyboard(page: Any) -> None:
    ready(page)
    box = page.locator("#composer-input")
    box.fill("/")
    page.locator("#slash").wait_for()
    assert page.locator(".slash-item").count() >= 8
    box.fill("/he")
    box.press("Tab")
    page.locator(".help-card").wait_for()
    assert "/btw" in page.locator(".help-card").inner_text()
    send(page, "Keyboard works [[tokens=2]]")
    wait_idle(page)
    assert session_id(page)


def test_phone_dark_screens(browser: Any, server: Server, api: httpx.Client, request: pytest.FixtureRequest) -> None:
    sid = _fill_history(api)
    phone = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
    for page in open_page(browser, server, request, color_scheme="dark", **phone):
        ready(page, f"/s/{sid}")
        page.locator(".code-block").first.wait_for()
        _no_horizontal_overflow(page)
        screenshot(page, "phone-dark-chat")
        page.locator("#sidebar-open").click()
        page.locator("#backdrop").wait_for()
        screenshot(page, "phone-dark-sidebar")
