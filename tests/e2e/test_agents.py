"""ACP agents in the browser: Settings › Agents adds, tests, edits and deletes an agent; the composer's
runtime picker puts a session on it (kept with the session, the model chip hidden); the agent's plan
is shown in the chat while it works (issue 13)."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.acp.conftest import SCRIPT
from tests.e2e.helpers import get_session, ready, send, session_id, wait_idle

pytestmark = pytest.mark.e2e


def test_add_an_agent_test_it_and_run_a_chat_on_it(page: Any, api: httpx.Client, tmp_path: Path) -> None:
    name = f"scripted-{uuid.uuid4().hex[:6]}"  # the server is shared with other tests
    state_dir = tmp_path / "agent-state"
    state_dir.mkdir()
    ready(page)
    page.locator("#settings-open").click()
    page.locator("#tab-agents").click()
    form = page.locator(".agent-form")
    form.get_by_label("Agent name").fill(name)
    form.get_by_label("Command").fill(sys.executable)
    form.get_by_label("Arguments").fill(str(SCRIPT))
    form.get_by_label("Environment").fill(f"SCRIPTED_AGENT_STATE={state_dir}")
    form.get_by_role("button", name="Add agent").click()
    row = page.locator(f'.agent[data-name="{name}"]')
    row.wait_for()
    assert "SCRIPTED_AGENT_STATE" in row.inner_text() and str(state_dir) not in row.inner_text()  # values masked
    row.get_by_role("button", name="Test").click()
    row.locator(".test-result.ok").wait_for()
    assert "Scripted agent 1.0 answered" in row.locator(".test-result").inner_text()
    page.screenshot(path=str(page.artifacts / "settings-agents.png"))
    page.keyboard.press("Escape")

    picker = page.locator("#runtime-picker")
    assert picker.is_visible() and picker.inner_text().strip() == "Built-in agent"
    picker.click()
    page.get_by_role("menuitemradio", name=name).click()
    page.wait_for_function(f"() => document.querySelector('#runtime-label').textContent === '{name}'")
    assert not page.locator("#model-picker").is_visible()  # the agent chooses its own model

    send(page, "hello slowly")
    plan = page.locator(".msg.live .plan-card")
    plan.wait_for()
    assert plan.locator(".plan-entry").count() == 2
    assert plan.locator('.plan-entry[data-status="in_progress"] .plan-text').inner_text() == "Greet the user"
    assert plan.locator(".plan-progress").inner_text() == "0/2"
    page.screenshot(path=str(page.artifacts / "agent-plan.png"))
    wait_idle(page)
    assert "Hello from the agent." in page.locator(".msg-assistant").last.inner_text()
    sid = session_id(page)
    assert get_session(api, sid)["runtime"] == name

    page.reload()  # kept with the session, and so is the agent's plan
    page.wait_for_selector("body.ready")
    page.wait_for_function(f"() => document.querySelector('#runtime-label').textContent === '{name}'")
    stored_plan = page.locator(".msg-assistant .plan-card").last
    stored_plan.wait_for()
    assert stored_plan.locator(".plan-entry").count() == 2

    page.locator("#settings-open").click()
    page.locator("#tab-agents").click()
    row.get_by_role("button", name="Edit").click()
    page.get_by_role("heading", name=f"Edit {name}").wait_for()
    assert form.get_by_label("Agent name").input_value() == name
    form.get_by_label("Arguments").fill(f"{SCRIPT}\n--unused")
    form.get_by_role("button", name="Save agent").click()
    row.filter(has_text="--unused").wait_for()
    listed = {r["name"]: r for r in api.get("/api/runtimes").json()["runtimes"]}
    assert listed[name]["args"] == [str(SCRIPT), "--unused"]
    assert listed[name]["env"]["SCRIPTED_AGENT_STATE"] != str(state_dir)  # masked, and kept:
    assert (state_dir / "calls.log").exists()
    row.get_by_role("button", name=f"Delete {name}").click()
    page.locator("dialog.modal-small").get_by_role("button", name="Delete").click()
    row.wait_for(state="detached")
    assert name not in [r["name"] for r in api.get("/api/runtimes").json()["runtimes"]]
