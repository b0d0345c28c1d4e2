"""MCP servers in Settings (issue 14, item 1): add a stdio server (tests/mcp/servers.py, written with
the ``mcp`` SDK) and see it connect with its tools; set a tool's policy; edit its environment with a
secret that the page never shows; a broken server shows why; disable and delete. State is checked
through the JSON API."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import screenshot
from tests.e2e.helpers import ready
from tests.mcp.conftest import SCRIPT

pytestmark = pytest.mark.e2e

SECRET = "sk-browser-0123456789abcdefXYZ"


@pytest.fixture
def cleanup(api: httpx.Client) -> Iterator[None]:
    yield
    for server in api.get("/api/mcp/servers").json()["servers"]:
        api.post("/api/mcp/servers/delete", json={"name": server["name"]})


def servers(api: httpx.Client) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in api.get("/api/mcp/servers").json()["servers"]}


def open_mcp(page: Any) -> Any:
    page.locator("#settings-open").click()
    page.locator("#tab-mcp").click()
    return page.locator("#panel-mcp")


def wait_for(check: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_add_a_server_set_a_policy_edit_disable_and_delete(page: Any, api: httpx.Client, cleanup: None) -> None:
    ready(page)
    panel = open_mcp(page)
    panel.locator(".muted", has_text="No MCP server yet").wait_for()
    form = panel.locator(".mcp-form")
    form.get_by_label("Name").fill("local")
    form.get_by_label("Command").fill(sys.executable)
    form.get_by_label("Arguments").fill(f"{SCRIPT}\nlocal")
    form.locator("button", has_text="Add server").click()
    page.locator(".toast", has_text="MCP server added").wait_for()

    row = panel.locator('.mcp-server[data-server="local"]')
    row.locator(".mcp-status.tag-ok", has_text="Connected · 8 tools").wait_for(timeout=60_000)
    assert servers(api)["local"]["status"] == "connected"

    row.locator(".mcp-tools summary").click()
    note = row.locator('.mcp-tool[data-tool="note"]')
    assert note.locator("code").inner_text() == "local__note"
    policy = note.get_by_label("Policy of local__note")
    assert policy.input_value() == "ask"
    assert row.locator('.mcp-tool[data-tool="add"]').get_by_label("Policy of local__add").input_value() == "allow"
    assert row.locator('.mcp-tool[data-tool="add"] .tag', has_text="read-only").is_visible()
    policy.select_option("deny")
    page.locator(".toast", has_text="local__note: deny").wait_for()
    tools = {t["name"]: t for t in api.get("/api/mcp/tools").json()["tools"]}
    assert tools["local__note"]["policy"] == "deny"

    # Edit: a secret in the environment. The page never shows it again, and saving unchanged keeps it.
    row.locator("button", has_text="Edit").click()
    form = panel.locator(".mcp-form")
    assert form.get_by_label("Name").is_disabled()
    form.get_by_label("Environment").fill(f"API_TOKEN={SECRET}")
    form.locator("button", has_text="Save changes").click()
    page.locator(".toast", has_text="MCP server saved").wait_for()
    row.locator(".mcp-status.tag-ok").wait_for(timeout=60_000)
    row.locator("button", has_text="Edit").click()
    env = panel.locator(".mcp-form").get_by_label("Environment")
    assert env.input_value() == "API_TOKEN=sk-…fXYZ"
    assert SECRET not in page.content()
    panel.locator(".mcp-form button", has_text="Save changes").click()
    page.locator(".toast", has_text="MCP server saved").last.wait_for()
    stored = (api.get("/api/mcp/servers").json(), servers(api)["local"]["env"])
    assert SECRET not in str(stored[0]) and stored[1] == {"API_TOKEN": "sk-…fXYZ"}

    # A broken server says why.
    form = panel.locator(".mcp-form")
    form.get_by_label("Name").fill("ghost")
    form.get_by_label("Command").fill("/nonexistent/mcp-server")
    form.locator("button", has_text="Add server").click()
    ghost = panel.locator('.mcp-server[data-server="ghost"]')
    ghost.locator(".mcp-status.tag-error", has_text="Broken").wait_for(timeout=30_000)
    assert "command not found" in ghost.locator(".mcp-problem").inner_text()
    screenshot(page, "settings-mcp")

    # Disable, then delete.
    row.get_by_label("Enable local").uncheck()
    row.locator(".mcp-status", has_text="Disabled").wait_for()
    wait_for(lambda: servers(api)["local"]["status"] == "disabled")
    assert servers(api)["local"]["enabled"] is False
    row.locator("button", has_text="Delete").click()
    page.locator("dialog .btn-danger", has_text="Delete server").click()
    page.locator(".toast", has_text="MCP server deleted").wait_for()
    row.wait_for(state="detached")
    assert "local" not in servers(api)


def test_an_invalid_server_is_refused_in_the_form(page: Any, api: httpx.Client, cleanup: None) -> None:
    ready(page)
    panel = open_mcp(page)
    form = panel.locator(".mcp-form")
    form.get_by_label("Name").fill("bad name")
    form.get_by_label("Command").fill("x")
    form.locator("button", has_text="Add server").click()
    assert "letters and digits" in form.locator(".test-result.error").inner_text()
    form.get_by_label("Name").fill("remote")
    form.locator(".seg", has_text="URL (Streamable HTTP)").click()
    form.get_by_label("URL").fill("http://127.0.0.1:9/mcp")
    form.get_by_label("Headers").fill("no separator here")
    form.locator("button", has_text="Add server").click()
    assert "Headers: write each line as" in form.locator(".test-result.error").inner_text()
    assert servers(api) == {}
