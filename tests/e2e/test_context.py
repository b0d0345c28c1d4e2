"""The context gauge in the header, and /compress with its summary card."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.e2e.helpers import get_session, ready, send, session_id, wait_idle

pytestmark = pytest.mark.e2e


def test_the_gauge_shows_how_full_the_context_is_and_compress_summarises(page: Any, api: httpx.Client) -> None:
    api.post("/api/settings", json={"context_windows": {"test-model": 8192}}).raise_for_status()
    try:
        ready(page)
        send(page, "First question [[tokens=3]]")
        wait_idle(page)
        gauge = page.locator("#ctx-gauge")
        gauge.wait_for()
        assert re.fullmatch(r"\d+%", gauge.locator(".ctx-gauge-text").inner_text())
        assert int(gauge.get_attribute("aria-valuenow") or 0) > 0
        assert "of 8.2k tokens" in (gauge.get_attribute("title") or "")
        send(page, "Second question [[tokens=3]]")
        wait_idle(page)

        send(page, "/compress")
        card = page.locator(".summary-card")
        card.wait_for()
        assert "3 earlier messages" in card.inner_text()
        stored = get_session(api, session_id(page))
        assert [m["content"] for m in stored["messages"][:2]][0].startswith("First question")
        assert stored["messages"][-1]["summary"]["count"] == 3
        assert len(stored["messages"]) == 5  # the four messages stay, the summary comes after them
    finally:
        api.post("/api/settings", json={"context_windows": {}}).raise_for_status()


def test_settings_set_a_models_window_and_vision(page: Any, api: httpx.Client) -> None:
    try:
        ready(page)
        page.locator("#settings-open").click()
        panel = page.locator(".model-limits")
        panel.locator("input[aria-label=Model]").fill("openai/test-model")
        panel.locator("input[aria-label='Context window in tokens']").fill("16384")
        panel.locator("select[aria-label=Vision]").select_option("1")
        panel.get_by_role("button", name="Set").click()
        panel.locator(".model-limit-row", has_text="openai/test-model").wait_for()
        settings = api.get("/api/settings").json()
        assert settings["context_windows"] == {"openai/test-model": 16384}
        assert settings["vision_models"] == {"openai/test-model": True}
        panel.get_by_role("button", name="Remove the limits of openai/test-model").click()
        panel.locator(".model-limit-row").wait_for(state="detached")
        assert api.get("/api/settings").json()["context_windows"] == {}
    finally:
        api.post("/api/settings", json={"context_windows": {}, "vision_models": {}}).raise_for_status()
