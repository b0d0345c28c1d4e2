"""Controls that must do what they say: menus open where they were asked for, Esc stops a reply,
/model takes only real models, Markdown tables keep their alignment, the first page names the folder."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Server
from tests.e2e.helpers import chat, get_session, ready, send, session_id, wait_idle

pytestmark = pytest.mark.e2e


def box(page: Any, selector: str) -> dict[str, float]:
    found = page.locator(selector).last.bounding_box()
    assert found, f"{selector} is not on screen"
    return dict(found)


def test_move_to_project_opens_at_the_row(page: Any, api: httpx.Client) -> None:
    name = f"Proj {uuid.uuid4().hex[:4]}"
    project = api.post("/api/projects/create", json={"name": name}).json()["project"]
    sid = chat(api, f"Row to move {uuid.uuid4().hex[:6]}")
    ready(page)
    row = page.locator(f".srow-wrap[data-id='{sid}']")
    row.hover()
    row.locator("[data-action=menu]").click()
    page.locator(".menu .menu-item", has_text="Move to project").click()
    menu = page.locator(".menu", has_text="Move to project")
    menu.wait_for()
    at, row_box, sidebar = box(page, ".menu"), row.bounding_box(), box(page, "#sidebar")
    assert row_box
    # Beside the row it was opened from: not at the header's menu button in the top right corner.
    assert abs(at["y"] - (row_box["y"] + row_box["height"])) < 60 or abs(at["y"] + at["height"] - row_box["y"]) < 60
    assert at["x"] < sidebar["x"] + sidebar["width"]
    menu.locator(".menu-item", has_text=name).click()
    page.locator(f".srow-wrap[data-id='{sid}'] .srow-proj[title='{name}']").wait_for()
    assert get_session(api, sid)["project_id"] == project["project_id"]

    # From the context menu it opens at the pointer.
    row.click(button="right", position={"x": 40, "y": 10})
    page.locator(".menu .menu-item", has_text="Move to project").click()
    at = box(page, ".menu")
    assert at["x"] < sidebar["x"] + sidebar["width"]
    page.keyboard.press("Escape")


def start_long_reply(page: Any) -> None:
    send(page, "Talk for a while [[tokens=500 delay=0.03 chunk=1]]")
    page.wait_for_selector(".msg.live .md.streaming")


def stopped_answer(api: httpx.Client, sid: str) -> dict[str, Any]:
    stored = get_session(api, sid)
    assert stored["active_stream_id"] is None
    answer = [m for m in stored["messages"] if m["role"] == "assistant" and m.get("status") != "cancelled"][-1]
    assert answer["status"] == "partial" and 0 < len(answer["content"].split()) < 500
    return stored


def test_esc_stops_a_reply_wherever_the_focus_is(page: Any, api: httpx.Client) -> None:
    ready(page)
    # A half-written follow-up in the composer does not keep Esc from stopping the reply.
    start_long_reply(page)
    page.locator("#composer-input").fill("a follow-up I am still writing")
    page.locator("#composer-input").press("Escape")
    wait_idle(page)
    sid = session_id(page)
    stopped_answer(api, sid)
    assert page.locator("#composer-input").input_value() == "a follow-up I am still writing"

    # Nor does the focus being elsewhere (here: the transcript).
    page.locator("#composer-input").fill("")
    start_long_reply(page)
    page.locator("#transcript").click(position={"x": 10, "y": 10})
    page.keyboard.press("Escape")
    wait_idle(page)
    assert len([m for m in stopped_answer(api, sid)["messages"] if m.get("status") == "partial"]) == 2

    # With a menu open, Esc closes the menu and the reply goes on.
    start_long_reply(page)
    page.locator("#chat-menu").click()
    page.locator(".menu").wait_for()
    page.keyboard.press("Escape")
    page.wait_for_function("() => !document.querySelector('.menu')")
    page.wait_for_timeout(400)
    assert get_session(api, sid)["active_stream_id"], "closing a menu stopped the reply"
    assert page.locator("#live-pill").is_visible()
    page.keyboard.press("Escape")
    wait_idle(page)


def test_esc_during_an_ime_composition_does_not_stop(page: Any, api: httpx.Client) -> None:
    ready(page)
    start_long_reply(page)
    page.locator("#composer-input").focus()
    # Esc that cancels an input method's composition reaches the page with isComposing set.
    page.evaluate(
        "() => document.querySelector('#composer-input').dispatchEvent(new KeyboardEvent('keydown',"
        " {key: 'Escape', isComposing: true, bubbles: true, cancelable: true}))"
    )
    page.wait_for_timeout(400)
    assert get_session(api, session_id(page))["active_stream_id"]
    page.keyboard.press("Escape")
    wait_idle(page)


def test_model_command_takes_only_models_the_providers_offer(page: Any, api: httpx.Client) -> None:
    ready(page)
    send(page, "Hello")
    wait_idle(page)
    sid = session_id(page)
    before = get_session(api, sid)["model"]
    send(page, "/model no-such-model-xyz")
    toast = page.locator(".toast-error", has_text="Unknown model")
    toast.wait_for()
    assert "no-such-model-xyz" in toast.inner_text()
    assert get_session(api, sid)["model"] == before
    # A name one provider offers is taken, in the server's provider/model form.
    send(page, "/model test-model-2")
    page.locator(".toast", has_text="Model: openai/test-model-2").wait_for()
    assert get_session(api, sid)["model"] == "openai/test-model-2"
    assert page.locator("#model-label").inner_text() == "test-model-2"


def test_markdown_tables_keep_their_column_alignment(page: Any) -> None:
    ready(page)
    send(page, "Here:\n\n| left | middle | right |\n|:-----|:------:|------:|\n| a | b | c |")
    wait_idle(page)
    table = page.locator(".msg-assistant.last-turn table")
    aligns = table.evaluate(
        "t => [...t.querySelectorAll('th, td')].map(c => getComputedStyle(c).textAlign)"
    )
    assert aligns == ["left", "center", "right"] * 2
    # Through classes, not inline styles or attributes the CSP and sanitizer would drop.
    assert table.evaluate("t => t.querySelectorAll('[style], [align]').length") == 0


def test_first_page_names_the_workspace_folder_with_the_path_on_hover(page: Any, server: Server) -> None:
    ready(page)
    sub = page.locator(".empty-sub")
    assert sub.inner_text().strip() == server.workspace.name
    assert sub.get_attribute("title") == str(server.workspace)
    assert str(server.workspace.parent) not in page.locator("#messages").inner_text()
