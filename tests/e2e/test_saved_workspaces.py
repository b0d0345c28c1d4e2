"""Saved workspaces in the browser: add one in Settings, choose it for a new chat in the composer, and
a new chat after a reload starts in it (the last workspace used)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Server, screenshot
from tests.e2e.helpers import ready

pytestmark = pytest.mark.e2e


def test_choose_a_saved_workspace_for_a_new_chat(page: Any, server: Server) -> None:
    from playwright.sync_api import expect

    project = server.workspace / "saved-e2e"
    project.mkdir(exist_ok=True)
    (project / "marker.txt").write_text("in the saved workspace\n")
    try:
        ready(page)
        page.locator("#settings-open").click()
        page.get_by_role("tab", name="Workspaces").click()
        panel = page.locator("#panel-workspaces")
        panel.get_by_label("Folder to add").fill(str(project))
        panel.get_by_label("Name of the folder").fill("Saved E2E")
        panel.get_by_role("button", name="Add").click()
        panel.locator(f".saved-ws-row[data-path='{project}']").wait_for()
        screenshot(page, "desktop-light-saved-workspaces")
        page.keyboard.press("Escape")

        page.locator("#workspace-picker").click()
        choice = page.locator(".menu .menu-item", has_text="Saved E2E")
        choice.wait_for()
        screenshot(page, "desktop-light-workspace-menu")
        choice.click()
        expect(page.locator("#workspace-label")).to_have_text("saved-e2e")
        with server.api() as api:
            assert api.get("/api/workspaces").json()["last"] == str(project)

        ready(page)  # a reload opens a new chat: it starts in the last workspace used
        expect(page.locator("#workspace-label")).to_have_text("saved-e2e")
        page.locator("#workspace-toggle").click()
        page.locator("#ws-tree .ws-row[data-path='marker.txt']").wait_for()
    finally:
        with server.api() as api:  # leave the shared server as it was for the other tests
            api.post("/api/workspaces/remove", json={"path": str(project)})
            sid = api.post("/api/session/new", json={}).json()["session"]["session_id"]
            api.post("/api/session/update", json={"session_id": sid, "workspace": str(server.workspace)})
