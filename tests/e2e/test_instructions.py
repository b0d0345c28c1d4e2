"""Instructions in the browser (issue 14 item 2): a persona made in Settings, chosen for a chat with
the chat's own instructions, and the effective prompt shown from the header: the exact system text
the next run sends, with the persona's parameters. State is checked through the JSON API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import screenshot
from tests.e2e.helpers import get_session, ready, send, session_id, wait_idle

pytestmark = pytest.mark.e2e


@pytest.fixture
def cleanup(api: httpx.Client) -> Iterator[None]:
    yield
    for persona in api.get("/api/personalities").json()["personalities"]:
        api.post("/api/personalities/delete", json={"name": persona["name"]})
    api.post("/api/settings", json={"system_prompt": None})


def test_session_instructions_persona_and_the_effective_prompt(page: Any, api: httpx.Client, cleanup: None) -> None:
    ready(page)
    page.locator("#settings-open").click()
    page.locator("#tab-instructions").click()
    panel = page.locator("#panel-instructions")
    panel.locator("#system-prompt").fill("Always answer in French.")
    panel.locator("#system-prompt-save").click()
    panel.locator("[role=status]", has_text="Saved.").wait_for()
    panel.locator("#persona-add").click()
    form = panel.locator(".persona-form")
    form.get_by_label("Persona name").fill("Reviewer")
    form.get_by_label("Persona prompt").fill("You review code tersely.")
    form.get_by_label("Temperature").fill("0.4")
    form.get_by_label("Max tokens").fill("500")
    form.get_by_label("All tools").uncheck()  # every tool stays ticked: untick all but one
    for box in form.locator(".persona-tools input").all():
        box.set_checked(box.get_attribute("value") == "read_file")
    form.locator("button", has_text="Save persona").click()
    panel.locator('.persona-row[data-persona="Reviewer"]').wait_for()
    screenshot(page, "settings-instructions")
    page.keyboard.press("Escape")
    saved = api.get("/api/personalities").json()["personalities"]
    assert [(p["name"], p["temperature"], p["max_tokens"], p["tools"]) for p in saved] == [
        ("Reviewer", 0.4, 500, ["read_file"])]

    send(page, "Hello there")
    wait_idle(page)
    sid = session_id(page)
    page.locator("#chat-menu").click()
    page.get_by_role("menuitem", name="Instructions & persona…").click()
    dialog = page.locator("dialog.modal", has_text="Chat instructions")
    dialog.get_by_label("Persona").select_option("Reviewer")
    dialog.locator("#session-instructions").fill("Cite the file names you read.")
    dialog.locator("button", has_text="Save").click()
    dialog.wait_for(state="detached")
    page.locator("#persona-chip", has_text="Reviewer").wait_for()
    stored = get_session(api, sid)
    assert stored["instructions"] == "Cite the file names you read." and stored["persona"] == "Reviewer"

    page.locator("#prompt-open").click()
    shown = page.locator("dialog.modal-prompt")
    shown.locator("#prompt-system").wait_for(state="attached")
    system = shown.locator("#prompt-system").text_content()
    expected = api.get("/api/session/prompt", params={"session_id": sid}).json()["system"]
    assert system == expected
    order = [system.index(text) for text in ("Always answer in French.", "You review code tersely.",
                                             "Cite the file names you read.")]
    assert order == sorted(order)
    facts = shown.locator(".prompt-facts").inner_text()
    assert "0.4" in facts and "500" in facts and "read_file" in facts
    assert shown.locator('.prompt-section[data-section="session"] pre').inner_text() == (
        "## Instructions for this chat\nCite the file names you read.")
    screenshot(page, "effective-prompt")

    shown.locator("button", has_text="Close").click()
    send(page, "/personality none")  # Hermes' slash command
    page.locator("#persona-chip").wait_for(state="hidden")
    assert get_session(api, sid)["persona"] is None
    send(page, "/personality Reviewer")
    page.locator("#persona-chip", has_text="Reviewer").wait_for()
    assert get_session(api, sid)["persona"] == "Reviewer"
