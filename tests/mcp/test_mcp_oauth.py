"""OAuth for a Streamable HTTP MCP server (issue 14, item 1): ``needs_auth`` until authorized; the
authorize endpoint returns the authorization server's page; the browser's return to the callback
completes the flow; the tokens are stored (never shown) and used after a restart of the app."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.llm_server import ScriptedLLM, Turn
from tests.mcp.conftest import add_server, new_session, run_turn, tool_results, wait_status
from tests.mcp.oauth_server import oauth_mcp_server
from tests.runs.conftest import llm_env, serve
from threadline.web.app import create_app

pytestmark = pytest.mark.slow


async def test_authorize_a_server_then_use_it_and_keep_the_tokens(
    api: httpx.AsyncClient, llm: ScriptedLLM, home: Path, mcp_settings: Any
) -> None:
    async with oauth_mcp_server() as (url, authorization_server):
        server = await add_server(api, {"name": "locked", "url": url}, status="needs_auth")
        assert "Authorize" in server["error"] and server["auth_url"] is None

        r = await api.post("/api/mcp/servers/authorize", json={"name": "locked"})
        assert r.status_code == 200, r.text
        auth_url = r.json()["server"]["auth_url"]
        assert auth_url.startswith(url.removesuffix("/mcp") + "/authorize?")
        assert (await api.get("/api/mcp/servers")).json()["servers"][0]["status"] == "needs_auth"

        # The browser: the authorization page approves and redirects back to Threadline's callback.
        async with httpx.AsyncClient() as browser:
            approved = await browser.get(auth_url)
        assert approved.status_code in (302, 303, 307), approved.text
        back = approved.headers["location"]
        assert back.startswith(str(api.base_url).rstrip("/") + "/api/mcp/oauth/callback?")
        assert "code" in parse_qs(urlsplit(back).query)
        page = await api.get(back, headers={"Accept": "text/html"})
        assert page.status_code == 200 and "is connected" in page.text, page.text

        connected = await wait_status(api, "locked", "connected")
        assert connected["tool_count"] == 1 and connected["auth_url"] is None
        stored = json.loads((home / "mcp.json").read_text())["oauth"]["locked"]
        token = stored["tokens"]["access_token"]
        assert token in authorization_server.tokens
        for answer in [(await api.get("/api/mcp/servers")).text, (await api.get("/api/mcp/tools")).text]:
            assert token not in answer and stored["tokens"]["refresh_token"] not in answer

        llm.script(Turn(tool_calls=[("locked__secret_number", {})]), Turn(text="ok"))
        results = tool_results(await run_turn(api, await new_session(api), "what is the number?"))
        assert results["locked__secret_number"]["result"] == "4242"

        # The same callback twice: no flow waits any more.
        again = await api.get(back, headers={"Accept": "text/html,application/xhtml+xml"})
        assert again.status_code == 404 and "<h1>Authorization failed</h1>" in again.text
        assert "no authorization is waiting" in again.text

        # A new process uses the stored tokens: connected without anyone signing in.
        app = create_app(mcp_settings, env=llm_env(llm))
        async with serve(app) as other, httpx.AsyncClient(base_url=other, timeout=90) as second:
            assert (await wait_status(second, "locked", "connected"))["tool_count"] == 1


async def test_the_callback_refuses_what_no_flow_waits_for(api: httpx.AsyncClient) -> None:
    r = await api.get("/api/mcp/oauth/callback", params={"code": "x", "state": "forged"})
    assert r.status_code == 404 and "no authorization is waiting" in r.json()["error"]
    r = await api.post("/api/mcp/servers/authorize", json={"name": "nope"})
    assert r.status_code == 404
    await add_server(api, {"name": "stdio-one", "command": "/bin/true"}, status=None)
    r = await api.post("/api/mcp/servers/authorize", json={"name": "stdio-one"})
    assert r.status_code == 400 and "Streamable HTTP" in r.text
