"""The runtime seam (issue 12 item 1): a runtime written here, in the test suite, plugs in by name
without touching ``threadline.runs``, and its runs keep every promise of a built-in run: the user
message stored first, numbered and replayable events, stored rows, state kept with the session,
cancel, failures as ``apperror``."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI

from tests.runs.conftest import read_events, wait_idle
from threadline.agent.events import ProviderError, ToolCallRequest, Usage
from threadline.agent.runtime import RunContext, RunSink, RuntimeResult
from threadline.agent.tools.base import ToolResult


class EchoRuntime:
    """Echoes the prompt after a pretend tool call; ``slow`` waits for a cancel, ``fail`` fails."""

    name = "echo"
    kind = "test"

    def __init__(self) -> None:
        self.contexts: list[RunContext] = []

    async def check(self, model: str | None) -> str | None:
        return model or "echo-model"

    async def run(self, ctx: RunContext, sink: RunSink) -> RuntimeResult:
        self.contexts.append(ctx)
        turns = int(ctx.state.get("turns", 0)) + 1
        await sink.save_state({"turns": turns})
        if ctx.prompt == "fail":
            raise ProviderError("connection", "the echo agent is unreachable")
        await sink.on_event("plan", {"entries": [{"content": "echo it", "status": "in_progress"}]})
        call = ToolCallRequest("e1", "echo_tool", {"text": ctx.prompt}, "{}")
        await sink.on_assistant_message({"role": "assistant", "content": "", "tool_calls": [call.to_message()]})
        await sink.on_tool_start(call)
        await sink.on_tool_end(call, ToolResult(ctx.prompt.upper()), 0.01)
        await sink.on_tool_message({"role": "tool", "tool_call_id": "e1", "content": ctx.prompt.upper()})
        if ctx.prompt == "slow":
            await asyncio.sleep(60)
        for word in f"echo #{turns}: {ctx.prompt}".split(" "):
            await sink.on_text(word + " ")
        await sink.on_usage(Usage(3, 4))
        await sink.on_assistant_message({"role": "assistant", "content": f"echo #{turns}: {ctx.prompt} "})
        return RuntimeResult()

    async def close(self) -> None:
        return None


@pytest.fixture
def echo(chat_app: FastAPI) -> EchoRuntime:
    runtime = EchoRuntime()
    chat_app.state.services.runtimes.register(runtime)
    return runtime


async def start(chat: httpx.AsyncClient, sid: str, message: str) -> str:
    r = await chat.post("/api/chat/start", json={"session_id": sid, "message": message})
    assert r.status_code == 200, r.text
    return str(r.json()["stream_id"])


async def test_a_runtime_from_the_test_suite_runs_a_durable_turn(chat: httpx.AsyncClient, echo: EchoRuntime) -> None:
    created = (await chat.post("/api/session/new", json={"runtime": "echo"})).json()["session"]
    assert created["runtime"] == "echo"
    sid = created["session_id"]
    stream_id = await start(chat, sid, "hello")
    frames = await read_events(chat, stream_id)
    names = [f[1] for f in frames]
    assert names[0] == "plan" and "tool" in names and "tool_complete" in names
    assert "".join(f[2]["text"] for f in frames if f[1] == "token") == "echo #1: hello "
    assert names[-2:] == ["title", "stream_end"] or names[-1] == "stream_end"
    # Replay from the middle gives exactly the rest.
    middle = frames[3][0]
    assert [f[0] for f in await read_events(chat, stream_id, after=middle)] == [f[0] for f in frames[4:]]
    session = await wait_idle(chat, sid)
    assert session["runtime"] == "echo"
    assert [(m["role"], m.get("tool_call_id")) for m in session["messages"]] == [
        ("user", None), ("assistant", None), ("tool", "e1"), ("assistant", None)]
    assert session["messages"][-1]["content"] == "echo #1: hello "
    assert session["input_tokens"] == 3 and session["output_tokens"] == 4
    # The runtime's state stays with the session, and its context holds the whole history.
    await read_events(chat, await start(chat, sid, "again"))
    session = await wait_idle(chat, sid)
    assert session["messages"][-1]["content"] == "echo #2: again "
    assert [m["role"] for m in echo.contexts[-1].history][:1] == ["user"]
    assert echo.contexts[-1].prompt == "again" and echo.contexts[-1].kind == "chat"


async def test_cancel_and_failure_of_a_plugged_in_runtime(chat: httpx.AsyncClient, echo: EchoRuntime) -> None:
    sid = (await chat.post("/api/session/new", json={"runtime": "echo"})).json()["session"]["session_id"]
    stream_id = await start(chat, sid, "slow")
    await read_events(chat, stream_id, until={"tool_complete"})
    assert (await chat.post("/api/chat/cancel", json={"stream_id": stream_id})).json()["cancelled"] is True
    assert (await read_events(chat, stream_id))[-1][1] == "cancel"
    await wait_idle(chat, sid)
    frames = await read_events(chat, await start(chat, sid, "fail"))
    assert frames[-1][1] == "apperror" and frames[-1][2]["type"] == "connection"
    session = await wait_idle(chat, sid)
    assert session["messages"][-1]["_error"] is True


async def test_unknown_runtimes_are_refused(chat: httpx.AsyncClient, echo: EchoRuntime) -> None:
    r = await chat.post("/api/session/new", json={"runtime": "nope"})
    assert r.status_code == 400 and "unknown runtime" in r.json()["error"]
    sid = (await chat.post("/api/session/new", json={})).json()["session"]["session_id"]
    r = await chat.post("/api/session/update", json={"session_id": sid, "runtime": "nope"})
    assert r.status_code == 400
    r = await chat.post("/api/session/update", json={"session_id": sid, "runtime": "echo"})
    assert r.status_code == 200 and r.json()["session"]["runtime"] == "echo"
    r = await chat.post("/api/session/update", json={"session_id": sid, "runtime": "builtin"})
    assert r.json()["session"]["runtime"] == "builtin"
