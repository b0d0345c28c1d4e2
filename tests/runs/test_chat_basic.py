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
    assert names[0] == "context_status"  # the gauge: how full the window is, before the model call
    assert names[1] == "token" and "done" in names and names[-1] == "stream_end"
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


async def test_llm_written_title_replaces_the_provisional_one(chat, llm):
    assert (await chat.post("/api/settings", json={"llm_titles": True})).status_code == 200
    llm.script(Turn(text="Answer."), Turn(text='"Planning a Trip to Lisbon."'))
    sid = await new_session(chat)
    stream_id = (await chat.post("/api/chat/start",
                                 json={"session_id": sid, "message": "help me plan lisbon"})).json()["stream_id"]
    frames = await read_events(chat, stream_id)
    titles = [f[2]["title"] for f in frames if f[1] == "title"]
    assert titles == ["help me plan lisbon", "Planning a Trip to Lisbon"]
    assert frames[-1][1] == "stream_end"
    session = await wait_idle(chat, sid)
    assert session["title"] == "Planning a Trip to Lisbon"


async def test_models_and_providers_api(chat, llm):
    models = (await chat.get("/api/models")).json()
    assert models["providers"][0]["models"] == ["test-model", "test-model-2"]
    assert models["default_model"] == "openai/test-model"
    providers = (await chat.get("/api/providers")).json()["providers"]
    assert providers[0]["api_key"] != "test-key" and "test-key" not in str(providers)
    r = await chat.post("/api/providers", json={"id": "local", "kind": "openai", "base_url": llm.openai_url,
                                                "api_key": "sk-secret-value-123456"})
    assert r.status_code == 200 and "sk-secret-value-123456" not in r.text
    ok = (await chat.post("/api/providers/test", json={"kind": "openai", "base_url": llm.openai_url,
                                                       "api_key": "k"})).json()
    assert ok["ok"] is True and "test-model" in ok["models"]
    bad = (await chat.post("/api/providers/test", json={"kind": "openai", "base_url": llm.openai_url,
                                                        "api_key": "bad-key"})).json()
    assert bad["ok"] is False and bad["type"] == "auth"
    assert (await chat.post("/api/providers", json={"id": "x", "base_url": "ftp://x"})).status_code == 400
    assert (await chat.post("/api/providers/delete", json={"id": "local"})).status_code == 200
    assert (await chat.post("/api/providers/delete", json={"id": "local"})).status_code == 404
    sid = await new_session(chat)
    r = await chat.post("/api/chat/start", json={"session_id": sid, "message": "x", "model": "openai/no-such-model"})
    frames = await read_events(chat, r.json()["stream_id"])
    assert frames[-1][1] == "apperror" and frames[-1][2]["type"] == "model_not_found"
