"""Fixtures for ACP runtimes: the app served by a real uvicorn server, the scripted agent
(``scripted_agent.py``, a real subprocess on the SDK's agent side) registered through the API."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import make_settings
from tests.runs.conftest import read_events, serve, wait_idle
from tests.sse import Frame
from threadline.settings import Settings
from threadline.web.app import create_app

SCRIPT = Path(__file__).with_name("scripted_agent.py")
AGENT = "scripted"

Started = Callable[..., contextlib.AbstractAsyncContextManager[tuple[FastAPI, httpx.AsyncClient]]]


@pytest.fixture
def agent_state(tmp_path: Path) -> Path:
    path = tmp_path / "agent-state"
    path.mkdir()
    return path


@pytest.fixture
def acp_settings(home: Path) -> Settings:
    return make_settings(home, checkpoint_interval_seconds=0.2, heartbeat_seconds=1.0, approval_timeout_seconds=5.0,
                         detect_ollama=False)


@pytest.fixture
def start_app(acp_settings: Settings) -> Started:
    """``async with start_app(**overrides) as (app, client)``: a server on the test's home directory;
    the same home again after it stops is a restart."""

    @contextlib.asynccontextmanager
    async def started(**overrides: Any) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
        settings = acp_settings.model_copy(update=overrides) if overrides else acp_settings
        application = create_app(settings, env={})
        async with serve(application) as url:
            async with httpx.AsyncClient(base_url=url, timeout=30) as client:
                yield application, client

    return started


@pytest.fixture
async def acp_app(start_app: Started) -> AsyncIterator[FastAPI]:
    async with start_app() as (application, client):
        application.state.client = client
        yield application


@pytest.fixture
async def chat(acp_app: FastAPI) -> httpx.AsyncClient:
    client: httpx.AsyncClient = acp_app.state.client
    return client


async def register(client: httpx.AsyncClient, state: Path, name: str = AGENT) -> dict[str, Any]:
    r = await client.post("/api/runtimes", json={
        "name": name, "command": sys.executable, "args": [str(SCRIPT)],
        "env": {"SCRIPTED_AGENT_STATE": str(state)}})
    assert r.status_code == 200, r.text
    return dict(r.json())


@pytest.fixture
async def agent(chat: httpx.AsyncClient, agent_state: Path) -> str:
    await register(chat, agent_state)
    return AGENT


async def new_session(client: httpx.AsyncClient, runtime: str = AGENT) -> str:
    r = await client.post("/api/session/new", json={"runtime": runtime})
    assert r.status_code == 200, r.text
    return str(r.json()["session"]["session_id"])


async def turn(client: httpx.AsyncClient, sid: str, message: str, **body: Any) -> tuple[str, list[Frame]]:
    """Send a message and read its stream to the end."""
    stream_id = await start(client, sid, message, **body)
    return stream_id, await read_events(client, stream_id)


async def start(client: httpx.AsyncClient, sid: str, message: str, **body: Any) -> str:
    r = await client.post("/api/chat/start", json={"session_id": sid, "message": message, **body})
    assert r.status_code == 200, r.text
    return str(r.json()["stream_id"])


def text_of(frames: list[Frame]) -> str:
    return "".join(f[2]["text"] for f in frames if f[1] == "token")


def calls(state: Path) -> list[str]:
    path = state / "calls.log"
    return path.read_text().splitlines() if path.exists() else []


async def answer_approval(client: httpx.AsyncClient, sid: str, choice: str, *, wait: float = 10.0) -> dict[str, Any]:
    """Wait (up to ``wait`` seconds) for the session's pending approval and answer it."""
    for _ in range(int(wait / 0.05)):
        pending = (await client.get("/api/approval/pending", params={"session_id": sid})).json()
        if pending.get("pending"):
            r = await client.post("/api/approval/respond", json={"session_id": sid, "choice": choice})
            assert r.status_code == 200, r.text
            return dict(pending)
        await asyncio.sleep(0.05)
    raise AssertionError("no approval was asked")


__all__ = ["read_events", "wait_idle"]
