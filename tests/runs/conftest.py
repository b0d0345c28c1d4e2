"""Fixtures for the chat engine: the app wired to the scripted LLM server over real HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from tests.conftest import make_settings
from tests.llm_server import ScriptedLLM
from tests.sse import TERMINAL, Frame, FrameParser, done
from threadline.settings import Settings
from threadline.web.app import create_app


def llm_env(llm: ScriptedLLM, kind: str = "openai") -> dict[str, str]:
    if kind == "anthropic":
        return {"ANTHROPIC_API_KEY": "test-key", "ANTHROPIC_BASE_URL": llm.anthropic_url}
    return {"OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": llm.openai_url}


@pytest.fixture
def chat_settings(home: Path) -> Settings:
    return make_settings(home, default_model="openai/test-model", checkpoint_interval_seconds=0.2,
                         heartbeat_seconds=1.0, approval_timeout_seconds=5.0)


@pytest.fixture
async def chat_app(chat_settings: Settings, llm: ScriptedLLM) -> AsyncIterator[FastAPI]:
    """The app served by a real uvicorn server on a free loopback port, in the test's event loop
    (httpx's in-process transport buffers whole responses, which hides streaming)."""
    application = create_app(chat_settings, env=llm_env(llm))
    async with serve(application) as url:
        application.state.url = url
        yield application


async def serving(server: uvicorn.Server, sock: socket.socket) -> None:
    """``server.serve``, with a failed start-up raised as an error: uvicorn exits the process
    (``SystemExit``), which, raised in a task, would stop the test's event loop and every test after."""
    try:
        await server.serve(sockets=[sock])
    except SystemExit as exc:
        raise RuntimeError(f"the app did not start (uvicorn exit code {exc.code}); its log says why") from None


@contextlib.asynccontextmanager
async def serve(application: FastAPI) -> AsyncIterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(application, log_level="warning", lifespan="on", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    task = asyncio.create_task(serving(server, sock))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@pytest.fixture
async def chat(chat_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=chat_app.state.url, timeout=30) as c:
        yield c


async def read_events(
    client: httpx.AsyncClient, stream_id: str, *, after: str | None = None, until: set[str] | None = None,
    limit: int | None = None,
) -> list[Frame]:
    """(id, event, data) frames of a stream, parsed line by line, until a terminal event."""
    headers = {"Last-Event-ID": after} if after else {}
    frames: list[Frame] = []
    parser = FrameParser()
    async with client.stream("GET", "/api/chat/stream", params={"stream_id": stream_id}, headers=headers) as r:
        assert r.status_code == 200, await r.aread()
        async for line in r.aiter_lines():
            frame = parser.feed(line)
            if frame is not None:
                frames.append(frame)
                if done(frames, until or TERMINAL, limit):
                    break
    return frames


async def read_until_stall(client: httpx.AsyncClient, stream_id: str, expected: str) -> httpx.Headers:
    """Read a stream whose model sends ``expected`` and then stalls (``fail=hang``) until it has all of
    ``expected``; only a stream that passes tokens on as they come can deliver it. Returns the stream's
    headers, once checking that the run is still going. The caller cancels the run."""
    received = ""
    parser = FrameParser()
    async with asyncio.timeout(30):  # a buffered stream never delivers: fail rather than hang
        async with client.stream("GET", "/api/chat/stream", params={"stream_id": stream_id}) as response:
            assert response.status_code == 200
            async for line in response.aiter_lines():
                frame = parser.feed(line)
                assert frame is None or frame[1] not in TERMINAL, frame
                if frame is not None and frame[1] == "token":
                    received += frame[2]["text"]
                if received == expected:
                    break
    status = (await client.get("/api/chat/stream/status", params={"stream_id": stream_id})).json()
    assert status["active"] is True  # the model is still stalled: nothing held the tokens back
    return response.headers


async def wait_idle(client: httpx.AsyncClient, session_id: str, timeout: float = 10) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        session = (await client.get("/api/session", params={"session_id": session_id})).json()["session"]
        if not session["active_stream_id"]:
            return session
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"session {session_id} still busy")
        await asyncio.sleep(0.05)
