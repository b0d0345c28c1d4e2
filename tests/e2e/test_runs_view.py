"""What the open chat shows of its runs: queued follow-ups that the server starts by itself, tool cards
of providers that reuse call ids, and edits that keep what the screen did not show."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Server
from tests.e2e.helpers import chat, get_session, ready, send, session_id, wait_idle
from tests.llm_server import ScriptedLLM

pytestmark = pytest.mark.e2e


@pytest.fixture
def slow_model_list(llm: ScriptedLLM) -> Any:
    """The provider lists its models slowly, so the server starts a queued run (it resolves the model
    first) well after the chat re-read the session at the end of the previous run."""
    llm.reset()  # the answers come from the messages' directives, not from turns another test left
    llm.models_delay = 0.8
    yield
    llm.models_delay = 0.0


@pytest.mark.usefixtures("slow_model_list")
def test_queued_follow_ups_run_live_in_the_open_chat(page: Any, api: httpx.Client) -> None:
    ready(page)
    send(page, "First, slowly [[tokens=80 delay=0.05 chunk=1]]")  # long enough to queue two, even on a busy machine
    page.wait_for_selector(".msg.live .md.streaming")
    send(page, "Second, queued [[tokens=60 delay=0.05 chunk=1]]")
    send(page, "Third, queued too")
    page.wait_for_function("() => document.querySelectorAll('#queue .queue-chip').length === 2")
    # The first run ends; the server starts the second by itself: the chat follows it live.
    page.wait_for_function(
        "() => [...document.querySelectorAll('.msg-user .user-text')].some(e => e.textContent.startsWith('Second'))"
        " && document.querySelector('.msg.live .md.streaming')",
        timeout=40_000,
    )
    assert page.locator("#live-pill").is_visible()
    assert page.locator("#queue .queue-chip").count() == 1
    # ... and then the third, without a reload.
    try:
        page.wait_for_function(
            "() => [...document.querySelectorAll('.msg-assistant .md')]"
            ".some(e => e.textContent.includes('Echo: Third'))",
            timeout=40_000,
        )
    except Exception:  # say what the server had, so a failure here can be told from a slow machine
        stored = get_session(api, session_id(page))
        rows = [(m["role"], str(m["content"])[:60], m["status"]) for m in stored["messages"]]
        shown = page.locator(".msg").all_inner_texts()
        raise AssertionError(f"the third answer was not shown; stored: {rows}, queue: {stored['queue']}, "
                             f"active: {stored['active_stream_id']}; on screen: {shown}") from None
    wait_idle(page)
    assert page.locator("#queue").is_hidden()
    users = page.locator(".msg-user .user-text").all_inner_texts()
    assert [u.split(",")[0] for u in users] == ["First", "Second", "Third"]
    assert page.locator(".msg-assistant.last-turn .md").inner_text() == "Echo: Third, queued too"
    stored = get_session(api, session_id(page))
    assert [m["role"] for m in stored["messages"]] == ["user", "assistant"] * 3
    assert stored["queue"] == [] and stored["active_stream_id"] is None


def test_an_edit_keeps_messages_the_screen_did_not_show(page: Any, api: httpx.Client) -> None:
    sid = chat(api, "Seen question")
    ready(page, f"/s/{sid}")
    page.locator(".msg-user").first.wait_for()
    # Another tab (here: the API) adds an exchange the open page has not shown.
    chat(api, "Unseen question", sid)
    page.locator(".msg-user").first.hover()
    page.locator(".msg-user [data-action=edit]").first.click()
    page.locator(".edit-area").fill("Edited question")
    page.locator(".edit-form button[type=submit]").click()
    wait_idle(page)
    page.locator(".msg-assistant .md", has_text="Echo: Edited question").wait_for()
    stored = get_session(api, sid)
    assert [m["content"] for m in stored["messages"] if m["role"] == "user"] == ["Edited question"]
    # Nothing was deleted: the unseen exchange is in the other version, one click away.
    assert page.locator(".msg-user .versions-count").inner_text() == "2/2"
    page.get_by_role("button", name="Previous version").click()
    page.locator(".msg-user .user-text", has_text="Unseen question").wait_for()
    stored = get_session(api, sid)
    assert [m["content"] for m in stored["messages"] if m["role"] == "user"] == ["Seen question", "Unseen question"]


def card_states(page: Any) -> list[tuple[str, bool]]:
    return [
        (c["arg"], c["error"])
        for c in page.locator(".tool-card").evaluate_all(
            "cards => cards.map(c => ({arg: c.querySelector('.tool-arg').textContent,"
            " error: c.classList.contains('error')}))"
        )
    ]


def test_tool_cards_keep_their_own_result_when_a_provider_reuses_call_ids(
    page: Any, api: httpx.Client, server: Server
) -> None:
    name = f"notes-{uuid.uuid4().hex[:6]}.txt"
    (server.workspace / name).write_text("alpha")
    ready(page)
    # One run, two model turns, both calls named call_1: the first finds the file, the second does not.
    send(page, f'Read both [[tool=read_file {{"path": "{name}"}}]] [[tool=read_file {{"path": "missing-{name}"}}]]'
               " [[call_id=call_1 delay=0.2]]")
    # While it runs, the second call gets a card of its own (not the first card again).
    page.wait_for_function("() => document.querySelectorAll('.msg.live .tool-card').length === 2", timeout=40_000)
    wait_idle(page)
    # A second run reuses call_1 again, and succeeds.
    send(page, f'Again [[tool=read_file {{"path": "{name}"}}]] [[call_id=call_1]]')
    wait_idle(page)
    expected = [(name, False), (f"missing-{name}", True), (name, False)]
    assert card_states(page) == expected
    sid = session_id(page)
    calls = [c["id"] for m in get_session(api, sid)["messages"] for c in m.get("tool_calls") or []]
    assert calls == ["call_1", "call_1", "call_1"]
    # The stored transcript draws the same cards, each with its own result.
    page.reload()
    page.wait_for_selector("body.ready")
    assert card_states(page) == expected
    first = page.locator(".tool-card").first
    first.locator(".tool-head").click()
    assert "alpha" in first.locator(".tool-body").inner_text()
