"""Steer over the API (issue 14 item 5): text sent to a live run joins the turn before the model's next
call, after the tool results, and is stored there as a user message marked ``steer``; text that comes
too late returns as ``pending_steer_leftover``; every refusal is a 200 with a ``fallback``."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from fastapi import FastAPI

from tests.llm_server import ScriptedLLM, Turn
from tests.runs.conftest import read_events, wait_idle
from tests.runs.test_runtime_seam import EchoRuntime

STEER = "Actually, only list the Python files."


async def new_session(client: httpx.AsyncClient, **body: Any) -> str:
    return str((await client.post("/api/session/new", json=body)).json()["session"]["session_id"])


async def start(client: httpx.AsyncClient, sid: str, message: str = "look around") -> str:
    r = await client.post("/api/chat/start", json={"session_id": sid, "message": message})
    assert r.status_code == 200, r.text
    return str(r.json()["stream_id"])


async def steer(client: httpx.AsyncClient, sid: str, text: str = STEER) -> dict[str, Any]:
    r = await client.post("/api/chat/steer", json={"session_id": sid, "text": text})
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_steer_joins_the_running_turn_at_the_next_step(chat: httpx.AsyncClient, llm: ScriptedLLM) -> None:
    sid = await new_session(chat)
    # The first model call streams slowly, then calls a tool: the steer arrives while it streams.
    llm.script(Turn(text=["Looking ", "around ", "first. "], tool_calls=[("list_files", {"path": "."})],
                    delay=0.4, call_ids=["call_ls"]),
               Turn(text="Only the Python files, then."))
    stream = await start(chat, sid)
    frames = await read_events(chat, stream, until={"token"})
    assert await steer(chat, sid) == {"accepted": True, "fallback": None, "stream_id": stream}
    frames += await read_events(chat, stream, after=frames[-1][0])
    names = [f[1] for f in frames]
    assert names.index("tool_complete") < names.index("steer") < len(names) - 1 - names[::-1].index("token")
    steered = next(f[2] for f in frames if f[1] == "steer")
    assert steered["text"] == STEER and steered["session_id"] == sid
    assert "pending_steer_leftover" not in names and names[-1] == "stream_end"

    # The model's next request has the text after the tool's result.
    first, second = llm.requests[-2:]
    assert STEER not in str(first["messages"])
    assert [m["role"] for m in second["messages"]][-3:] == ["assistant", "tool", "user"]
    assert second["messages"][-1]["content"] == STEER

    session = await wait_idle(chat, sid)
    rows = [(m["role"], m.get("steer", False)) for m in session["messages"]]
    assert rows == [("user", False), ("assistant", False), ("tool", False), ("user", True), ("assistant", False)]
    assert session["messages"][3]["content"] == STEER and session["messages"][3]["seq"] == steered["seq"]
    assert session["messages"][3]["run_id"] == stream
    # The steered message is part of the history from now on.
    llm.script(Turn(text="ok"))
    await read_events(chat, await start(chat, sid, "next"))
    assert STEER in [m.get("content") for m in llm.requests[-1]["messages"]]
    await wait_idle(chat, sid)


async def test_text_too_late_for_the_turn_comes_back_as_a_leftover(chat: httpx.AsyncClient,
                                                                    llm: ScriptedLLM) -> None:
    sid = await new_session(chat)
    llm.script(Turn(text=["The ", "final ", "answer."], delay=0.4))  # no tool call: no next step
    stream = await start(chat, sid)
    frames = await read_events(chat, stream, until={"token"})
    assert (await steer(chat, sid, "one"))["accepted"] is True
    assert (await steer(chat, sid, "two"))["accepted"] is True
    frames += await read_events(chat, stream, after=frames[-1][0])
    names = [f[1] for f in frames]
    assert names[-1] == "stream_end" and "steer" not in names
    leftover = [f[2] for f in frames if f[1] == "pending_steer_leftover"]
    assert leftover == [{"session_id": sid, "text": "one"}, {"session_id": sid, "text": "two"}]
    assert names.index("pending_steer_leftover") < names.index("done")
    session = await wait_idle(chat, sid)
    assert [m["role"] for m in session["messages"]] == ["user", "assistant"]
    assert len(llm.requests) == 1
    # Once the run is over, the session is idle.
    assert await steer(chat, sid) == {"accepted": False, "fallback": "not_running", "stream_id": None}


async def test_steer_is_refused_with_a_reason(chat: httpx.AsyncClient, llm: ScriptedLLM) -> None:
    draft = await new_session(chat)
    assert await steer(chat, draft) == {"accepted": False, "fallback": "not_running", "stream_id": None}
    llm.script(Turn(text="hi"))
    await read_events(chat, await start(chat, draft))
    await wait_idle(chat, draft)
    assert (await steer(chat, draft))["fallback"] == "not_running"
    for unknown in ("0123456789ab", "NOT-AN-ID!", "x" * 64):
        assert await steer(chat, unknown) == {"accepted": False, "fallback": "session_not_found", "stream_id": None}
    for body in ({"session_id": draft}, {"session_id": draft, "text": ""}, {"session_id": draft, "text": " \n "},
                 {"text": STEER}, {"session_id": "", "text": STEER}, {}):
        r = await chat.post("/api/chat/steer", json=body)
        assert r.status_code == 400 and r.json()["error"], body
    r = await chat.post("/api/chat/steer", json={"session_id": draft, "text": 5})
    assert r.status_code == 400
    session = (await chat.get("/api/session", params={"session_id": draft})).json()["session"]
    assert session["message_count"] == 2  # nothing refused was stored


async def test_a_runtime_that_cannot_steer_says_so(chat_app: FastAPI, chat: httpx.AsyncClient) -> None:
    chat_app.state.services.runtimes.register(EchoRuntime())
    sid = await new_session(chat, runtime="echo")
    stream = await start(chat, sid, "slow")  # waits after its tool call until cancelled
    await read_events(chat, stream, until={"tool_complete"})
    assert await steer(chat, sid) == {"accepted": False, "fallback": "agent_lacks_steer", "stream_id": stream}
    await chat.post("/api/chat/cancel", json={"stream_id": stream})
    frames = await read_events(chat, stream)
    assert "pending_steer_leftover" not in [f[1] for f in frames]
    session = await wait_idle(chat, sid)
    assert STEER not in [m["content"] for m in session["messages"]]


async def test_steer_text_of_a_cancelled_run_comes_back(chat: httpx.AsyncClient, llm: ScriptedLLM) -> None:
    """Accepted text the run never took is not lost when the run is stopped: the stream hands it back
    before ``cancel``, for the client to send (the reference's "interrupt": queue, then stop)."""
    sid = await new_session(chat)
    llm.script(Turn(text=["a ", "b ", "c ", "d "], delay=0.5))
    stream = await start(chat, sid)
    frames = await read_events(chat, stream, until={"token"})
    assert (await steer(chat, sid))["accepted"] is True
    await asyncio.gather(chat.post("/api/chat/cancel", json={"stream_id": stream}),
                         read_events(chat, stream, after=frames[-1][0]))
    frames = await read_events(chat, stream)
    names = [f[1] for f in frames]
    assert names[-2:] == ["pending_steer_leftover", "cancel"]
    assert frames[-2][2] == {"session_id": sid, "text": STEER}
    await wait_idle(chat, sid)
