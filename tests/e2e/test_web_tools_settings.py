"""The web tools in Settings (issue 14 item 7): choose Brave with a key that the page never shows
again, see web_search offered, allow private addresses, remove the key. State is checked through the
JSON API."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import screenshot
from tests.e2e.helpers import ready

pytestmark = pytest.mark.e2e

SECRET = "brave-browser-0123456789abcdef"
DEFAULTS = {"search_backend": "none", "brave_api_key": "", "brave_url": None, "allow_private": False,
            "private_hosts": []}


def wait_for(check: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@pytest.fixture
def cleanup(api: httpx.Client) -> Iterator[None]:
    yield
    api.post("/api/web-tools", json=DEFAULTS)


def test_choose_a_backend_with_a_masked_key_and_allow_private(page: Any, api: httpx.Client, cleanup: None) -> None:
    ready(page)
    page.locator("#settings-open").click()
    page.locator("#tab-web").click()
    panel = page.locator("#panel-web")
    panel.get_by_text("web_search is not offered: no search backend is configured.").wait_for()
    panel.get_by_label("Search backend").select_option("brave")
    panel.get_by_label("Brave API key").fill(SECRET)
    panel.get_by_label("Brave API URL").fill("http://127.0.0.1:9/brave")
    panel.locator("button", has_text="Save").click()
    panel.locator('.web-tools-settings[data-saved="1"]').wait_for()
    panel.get_by_text("web_search is offered to the agent.").wait_for()
    config = api.get("/api/web-tools").json()
    assert config["search_backend"] == "brave" and config["brave_url"] == "http://127.0.0.1:9/brave"
    assert config["has_brave_key"] and SECRET not in page.content()
    assert panel.get_by_label("Brave API key").input_value() == ""  # the stored key is never sent back

    panel.locator("button", has_text="Test search").click()
    panel.locator(".field-error", has_text="could not be reached").wait_for()

    panel.get_by_label("Allow private addresses").check()
    panel.locator('.web-tools-settings[data-saved="2"]').wait_for()  # drawn again: now the hosts can be typed
    panel.get_by_label("Private hosts").fill("wiki.internal\nlocalhost:8080")
    panel.locator("button", has_text="Save").click()
    wait_for(lambda: api.get("/api/web-tools").json()["private_hosts"] == ["wiki.internal", "localhost:8080"])
    assert api.get("/api/web-tools").json()["allow_private"] is True
    screenshot(page, "web-tools-settings")

    panel.locator("button", has_text="Remove key").click()
    panel.get_by_text("web_search is not offered: the Brave backend needs brave_api_key.").wait_for()
    assert api.get("/api/web-tools").json()["has_brave_key"] is False
