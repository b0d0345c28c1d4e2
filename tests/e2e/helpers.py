"""Small steps shared by the browser tests."""

from __future__ import annotations

import time
from typing import Any

import httpx

DONE_TIMEOUT = 15_000


def ready(page: Any, path: str = "/") -> Any:
    page.goto(path)
    page.wait_for_selector("body.ready")
    return page


def send(page: Any, text: str) -> None:
    box = page.locator("#composer-input")
    box.fill(text)
    box.press("Enter")


def edit_and_send(bubble: Any, text: str) -> None:
    """"Edit and resend" on a user message's bubble: the text becomes a new version of that message."""
    bubble.hover()
    bubble.locator("[data-action=edit]").click()
    bubble.locator("textarea.edit-area").fill(text)
    bubble.get_by_role("button", name="Send", exact=True).click()


def wait_idle(page: Any, timeout: int = DONE_TIMEOUT) -> None:
    """Until the open session has no live run (the header's Working pill is gone)."""
    page.wait_for_function(
        "() => document.body.classList.contains('ready') && document.querySelector('#live-pill').hidden"
        " && !document.querySelector('.msg.live')",
        timeout=timeout,
    )


def session_id(page: Any) -> str:
    path = page.evaluate("location.pathname")
    assert path.startswith("/s/"), f"expected a session URL, got {path}"
    return str(path.split("/")[2])


def get_session(api: httpx.Client, sid: str) -> dict[str, Any]:
    response = api.get("/api/session", params={"session_id": sid, "messages": 1})
    response.raise_for_status()
    return dict(response.json()["session"])


def chat(api: httpx.Client, message: str, sid: str | None = None, timeout: float = 15) -> str:
    """Runs one turn through the JSON API and waits for it to finish; returns the session id."""
    if sid is None:
        sid = api.post("/api/session/new", json={}).json()["session"]["session_id"]
    api.post("/api/chat/start", json={"session_id": sid, "message": message}).raise_for_status()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not get_session(api, sid).get("active_stream_id"):
            return sid
        time.sleep(0.1)
    raise AssertionError("the run did not finish")


def listed_ids(api: httpx.Client) -> list[str]:
    return [row["session_id"] for row in api.get("/api/sessions", params={"limit": 200}).json()["sessions"]]
