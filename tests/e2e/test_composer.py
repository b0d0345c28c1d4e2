"""The composer: attachments uploaded into the workspace, the model picker, the send key."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Server
from tests.e2e.helpers import get_session, ready, send, session_id, wait_idle

pytestmark = pytest.mark.e2e


def test_attach_a_file_and_send(page: Any, server: Server, api: httpx.Client) -> None:
    name = f"brief-{uuid.uuid4().hex[:6]}.txt"
    ready(page)
    brief = {"name": name, "mimeType": "text/plain", "buffer": b"the brief"}
    page.locator("#file-input").set_input_files(files=[brief])
    chip = page.locator("#attachments .file-chip", has_text=name)
    chip.wait_for()
    page.wait_for_function("() => !document.querySelector('#attachments .uploading')")
    send(page, "Read the attached brief [[tokens=2]]")
    wait_idle(page)
    assert (server.workspace / name).read_text() == "the brief"
    assert name in page.locator(".msg-user .msg-attachments").inner_text()
    user = get_session(api, session_id(page))["messages"][0]
    assert name in " ".join(user.get("attachments") or []) + user["content"]


def test_pick_a_model(page: Any, api: httpx.Client) -> None:
    ready(page)
    send(page, "Which model? [[tokens=1]]")
    wait_idle(page)
    page.locator("#model-picker").click()
    page.get_by_role("menuitemradio", name="test-model-2").click()
    page.locator("#model-label", has_text="test-model-2").wait_for()
    assert get_session(api, session_id(page))["model"].endswith("test-model-2")
    send(page, "Again [[tokens=1]]")
    wait_idle(page)


def test_ctrl_enter_send_key(page: Any, api: httpx.Client) -> None:
    api.post("/api/settings", json={"send_key": "ctrl+enter"}).raise_for_status()
    try:
        ready(page)
        box = page.locator("#composer-input")
        box.fill("line one")
        box.press("Enter")
        box.type("line two [[tokens=1]]")
        assert page.locator(".msg-user").count() == 0
        box.press("Control+Enter")
        wait_idle(page)
        assert page.locator(".msg-user .user-text").inner_text() == "line one\nline two [[tokens=1]]"
    finally:
        api.post("/api/settings", json={"send_key": "enter"})


def test_shift_enter_send_key(page: Any, api: httpx.Client) -> None:
    """Hermes WebUI's third choice: Shift+Enter sends, Enter makes a new line."""
    api.post("/api/settings", json={"send_key": "shift+enter"}).raise_for_status()
    try:
        ready(page)
        assert "Shift+Enter to send" in page.locator("#composer-hint").inner_text()
        box = page.locator("#composer-input")
        box.fill("first")
        box.press("Enter")
        box.type("second [[tokens=1]]")
        assert page.locator(".msg-user").count() == 0
        box.press("Shift+Enter")
        wait_idle(page)
        assert page.locator(".msg-user .user-text").inner_text() == "first\nsecond [[tokens=1]]"
    finally:
        api.post("/api/settings", json={"send_key": "enter"})
