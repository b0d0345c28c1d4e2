"""Clarify and steer in the browser (issue 14 item 5): the agent's question is a card with its choices
and a free answer, says "needs input" in the sidebar and the header, and survives a reload; a message
typed while the agent works steers the running answer (Steer button) or, when it comes too late, is
queued for the next turn (Alt+Enter)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.e2e.helpers import get_session, ready, send, session_id, wait_idle
from tests.llm_server import ScriptedLLM, Turn

pytestmark = pytest.mark.e2e


def ask(page: Any, question: str, choices: list[str] | None = None) -> Any:
    args: dict[str, Any] = {"question": question}
    if choices:
        args["choices"] = choices
    send(page, f"Plan it [[tool=clarify {json.dumps(args)}]]")
    card = page.locator(".msg.live .clarify-card")
    card.locator(".clarify-input").wait_for()
    return card


def test_the_question_card_answered_with_a_choice_after_a_reload(page: Any, api: httpx.Client) -> None:
    ready(page)
    card = ask(page, "Which database?", ["PostgreSQL", "SQLite"])
    assert card.locator(".clarify-question").inner_text() == "Which database?"
    assert card.locator(".clarify-choices button").all_inner_texts() == ["PostgreSQL", "SQLite"]
    assert page.locator(".msg.live .tool-card").count() == 0  # the question is the card, not a tool card
    sid = session_id(page)
    row = page.locator(f'.srow-wrap[data-id="{sid}"]')
    row.locator(".srow-badge.needs-input").wait_for()
    assert row.locator(".srow-badge").inner_text() == "needs input"
    page.wait_for_function("() => document.querySelector('#live-label').textContent === 'Needs input'")
    assert get_session(api, sid)["pending_clarify"] is True

    page.reload()  # the server is the truth: the question is asked again
    page.wait_for_selector("body.ready")
    card = page.locator(".msg.live .clarify-card")
    card.locator("button[data-choice=SQLite]").click()
    wait_idle(page)
    assert page.locator(".msg-assistant.last-turn .md").last.inner_text() == "Tool result: SQLite"
    stored = page.locator(".msg-assistant.last-turn .clarify-card.resolved")  # drawn from the transcript
    assert stored.locator(".clarify-question").inner_text() == "Which database?"
    assert stored.locator(".clarify-answer").inner_text() == "SQLite"
    assert row.locator(".srow-badge").count() == 0
    assert get_session(api, sid)["pending_clarify"] is False


def test_the_question_answered_in_free_text(page: Any, api: httpx.Client) -> None:
    ready(page)
    card = ask(page, "What should the service be called?")
    assert card.locator(".clarify-choices").count() == 0
    answer = card.locator(".clarify-input")
    assert card.locator("button[type=submit]").is_disabled()
    answer.fill("threadline-api")
    answer.press("Enter")
    wait_idle(page)
    assert page.locator(".msg-assistant.last-turn .md").last.inner_text() == "Tool result: threadline-api"
    tool = [m for m in get_session(api, session_id(page))["messages"] if m["role"] == "tool"]
    assert [m["content"] for m in tool] == ["threadline-api"]


def test_steering_the_running_answer_from_the_composer(page: Any, api: httpx.Client, llm: ScriptedLLM) -> None:
    steer = "Only the Python files, please."
    ready(page)
    llm.script(Turn(text=["Looking ", "at ", "the ", "files. "], tool_calls=[("list_files", {"path": "."})],
                    delay=0.5),
               Turn(text=["Here ", "are ", "the ", "Python ", "files."], delay=0.4))
    send(page, "List the project")
    page.locator(".msg.live .md").first.wait_for()  # the answer is streaming
    button = page.locator("#steer")
    assert button.is_visible() and button.is_disabled()
    page.locator("#composer-input").fill(steer)
    button.click()
    note = page.locator(".msg.live .steer-note")
    note.wait_for()
    assert steer in note.inner_text()
    taken = page.locator(".msg.live .steer-note:not(.pending)")
    taken.wait_for()  # the run took it, after the tool's result
    assert taken.inner_text().startswith("Steered")
    parts = page.locator(".msg.live .msg-body > *").evaluate_all("els => els.map(e => e.classList[0])")
    assert parts.index("tool-card") < parts.index("steer-note")
    wait_idle(page)
    assert page.locator("#steer").is_hidden()
    bubble = page.locator(".msg-user.steered")
    assert bubble.count() == 1 and "Steered mid-answer" in bubble.inner_text() and steer in bubble.inner_text()
    assert page.locator(".msg-assistant.last-turn .md").last.inner_text() == "Here are the Python files."
    messages = get_session(api, session_id(page))["messages"]
    assert [(m["role"], bool(m.get("steer"))) for m in messages] == [
        ("user", False), ("assistant", False), ("tool", False), ("user", True), ("assistant", False)]
    assert llm.requests[-1]["messages"][-1] == {"role": "user", "content": steer}


def test_steer_text_that_comes_too_late_is_queued(page: Any, api: httpx.Client, llm: ScriptedLLM) -> None:
    late = "And add a summary."
    ready(page)
    llm.script(Turn(text=["The ", "final ", "answer. "], delay=0.5), Turn(text="Summary added."))
    send(page, "Answer at once")
    page.locator(".msg.live .md").first.wait_for()
    box = page.locator("#composer-input")
    box.fill(late)
    box.press("Alt+Enter")  # steer; the model is on its last step, so the text comes back and is queued
    page.wait_for_function("() => document.querySelectorAll('.msg-user').length === 2", timeout=15_000)
    wait_idle(page)
    messages = get_session(api, session_id(page))["messages"]
    assert [(m["role"], m["content"]) for m in messages] == [
        ("user", "Answer at once"), ("assistant", "The final answer. "), ("user", late),
        ("assistant", "Summary added.")]
    assert not any(m.get("steer") for m in messages)
    assert page.locator(".msg-user.steered").count() == 0
