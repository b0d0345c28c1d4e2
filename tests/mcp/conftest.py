"""Fixtures for the MCP tests: the app served on a free port and wired to the scripted LLM (as in
``tests/runs``), a real MCP server over stdio (a subprocess of the app) and one over Streamable HTTP
(served by the test on a free port); both are ``tests/mcp/servers.py``, written with the ``mcp`` SDK."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import make_settings
from tests.llm_server import ScriptedLLM, Turn
from tests.mcp import servers
from tests.runs.conftest import llm_env, read_events, serve, wait_idle
from tests.sse import Frame
from threadline.settings import Settings
from threadline.web.app import create_app

SCRIPT = Path(servers.__file__).resolve()


def stdio_server(name: str, **extra: Any) -> dict[str, Any]:
    """The body that adds ``tests/mcp/servers.py`` as a stdio server named ``name``."""
    return {"name": name, "command": sys.executable, "args": [str(SCRIPT), name], **extra}


@pytest.fixture
def mcp_settings(home: Path) -> Settings:
    return make_settings(home, default_model="openai/test-model", heartbeat_seconds=1.0,
                         approval_timeout_seconds=10.0, mcp_connect_timeout_seconds=60.0,
                         mcp_call_timeout_seconds=20.0)


@pytest.fixture
async def mcp_app(mcp_settings: Settings, llm: ScriptedLLM) -> AsyncIterator[FastAPI]:
    application = create_app(mcp_settings, env=llm_env(llm))
    async with serve(application) as url:
        application.state.url = url
        yield application


@pytest.fixture
async def api(mcp_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=mcp_app.state.url, timeout=90) as c:
        yield c


@pytest.fixture
async def http_mcp() -> AsyncIterator[str]:
    """A Streamable HTTP MCP server on a free loopback port: its endpoint URL."""
    async with serve(servers.build("remote").streamable_http_app()) as url:  # type: ignore[arg-type]
        yield f"{url}/mcp"


async def add_server(api: httpx.AsyncClient, body: dict[str, Any], *, status: str | None = "connected",
                     timeout: float = 60) -> dict[str, Any]:
    r = await api.post("/api/mcp/servers", json=body)
    assert r.status_code == 200, r.text
    if status is None:
        return dict(r.json()["server"])
    return await wait_status(api, body["name"], status, timeout=timeout)


async def wait_status(api: httpx.AsyncClient, name: str, status: str, *, timeout: float = 60) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        listed = {s["name"]: s for s in (await api.get("/api/mcp/servers")).json()["servers"]}
        server = listed[name]
        if server["status"] == status:
            return dict(server)
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{name} is {server['status']} ({server['error']}), not {status}")
        await asyncio.sleep(0.1)


async def new_session(api: httpx.AsyncClient) -> str:
    return str((await api.post("/api/session/new", json={})).json()["session"]["session_id"])


async def run_turn(api: httpx.AsyncClient, sid: str, message: str, *, until: set[str] | None = None) -> list[Frame]:
    r = await api.post("/api/chat/start", json={"session_id": sid, "message": message})
    assert r.status_code == 200, r.text
    return await read_events(api, r.json()["stream_id"], until=until)


def tool_results(frames: list[Frame]) -> dict[str, dict[str, Any]]:
    """``tool_complete`` events by tool name."""
    return {f[2]["name"]: f[2] for f in frames if f[1] == "tool_complete"}


def offered_tools(llm: ScriptedLLM) -> list[str]:
    """The tool names the model was offered in the last request."""
    return [t["function"]["name"] for t in llm.requests[-1].get("tools") or []]


__all__ = ["Turn", "wait_idle"]
