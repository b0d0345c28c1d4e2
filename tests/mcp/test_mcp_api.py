"""The MCP configuration API: whole validation (400, nothing changed), secrets masked in every answer
and kept when sent back masked, the file in the state directory, restart, delete, policies, and the
``needs_auth`` state of a server that wants OAuth."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.mcp.conftest import add_server, stdio_server, wait_status
from tests.runs.conftest import serve

pytestmark = pytest.mark.slow

SECRET = "sk-live-0123456789abcdefSECRET"
HEADER_SECRET = "Bearer tok-9876543210fedcbaHIDDEN"


@pytest.mark.parametrize("body,message", [
    ([1, 2], "valid dictionary"),
    ({"command": "x"}, "name is required"),
    ({"name": "bad name", "command": "x"}, "invalid server name"),
    ({"name": "a__b", "command": "x"}, "invalid server name"),
    ({"name": "x" * 33, "command": "x"}, "invalid server name"),
    ({"name": "-x", "command": "x"}, "invalid server name"),
    ({"name": "fresh"}, "give command"),
    ({"name": "ok", "command": None, "url": None}, "give command"),
    ({"name": "ok", "command": "x", "url": "http://h/mcp"}, "not both"),
    ({"name": "ok", "command": ""}, "non-empty string"),
    ({"name": "ok", "command": 5}, "non-empty string"),
    ({"name": "ok", "command": "x", "args": "a b"}, "list of strings"),
    ({"name": "ok", "command": "x", "args": [1]}, "list of strings"),
    ({"name": "ok", "command": "x", "env": {"A": 1}}, "object of string values"),
    ({"name": "ok", "command": "x", "env": ["A"]}, "object of string values"),
    ({"name": "ok", "command": "x", "env": {"1A": "v"}}, "invalid name"),
    ({"name": "ok", "command": "x", "enabled": "yes"}, "true or false"),
    ({"name": "ok", "command": "x", "headers": {"A": "b"}}, "headers apply to a Streamable HTTP server"),
    ({"name": "ok", "url": "ftp://h/mcp"}, "http:// or https://"),
    ({"name": "ok", "url": "http://h/mcp", "headers": {"Bad Header": "v"}}, "invalid name"),
    ({"name": "ok", "url": "http://h/mcp", "headers": {"A": "v\r\nX: y"}}, "control character"),
    ({"name": "ok", "url": "http://h/mcp", "args": ["x"]}, "args and env apply to a stdio server"),
])
async def test_bad_input_is_refused_and_changes_nothing(
    api: httpx.AsyncClient, home: Path, body: Any, message: str
) -> None:
    await add_server(api, {"name": "ok", "url": "http://127.0.0.1:9/mcp", "enabled": False}, status="disabled")
    before = (home / "mcp.json").read_bytes()
    listed = (await api.get("/api/mcp/servers")).json()
    r = await api.post("/api/mcp/servers", json=body)
    assert r.status_code == 400 and message in r.text, r.text
    assert r.status_code == 400 or body == [1, 2]
    assert (home / "mcp.json").read_bytes() == before
    assert (await api.get("/api/mcp/servers")).json() == listed


async def test_secrets_are_masked_everywhere_and_kept_when_sent_back(
    mcp_app: FastAPI, api: httpx.AsyncClient, home: Path, http_mcp: str
) -> None:
    body = stdio_server("local", env={"API_TOKEN": SECRET, "SHORT": "abc"})
    r = await api.post("/api/mcp/servers", json=body)
    assert SECRET not in r.text and r.json()["server"]["env"] == {"API_TOKEN": "sk-…CRET", "SHORT": "…"}
    await wait_status(api, "local", "connected")
    remote = await api.post("/api/mcp/servers", json={"name": "remote", "url": http_mcp,
                                                      "headers": {"Authorization": HEADER_SECRET}})
    assert HEADER_SECRET not in remote.text
    await wait_status(api, "remote", "connected")
    answers = [
        (await api.get("/api/mcp/servers")).text,
        (await api.get("/api/mcp/tools")).text,
        (await api.post("/api/mcp/servers/restart", json={"name": "local"})).text,
    ]
    for text in answers:
        assert SECRET not in text and "tok-9876543210" not in text

    stored = json.loads((home / "mcp.json").read_text())
    assert stat.S_IMODE((home / "mcp.json").stat().st_mode) == 0o600
    servers = {s["name"]: s for s in stored["servers"]}
    assert servers["local"]["env"]["API_TOKEN"] == SECRET
    assert servers["remote"]["headers"]["Authorization"] == HEADER_SECRET

    # The server process got the real value.
    connection = mcp_app.state.services.mcp.connection("local")
    assert (await connection.call("getenv", {"name": "API_TOKEN"})).content[0].text == SECRET

    # The masked values sent back (an edit from the Settings form) keep the secrets; a new one replaces.
    masked = r.json()["server"]["env"]
    edit = await api.post("/api/mcp/servers", json={**body, "env": {**masked, "EXTRA": "new-value"}})
    assert edit.status_code == 200, edit.text
    await wait_status(api, "local", "connected")
    connection = mcp_app.state.services.mcp.connection("local")
    assert (await connection.call("getenv", {"name": "API_TOKEN"})).content[0].text == SECRET
    assert (await connection.call("getenv", {"name": "SHORT"})).content[0].text == "abc"
    assert (await connection.call("getenv", {"name": "EXTRA"})).content[0].text == "new-value"
    # Left out of env: removed.
    await api.post("/api/mcp/servers", json={**body, "env": {"EXTRA": "new-value"}})
    await wait_status(api, "local", "connected")
    connection = mcp_app.state.services.mcp.connection("local")
    assert (await connection.call("getenv", {"name": "API_TOKEN"})).content[0].text == ""


async def test_configuration_survives_a_restart_of_the_app(home: Path, mcp_settings: Any, llm: Any) -> None:
    from tests.runs.conftest import llm_env
    from threadline.web.app import create_app

    app = create_app(mcp_settings, env=llm_env(llm))
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=90) as api:
        await add_server(api, stdio_server("local"))
        r = await api.post("/api/mcp/tools/policy", json={"server": "local", "tool": "add", "policy": "deny"})
        assert r.status_code == 200
    app = create_app(mcp_settings, env=llm_env(llm))
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=90) as api:
        # Connected at start-up, in the background, with its policies.
        server = await wait_status(api, "local", "connected")
        assert server["command"] == sys.executable
        tools = {t["name"]: t["policy"] for t in (await api.get("/api/mcp/tools")).json()["tools"]}
        assert tools["local__add"] == "deny" and tools["local__pid"] == "allow"


async def test_edit_keeps_what_it_leaves_out_and_delete_removes(api: httpx.AsyncClient, home: Path) -> None:
    await add_server(api, stdio_server("local"))
    await api.post("/api/mcp/tools/policy", json={"server": "local", "tool": "note", "policy": "allow"})
    r = await api.post("/api/mcp/servers", json={"name": "local", "enabled": False})
    server = r.json()["server"]
    assert server["status"] == "disabled" and server["command"] == sys.executable and len(server["args"]) == 2
    r = await api.post("/api/mcp/servers", json={"name": "local", "enabled": True})
    await wait_status(api, "local", "connected")
    tools = {t["name"]: t["policy"] for t in (await api.get("/api/mcp/tools")).json()["tools"]}
    assert tools["local__note"] == "allow"  # policies survive edits

    assert (await api.post("/api/mcp/servers/delete", json={"name": "nope"})).status_code == 404
    r = await api.post("/api/mcp/servers/delete", json={"name": "local"})
    assert r.status_code == 200 and r.json()["servers"] == []
    assert json.loads((home / "mcp.json").read_text())["servers"] == []
    assert (await api.get("/api/mcp/tools")).json()["tools"] == []


async def test_policy_requests_are_checked(api: httpx.AsyncClient) -> None:
    await add_server(api, stdio_server("local"))
    cases = [
        ({"server": "local", "tool": "add", "policy": "sometimes"}, 400),
        ({"server": "nope", "tool": "add", "policy": "allow"}, 404),
        ({"server": "local", "tool": "nope", "policy": "allow"}, 404),
        ({"server": "local", "tool": 3, "policy": "allow"}, 400),
        ({"server": "bad name", "tool": "add", "policy": "allow"}, 400),
    ]
    for body, status in cases:
        r = await api.post("/api/mcp/tools/policy", json=body)
        assert r.status_code == status, (body, r.text)
    tools = {t["name"]: t["policy"] for t in (await api.get("/api/mcp/tools")).json()["tools"]}
    assert tools["local__add"] == "allow"


async def test_restart_retries_a_broken_server_at_once(api: httpx.AsyncClient, home: Path) -> None:
    script = home / "late.sh"
    await add_server(api, {"name": "late", "command": "/bin/sh", "args": [str(script)]}, status="broken")
    script.write_text(f'exec "{sys.executable}" "{stdio_server("x")["args"][0]}" late\n')
    r = await api.post("/api/mcp/servers/restart", json={"name": "late"})
    assert r.json()["server"]["status"] == "connected", r.text


async def test_a_server_that_wants_oauth_needs_authorization(api: httpx.AsyncClient) -> None:
    async def protected(request: Request) -> JSONResponse:
        return JSONResponse({"error": "unauthorized"}, status_code=401,
                            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})

    app = Starlette(routes=[Route("/mcp", protected, methods=["GET", "POST", "DELETE"])])
    async with serve(app) as url:  # type: ignore[arg-type]
        server = await add_server(api, {"name": "locked", "url": f"{url}/mcp"}, status="needs_auth")
        assert "requires authorization" in server["error"] and "Authorize" in server["error"]
        assert server["tool_count"] == 0
        assert (await api.get("/api/mcp/tools")).json()["tools"] == []
