"""A new chat's title in the sidebar and header: the first line of the first message while the model
answers, then the title a model writes (the default), live, without a reload."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.helpers import get_session, ready, send, session_id, wait_idle
from tests.llm_server import ScriptedLLM, Turn

pytestmark = pytest.mark.e2e


@pytest.fixture
def model_titles(api: httpx.Client, llm: ScriptedLLM) -> Iterator[None]:
    """Model-written titles as shipped (the test server turns them off for the other tests)."""
    api.post("/api/settings", json={"llm_titles": True}).raise_for_status()
    llm.reset()
    yield
    llm.reset()
    api.post("/api/settings", json={"llm_titles": None}).raise_for_status()


@pytest.mark.usefixtures("model_titles")
def test_first_line_then_the_model_title(page: Any, api: httpx.Client, llm: ScriptedLLM) -> None:
    llm.script(Turn(text=[f"w{i} " for i in range(40)], delay=0.05), Turn(text="Weekend in Porto"))
    ready(page)
    send(page, "Plan a weekend in Porto\nWe like food, walks and old bookshops.")
    row = page.locator(".srow-wrap.active .srow-title")
    page.wait_for_function(
        "() => document.querySelector('.srow-wrap.active .srow-title')?.textContent === 'Plan a weekend in Porto'")
    # While the first run streams, the first line is the title in both places, and a re-read of the
    # row from the list feed (still "Untitled" on the server) does not take it back.
    for _ in range(10):
        assert page.locator(".msg.live").count() == 1
        assert row.inner_text() == "Plan a weekend in Porto"
        assert page.locator("#chat-title").inner_text() == "Plan a weekend in Porto"
        page.wait_for_timeout(100)
    page.wait_for_function("() => document.querySelector('#chat-title').textContent === 'Weekend in Porto'")
    wait_idle(page)
    assert row.inner_text() == "Weekend in Porto"
    assert get_session(api, session_id(page))["title"] == "Weekend in Porto"
    assert len(llm.requests) == 2


def test_the_title_model_is_chosen_in_settings(page: Any, api: httpx.Client) -> None:
    ready(page)
    page.locator("#settings-open").click()
    choice = page.get_by_label("Model for titles")
    assert choice.input_value() == ""
    try:
        choice.select_option("openai/test-model-2")
        page.wait_for_function("""async () => (await (await fetch('/api/settings')).json()).title_model
            === 'openai/test-model-2'""")
        choice.select_option("")
        page.wait_for_function("async () => (await (await fetch('/api/settings')).json()).title_model === null")
    finally:
        api.post("/api/settings", json={"title_model": None})
