"""The session list: pages fetched as you scroll, only the visible rows in the DOM, row actions."""

from __future__ import annotations

import concurrent.futures
import uuid
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Server
from tests.e2e.helpers import ready

pytestmark = pytest.mark.e2e


def _import(server: Server, titles: list[str]) -> None:
    def one(title: str) -> None:
        with server.api() as client:
            client.post("/api/session/import", json={
                "title": title, "messages": [{"role": "user", "content": f"about {title}"},
                                             {"role": "assistant", "content": "noted"}],
            }).raise_for_status()

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(one, titles))


def test_long_list_is_paged_and_virtual(page: Any, server: Server, api: httpx.Client) -> None:
    tag = uuid.uuid4().hex[:6]
    _import(server, [f"Bulk {tag} {i:03d}" for i in range(260)])
    ready(page)
    page.locator(".srow").first.wait_for()
    found = page.evaluate("""async (tag) => {
      const sc = document.querySelector('#session-scroll');
      const list = document.querySelector('#session-list');
      const seen = new Set(); let maxNodes = 0;
      for (let i = 0; i < 300; i++) {
        for (const a of list.querySelectorAll('.srow')) if (a.textContent.includes(tag)) seen.add(a.dataset.id);
        maxNodes = Math.max(maxNodes, list.children.length);
        const before = sc.scrollTop;
        sc.scrollTop += sc.clientHeight;
        await new Promise((r) => setTimeout(r, 30));
        if (sc.scrollTop === before && i > 5) await new Promise((r) => setTimeout(r, 150));
        if (sc.scrollTop === before && sc.scrollTop + sc.clientHeight >= sc.scrollHeight - 2 && i > 10) break;
      }
      return { seen: seen.size, maxNodes };
    }""", tag)
    assert found["seen"] == 260
    assert found["maxNodes"] < 80, "rows outside the viewport should not be in the DOM"


def test_rename_pin_and_delete_from_the_row_menu(page: Any, server: Server, api: httpx.Client) -> None:
    title = f"Menu target {uuid.uuid4().hex[:6]}"
    _import(server, [title])
    ready(page)
    page.locator("#search-input").fill(title)
    page.locator(".search-results a").first.click()
    page.wait_for_url("**/s/*")
    sid = page.evaluate("location.pathname").split("/")[2]
    page.locator("#search-input").fill("")
    row = page.locator(f".srow-wrap[data-id='{sid}']")
    row.wait_for()
    row.hover()
    row.locator(".srow-menu").click()
    page.get_by_role("menuitem", name="Pin").click()
    page.locator(".sgroup", has_text="Pinned").wait_for()
    assert api.get("/api/session", params={"session_id": sid, "messages": 0}).json()["session"]["pinned"] is True
    row.hover()
    row.locator(".srow-menu").click()
    page.get_by_role("menuitem", name="Rename").click()
    row.locator("input.srow-input").fill("Renamed in place")
    row.locator("input.srow-input").press("Enter")
    page.locator(".srow-title", has_text="Renamed in place").wait_for()
    page.locator("#chat-title", has_text="Renamed in place").wait_for()
    row.hover()
    row.locator(".srow-menu").click()
    page.get_by_role("menuitem", name="Delete…").click()
    page.locator("dialog[open]").get_by_role("button", name="Delete").click()
    row.wait_for(state="detached")
    assert api.get("/api/session", params={"session_id": sid}).status_code == 404
    page.wait_for_function("() => location.pathname === '/'")
