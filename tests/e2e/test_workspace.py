"""The workspace panel: browse, preview, edit and save a file."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Server, screenshot
from tests.e2e.helpers import ready

pytestmark = pytest.mark.e2e


def test_edit_and_save_a_workspace_file(page: Any, server: Server) -> None:
    (server.workspace / "docs").mkdir(exist_ok=True)
    target = server.workspace / "docs" / "notes.md"
    target.write_text("# Notes\n\nfirst line\n")
    (server.workspace / "hello.py").write_text("print('hello')\n")
    ready(page)
    page.locator("#workspace-toggle").click()
    tree = page.locator("#ws-tree")
    tree.locator(".ws-row[data-path='hello.py']").wait_for()
    tree.locator(".ws-row[data-path='docs']").click()
    tree.locator(".ws-row[data-path='docs/notes.md']").click()
    preview = page.locator("#ws-preview")
    preview.locator(".ws-md h1").wait_for()
    assert preview.locator(".crumb.current").inner_text() == "notes.md"
    screenshot(page, "desktop-light-workspace")
    preview.get_by_role("button", name="Edit").click()
    editor = preview.locator("textarea.ws-editor")
    editor.fill("# Notes\n\nedited in the browser\n")
    preview.get_by_role("button", name="Save").click()
    preview.locator(".ws-md").wait_for()
    assert "edited in the browser" in preview.locator(".ws-md").inner_text()
    assert target.read_text() == "# Notes\n\nedited in the browser\n"
    # Back to the tree through the breadcrumb; the code file previews highlighted.
    preview.locator("button.crumb").first.click()
    tree.locator(".ws-row[data-path='hello.py']").click()
    preview.locator(".ws-code code.hljs").wait_for()
