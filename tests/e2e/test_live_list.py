"""Two tabs of the app (issue 17 item 4): a rename in one shows in the other within a second, through
the session list's event stream (GET /api/sessions/events), not by polling the list; so do a new chat,
a YOLO badge and a deletion. The tabs share one stream (one tab reads it and passes changes on)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Server, open_page, screenshot
from tests.e2e.helpers import ready

pytestmark = pytest.mark.e2e

LATER_MS = 3000  # the other changes: as fast in practice, with room for a loaded test machine


def _import(api: httpx.Client, title: str) -> str:
    r = api.post("/api/session/import", json={"title": title, "messages": [
        {"role": "user", "content": f"about {title}"}, {"role": "assistant", "content": "noted"}]})
    r.raise_for_status()
    return str(r.json()["session"]["session_id"])


def _row(page: Any, sid: str) -> Any:
    return page.locator(f'.srow-wrap[data-id="{sid}"]')


def test_a_rename_in_one_tab_shows_in_the_other_within_a_second(
    browser: Any, server: Server, api: httpx.Client, request: pytest.FixtureRequest,
) -> None:
    tag = uuid.uuid4().hex[:6]
    sid = _import(api, f"Live {tag}")
    for first in open_page(browser, server, request):
        second = first.context.new_page()  # a second tab of the same browser
        second.artifacts = first.artifacts
        second.on("console", first.errors.console)  # its errors fail the test too
        second.on("pageerror", first.errors.page_error)
        list_reads: list[str] = []

        def note(req: Any, reads: list[str] = list_reads) -> None:
            if "/api/sessions?" in req.url or req.url.endswith("/api/sessions"):
                reads.append(req.url)

        second.on("request", note)
        streams: list[str] = []

        def note_stream(req: Any, seen: list[str] = streams) -> None:
            if "/api/sessions/events" in req.url:
                seen.append(req.url)

        for tab in (first, second):
            tab.on("request", note_stream)
        for tab in (first, second):
            ready(tab, f"/s/{sid}")
            tab.wait_for_selector('body[data-list-feed="open"]')
            _row(tab, sid).wait_for()
        list_reads.clear()
        assert len(streams) == 1, streams  # one stream for the browser, shared by its tabs

        first.locator("#chat-title").click()
        box = first.get_by_label("Title")
        box.fill(f"Renamed {tag}")
        started = time.monotonic()
        box.press("Enter")
        second.locator(f'.srow-wrap[data-id="{sid}"] .srow-title', has_text=f"Renamed {tag}").wait_for(timeout=1000)
        second.locator("#chat-title", has_text=f"Renamed {tag}").wait_for(timeout=1000)  # the open chat too
        assert time.monotonic() - started < 1.5
        assert list_reads == [], f"the second tab polled the list: {list_reads}"

        # Changes from another client: a new chat, approvals turned off (its badge), a deletion.
        other = _import(api, f"Elsewhere {tag}")
        _row(second, other).wait_for(timeout=LATER_MS)
        api.post("/api/session/yolo", json={"session_id": sid, "enabled": True}).raise_for_status()
        _row(second, sid).locator(".srow-badge.yolo").wait_for(timeout=LATER_MS)
        second.locator("#yolo-pill").wait_for(timeout=LATER_MS)
        screenshot(second, "desktop-light-yolo-badge")
        second.locator("#yolo-pill").click()  # turns approvals back on, seen in the first tab
        _row(first, sid).locator(".srow-badge.yolo").wait_for(state="detached", timeout=LATER_MS)
        api.post("/api/session/delete", json={"session_id": other}).raise_for_status()
        _row(second, other).wait_for(state="detached", timeout=LATER_MS)
        assert list_reads == [], f"the second tab polled the list: {list_reads}"
        assert api.get("/api/session", params={"session_id": sid, "messages": 0}).json()["session"]["yolo"] is False
