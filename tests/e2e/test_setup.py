"""First run: with no provider configured, the setup dialog connects one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import Server, open_page, screenshot, start_server, stop_server
from tests.e2e.helpers import send, wait_idle
from tests.llm_server import ScriptedLLM

pytestmark = pytest.mark.e2e


@pytest.fixture
def bare_server(chromium_path: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("bare") / "home", {})
    try:
        yield running
    finally:
        stop_server(running)


def test_first_run_setup_connects_a_provider(
    browser: Any, bare_server: Server, llm: ScriptedLLM, request: pytest.FixtureRequest,
) -> None:
    for page in open_page(browser, bare_server, request):
        page.goto("/")
        dialog = page.locator("dialog[open]")
        dialog.wait_for()
        assert "Connect a model provider" in dialog.inner_text()
        screenshot(page, "desktop-light-first-run")
        dialog.get_by_label("Base URL").fill(llm.openai_url)
        dialog.get_by_label("API key").fill("test")
        dialog.get_by_role("button", name="Test connection").click()
        dialog.locator(".test-result.ok").wait_for()
        dialog.get_by_role("button", name="Save provider").click()
        dialog.wait_for(state="detached")
        page.locator(".suggestion").first.wait_for()
        with bare_server.api() as api:
            assert api.get("/api/models").json()["providers"][0]["models"]
        send(page, "Hello after setup [[tokens=2]]")
        wait_idle(page)
        assert page.locator(".msg-assistant.last-turn .md").inner_text().split() == ["t0", "t1"]
