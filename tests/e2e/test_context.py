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
