"""The chat, as a new user meets it: send, stream, reload, stop, approve, new chat, search, btw."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import screenshot
from tests.e2e.helpers import chat, edit_and_send, get_session, listed_ids, ready, send, session_id, wait_idle

pytestmark = pytest.mark.e2e


def test_send_streams_and_survives_reload(page: Any, api: httpx.Client) -> None:
    ready(page)
    send(page, "Count for me [[tokens=60 delay=0.03 chunk=1]]")
    # The answer streams in: part of it is on screen while the run is still live.
    page.wait_for_selector(".msg.live .md.streaming")
    assert page.locator("#live-pill").is_visible()
    partial = page.locator(".msg.live .md").inner_text()
    assert partial.startswith("t0") and "t59" not in partial
    wait_idle(page)
    answer = page.locator(".msg-assistant.last-turn .md").inner_text().split()
    assert answer == [f"t{i}" for i in range(60)]

    sid = session_id(page)
    page.reload()
    page.wait_for_selector("body.ready")
    assert "Count for me" in page.locator(".msg-user .user-text").first.inner_text()
    assert page.locator(".msg-assistant .md").last.inner_text().split() == answer
    # The server agrees: one user message, one complete answer.
    stored = get_session(api, sid)
    roles = [m["role"] for m in stored["messages"]]
    assert roles == ["user", "assistant"]
    assert stored["messages"][1]["content"].split() == answer
    assert sid in listed_ids(api)


def test_reload_during_a_run_resumes_without_repeats(page: Any) -> None:
    ready(page)
    send(page, "Long one [[tokens=120 delay=0.03 chunk=1]]")
    page.wait_for_selector(".msg.live .md.streaming")
    page.wait_for_timeout(800)
    page.reload()
    page.wait_for_selector("body.ready")
    wait_idle(page)
    tokens = page.locator(".msg-assistant.last-turn .md").inner_text().split()
    assert tokens == [f"t{i}" for i in range(120)]


def test_stop_mid_stream(page: Any, api: httpx.Client) -> None:
    ready(page)
    send(page, "Talk a lot [[tokens=600 delay=0.02 chunk=1]]")
    page.wait_for_selector(".msg.live .md.streaming")
    page.wait_for_timeout(400)
    page.locator("#stop").click()
    wait_idle(page)
    assert page.locator("#stop").is_hidden()
    text = page.locator(".msg-assistant.last-turn").inner_text()
    assert "Stopped" in text
    sid = session_id(page)
    stored = get_session(api, sid)
    assert stored["active_stream_id"] is None
    last_answer = [m for m in stored["messages"] if m["role"] == "assistant"][0]
    assert last_answer["status"] in {"partial", "cancelled", "interrupted"} or last_answer.get("_partial")
    assert 0 < len(last_answer["content"].split()) < 600
    # The session is free again: the next message runs at once.
    send(page, "And now? [[tokens=3]]")
    wait_idle(page)
    assert page.locator(".msg-assistant.last-turn .md").inner_text().split() == ["t0", "t1", "t2"]


def test_approve_a_command_from_its_card(page: Any, api: httpx.Client) -> None:
    marker = f"approved-{uuid.uuid4().hex[:6]}"
    ready(page)
    send(page, f'Please run it [[tool=run_shell {{"command": "echo {marker}"}}]]')
    card = page.locator(".approval-card")
    card.wait_for()
    assert f"echo {marker}" in card.locator(".approval-cmd").inner_text()
    screenshot(page, "desktop-light-approval")
    card.locator("button[data-choice=once]").click()
    wait_idle(page)
    tool = page.locator(".msg-assistant.last-turn .tool-card").first
    tool.locator(".tool-head").click()
    assert marker in tool.locator(".tool-body").inner_text()
    assert marker in page.locator(".msg-assistant.last-turn .md").last.inner_text()
    stored = get_session(api, session_id(page))
    assert any(m["role"] == "tool" and marker in m["content"] for m in stored["messages"])


def test_new_chat_three_times_leaves_the_sidebar_unchanged(page: Any, api: httpx.Client) -> None:
    chat(api, "Something to list [[tokens=2]]")
    ready(page)
    rows_before = page.locator(".srow").evaluate_all("els => els.map(e => e.dataset.id)")
    listed_before = listed_ids(api)
    assert rows_before, "the sidebar should list the stored session"
    page.locator("#new-chat").click()
    page.keyboard.press("Control+k")
    page.locator("#new-chat").click()
    page.wait_for_timeout(300)
    assert page.evaluate("location.pathname") == "/"
    assert page.locator(".srow").evaluate_all("els => els.map(e => e.dataset.id)") == rows_before
    assert listed_ids(api) == listed_before
    # From a session with messages, New chat makes one draft, and more presses reuse it.
    page.locator(".srow").first.click()
    page.wait_for_url("**/s/*")
    for _ in range(3):
        page.locator("#new-chat").click()
    page.wait_for_function("() => location.pathname === '/'")
    page.wait_for_timeout(300)
    assert listed_ids(api) == listed_before
    assert page.locator(".srow").evaluate_all("els => els.map(e => e.dataset.id)") == rows_before
    assert page.locator(".empty-title").is_visible()


def test_search_finds_a_message(page: Any, api: httpx.Client) -> None:
    word = f"zebra{uuid.uuid4().hex[:6]}"
    sid = chat(api, f"Notes about the {word} migration [[tokens=2]]")
    chat(api, "Rename-proof title [[tokens=1]]")
    ready(page)
    page.locator("#search-input").fill(word)
    result = page.locator(f".search-results a[data-id='{sid}']")
    result.wait_for()
    assert word in result.locator("mark").first.inner_text()
    result.click()
    page.wait_for_url(f"**/s/{sid}")
    assert word in page.locator(".msg-user .user-text").first.inner_text()


def test_btw_side_question(page: Any, api: httpx.Client) -> None:
    ready(page)
    send(page, "Main question [[tokens=3]]")
    wait_idle(page)
    sid = session_id(page)
    send(page, "/btw what is a side question?")
    bubble = page.locator(".msg-btw").last
    bubble.wait_for()
    page.wait_for_function("() => !document.querySelector('.msg-btw.live')")
    assert "what is a side question?" in bubble.locator(".btw-question").inner_text()
    assert bubble.locator(".btw-answer").inner_text().strip()
    page.reload()
    page.wait_for_selector("body.ready")
    assert "what is a side question?" in page.locator(".msg-btw .btw-question").last.inner_text()
    stored = get_session(api, sid)
    assert any(m.get("side") == "btw" for m in stored["messages"])
    assert sid in listed_ids(api)
    rows = api.get("/api/sessions").json()["sessions"]
    assert all(row["session_id"] == sid or not row.get("parent_id") for row in rows)


def test_background_task_result_lands_once(page: Any, api: httpx.Client) -> None:
    ready(page)
    send(page, "Start here [[tokens=2]]")
    wait_idle(page)
    sid = session_id(page)
    send(page, "/background tidy the notes [[tokens=5 delay=0.05]]")
    page.locator("#bg-badge").wait_for()
    card = page.locator(".msg-bg")
    card.wait_for(timeout=15_000)
    assert "tidy the notes" in card.locator(".bg-prompt").inner_text()
    assert card.locator(".md").inner_text().split() == ["t0", "t1", "t2", "t3", "t4"]
    page.reload()
    page.wait_for_selector("body.ready")
    assert page.locator(".msg-bg").count() == 1
    stored = get_session(api, sid)
    assert sum(1 for m in stored["messages"] if m.get("background")) == 1
    assert all(not row.get("parent_id") for row in api.get("/api/sessions").json()["sessions"])


def test_edit_a_message_and_send_again(page: Any, api: httpx.Client) -> None:
    ready(page)
    send(page, "first draft [[tokens=2]]")
    wait_idle(page)
    sid = session_id(page)
    edit_and_send(page.locator(".msg-user").first, "second draft [[tokens=3]]")
    page.wait_for_function("() => document.querySelector('.msg-user .user-text')?.textContent.startsWith('second')")
    wait_idle(page)
    messages = get_session(api, sid)["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert messages[0]["content"] == "second draft [[tokens=3]]"
    assert page.locator(".msg-assistant.last-turn .md").inner_text().split() == ["t0", "t1", "t2"]


def test_pending_approval_survives_a_reload(page: Any) -> None:
    marker = f"after-reload-{uuid.uuid4().hex[:6]}"
    ready(page)
    send(page, f'Run after reload [[tool=run_shell {{"command": "echo {marker}"}}]]')
    page.locator(".approval-card button[data-choice=once]").wait_for()
    page.reload()
    page.wait_for_selector("body.ready")
    card = page.locator(".approval-card")
    card.locator("button[data-choice=session]").click()
    wait_idle(page)
    assert marker in page.locator(".msg-assistant.last-turn .md").last.inner_text()
