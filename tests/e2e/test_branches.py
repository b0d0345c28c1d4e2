"""Versions in the browser: edit and resend, regenerate, the "< 2/3 >" switcher, undo and Restore, and a
search hit in another version."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import screenshot
from tests.e2e.helpers import chat, edit_and_send, get_session, ready, send, session_id, wait_idle

pytestmark = pytest.mark.e2e


def user_texts(page: Any) -> list[str]:
    return [t.strip() for t in page.locator(".msg-user .user-text").all_inner_texts()]


def answers(page: Any) -> list[str]:
    return [t.strip() for t in page.locator(".msg-assistant .md").all_inner_texts()]


def path_of(api: httpx.Client, sid: str) -> list[str]:
    return [m["content"] for m in get_session(api, sid)["messages"]]


def test_edit_and_switch_between_versions(page: Any, api: httpx.Client) -> None:
    ready(page)
    send(page, "First question")
    wait_idle(page)
    send(page, "Second question")
    wait_idle(page)
    sid = session_id(page)
    edit_and_send(page.locator(".msg-user").first, "First question, edited")
    page.locator(".msg-assistant .md", has_text="Echo: First question, edited").wait_for()
    wait_idle(page)
    # The edit is a new version: the old question and what followed it are one click away.
    assert user_texts(page) == ["First question, edited"]
    switcher = page.locator(".msg-user").first.locator(".versions")
    assert switcher.locator(".versions-count").inner_text() == "2/2"
    assert switcher.get_by_role("button", name="Next version").is_disabled()
    assert path_of(api, sid) == ["First question, edited", "Echo: First question, edited"]
    screenshot(page, "branches-edited")

    switcher.get_by_role("button", name="Previous version").click()
    page.locator(".msg-user .user-text", has_text="Second question").wait_for()
    assert user_texts(page) == ["First question", "Second question"]
    assert answers(page) == ["Echo: First question", "Echo: Second question"]
    assert page.locator(".msg-user").first.locator(".versions-count").inner_text() == "1/2"
    assert path_of(api, sid)[-1] == "Echo: Second question"
    # The model now continues the old version.
    send(page, "Third question")
    wait_idle(page)
    assert path_of(api, sid) == ["First question", "Echo: First question", "Second question",
                                 "Echo: Second question", "Third question", "Echo: Third question"]
    page.reload()
    page.wait_for_selector("body.ready")
    assert page.locator(".msg-user").first.locator(".versions-count").inner_text() == "1/2"


def test_regenerate_keeps_the_first_answer(page: Any, api: httpx.Client) -> None:
    ready(page)
    send(page, "Tell me something [[tokens=2 stamp]]")
    wait_idle(page)
    sid = session_id(page)
    first_answer = answers(page)[-1]
    turn = page.locator(".msg-assistant.last-turn")
    turn.get_by_role("button", name="Regenerate").click()
    page.wait_for_function(
        "(old) => { const t = document.querySelector('.msg-assistant.last-turn .versions-count');"
        " return t && t.textContent === '2/2' && !document.querySelector('.msg.live'); }", arg=first_answer,
    )
    wait_idle(page)
    screenshot(page, "branches-regenerated")
    second_answer = answers(page)[-1]
    assert second_answer != first_answer and len(answers(page)) == 1
    assert user_texts(page) == ["Tell me something [[tokens=2 stamp]]"]
    stored = get_session(api, sid)["messages"]
    assert stored[1]["sibling_count"] == 2 and stored[0].get("sibling_count") is None
    page.locator(".msg-assistant.last-turn").get_by_role("button", name="Previous version").click()
    page.wait_for_function(
        "() => document.querySelector('.msg-assistant.last-turn .versions-count')?.textContent === '1/2'")
    assert answers(page) == [first_answer]


def test_undo_then_restore(page: Any, api: httpx.Client) -> None:
    sid = chat(api, "Keep me")
    chat(api, "Undo me", sid)
    ready(page, f"/s/{sid}")
    page.locator(".msg-user .user-text", has_text="Undo me").wait_for()
    send(page, "/undo")
    bar = page.locator(".kept-after")
    bar.wait_for()
    screenshot(page, "branches-undone")
    assert user_texts(page) == ["Keep me"]
    assert path_of(api, sid) == ["Keep me", "Echo: Keep me"]
    bar.get_by_role("button", name="Restore").click()
    page.locator(".msg-user .user-text", has_text="Undo me").wait_for()
    assert page.locator(".kept-after").count() == 0
    assert path_of(api, sid)[-1] == "Echo: Undo me"


def test_a_search_hit_in_another_version_shows_that_version(page: Any, api: httpx.Client) -> None:
    word = f"okapi{uuid.uuid4().hex[:6]}"
    sid = chat(api, f"Tell me about the {word}")
    first = get_session(api, sid)["messages"][0]["id"]
    api.post("/api/chat/start", json={"session_id": sid, "message": "Tell me about zebras",
                                      "edit_of": first}).raise_for_status()
    deadline = time.monotonic() + 15
    while get_session(api, sid).get("active_stream_id") and time.monotonic() < deadline:
        time.sleep(0.1)
    chat(api, "And their stripes?", sid)
    api.post("/api/session/rename", json={"session_id": sid, "title": "Animals"}).raise_for_status()
    ready(page)
    page.locator("#search-input").fill(word)
    hit = page.locator("#search-results a.result", has_text="In another version")
    hit.wait_for()
    hit.click()
    page.locator(".msg-user .user-text", has_text=word).wait_for()
    page.locator(".toast", has_text="matched").wait_for()
    assert user_texts(page) == [f"Tell me about the {word}"]
    assert path_of(api, sid)[0] == f"Tell me about the {word}"
