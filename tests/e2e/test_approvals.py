"""Approvals in the browser: the card says what "Always" covers, a waiting chat says "needs approval"
in the sidebar and the header (also after a reload), a denied call is not shown as an error, and
Settings lists standing approvals with a way to revoke them (issue 10 items 1 and 14)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from tests.e2e.helpers import get_session, ready, send, session_id, wait_idle

pytestmark = pytest.mark.e2e


def ask_to_run(page: Any, command: str) -> Any:
    send(page, f"Run it [[tool=run_shell {json.dumps({'command': command})}]]")
    card = page.locator(".approval-card").last
    card.locator("button[data-choice=deny]").wait_for()
    return card


def test_a_waiting_chat_says_needs_approval_and_the_card_says_what_always_covers(
    page: Any, api: httpx.Client
) -> None:
    ready(page)
    card = ask_to_run(page, "ls | grep -c x")
    covers = card.locator(".approval-covers")
    assert "ls and grep" in covers.inner_text() and "with any arguments" in covers.inner_text()
    sid = session_id(page)
    row = page.locator(f'.srow-wrap[data-id="{sid}"]')
    row.locator(".srow-badge.needs-approval").wait_for()
    assert row.locator(".srow-badge").inner_text() == "needs approval"
    assert page.locator("#live-pill").inner_text().strip() == "Needs approval"
    assert get_session(api, sid)["pending_approval"] is True

    page.reload()  # the server is the truth: both survive a reload
    page.wait_for_selector("body.ready")
    row.locator(".srow-badge.needs-approval").wait_for()
    page.wait_for_function("() => document.querySelector('#live-label').textContent === 'Needs approval'")

    page.locator(".approval-card button[data-choice=deny]").last.click()
    wait_idle(page)
    assert row.locator(".srow-badge").count() == 0
    assert page.locator("#live-label").inner_text() == "Working"
    tool = page.locator(".msg-assistant.last-turn .tool-card").last
    assert "refused" in tool.get_attribute("class") and "error" not in tool.get_attribute("class").split()
    assert tool.locator(".tool-badge").inner_text() == "Denied"
    assert tool.locator(".tool-badge.error").count() == 0
    assert get_session(api, sid)["pending_approval"] is False


def test_a_line_that_cannot_be_covered_says_so(page: Any) -> None:
    ready(page)
    card = ask_to_run(page, "sleep $(echo 2)")  # the card stays live while it runs
    covers = card.locator(".approval-covers.once-only")
    assert "cannot be approved for later" in covers.inner_text() and "command substitution" in covers.inner_text()
    card.locator("button[data-choice=always]").click()
    card.locator(".approval-result").wait_for()
    assert card.locator(".approval-result").inner_text() == "Allowed once"
    wait_idle(page)


def test_settings_lists_standing_approvals_and_revokes_them(page: Any, api: httpx.Client) -> None:
    program = f"prog-{uuid.uuid4().hex[:8]}"  # a program of its own: other tests share the server
    ready(page)
    card = ask_to_run(page, f"{program} --version")
    assert program in card.locator(".approval-covers").inner_text()
    card.locator("button[data-choice=always]").click()
    wait_idle(page)
    page.locator("#settings-open").click()
    page.locator("#tab-approvals").click()
    row = page.locator(f'.approval-row[data-pattern="{program}"]')
    row.wait_for()
    assert "Always" in row.inner_text() and "run_shell" in row.inner_text()
    row.get_by_role("button", name=f"Revoke {program} (Always)").click()
    row.wait_for(state="detached")
    listed = api.get("/api/approvals").json()["approvals"]
    assert program not in [a["pattern"] for a in listed]


def test_an_answered_approval_replayed_after_a_reload_is_not_pending(page: Any) -> None:
    ready(page)
    card = ask_to_run(page, "sleep 3")
    card.locator("button[data-choice=once]").click()
    card.locator(".approval-result").wait_for()
    page.reload()  # the run replays its approval event while the command still runs
    page.wait_for_selector("body.ready")
    page.locator(".approval-card .approval-result").wait_for()
    assert page.locator(".approval-card button[data-choice]").count() == 0
    page.wait_for_function("() => document.querySelector('#live-label').textContent === 'Working'")
    assert page.locator(".srow-badge.needs-approval").count() == 0
    wait_idle(page)
