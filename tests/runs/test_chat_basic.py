"""A turn end to end: stored user message, streamed tokens, tool use, stored answer."""

from __future__ import annotations

from tests.llm_server import Turn
from tests.runs.conftest import read_events, wait_idle


async def new_session(client) -> str:
    return (await client.post("/api/session/new", json={})).json()["session"]["session_id"]


async def test_turn_streams_tokens_and_stores_answer(chat, llm):
    llm.script(Turn(text="Hello there, friend.", chunk=3))
    sid = await new_session(chat)
    r = await chat.post("/api/chat/start", json={"session_id": sid, "message": "Say hello"})
    assert r.status_code == 200, r.text
    stream_id = r.json()["stream_id"]
    frames = await read_events(chat, stream_id)
    names = [f[1] for f in frames]
    assert names[0] == "token" and "done" in names and names[-1] == "stream_end"
    assert "".join(f[2]["text"] for f in frames if f[1] == "token") == "Hello there, friend."
    assert [int(f[0].split(":")[1]) for f in frames] == list(range(1, len(frames) + 1))
    session = await wait_idle(chat, sid)
    roles = [(m["role"], m["content"]) for m in session["messages"]]
    assert roles == [("user", "Say hello"), ("assistant", "Hello there, friend.")]
    assert session["title"] == "Say hello"
    listed = (await chat.get("/api/sessions")).json()["sessions"]
    assert [s["session_id"] for s in listed] == [sid]


async def test_tool_use_is_stored_as_rows(chat, llm, chat_settings):
    llm.script(
        Turn(tool_calls=[("write_file", {"path": "notes.txt", "content": "alpha"})]),
        Turn(tool_calls=[("read_file", {"path": "notes.txt"})]),
        Turn(text="The file says alpha."),
    )
    sid = await new_session(chat)
    stream_id = (await chat.post("/api/chat/start", json={"session_id": sid, "message": "write"})).json()["stream_id"]
    frames = await read_events(chat, stream_id)
    assert [f[2]["name"] for f in frames if f[1] == "tool_complete"] == ["write_file", "read_file"]
    session = await wait_idle(chat, sid)
    roles = [m["role"] for m in session["messages"]]
    assert roles == ["user", "assistant", "tool", "assistant", "tool", "assistant"]
    assert session["messages"][-1]["content"] == "The file says alpha."
    assert (chat_settings.resolved_default_workspace / "notes.txt").read_text() == "alpha"
