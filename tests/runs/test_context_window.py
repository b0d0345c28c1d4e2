"""Context that never overflows (issue 14 item 3): compaction into a summary row, /compress, tool
results cut to the budget, and the gauge, through the real SDKs against the scripted LLM server."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.llm_server import ScriptedLLM, Turn
from tests.runs.conftest import read_events, wait_idle

WINDOW = 4096


def estimate(request: dict[str, Any]) -> int:
    """A rough, independent size of a request: its JSON (messages, system, tools) at 4 bytes a token."""
    parts = [request.get("messages"), request.get("system"), request.get("tools")]
    return len(json.dumps(parts, ensure_ascii=False).encode()) // 4


async def long_session(chat: httpx.AsyncClient, count: int = 200) -> tuple[str, list[str]]:
    texts = [f"Message {i}: " + ("we talked about the harbour, the tides and the boats. " * 2) for i in range(count)]
    messages = [{"role": "user" if i % 2 == 0 else "assistant", "content": text} for i, text in enumerate(texts)]
    r = await chat.post("/api/session/import", json={"title": "Long", "messages": messages})
    assert r.status_code == 200, r.text
    return r.json()["session"]["session_id"], texts


async def set_window(chat: httpx.AsyncClient, window: int = WINDOW) -> None:
    r = await chat.post("/api/settings", json={"context_windows": {"openai/test-model": window}})
    assert r.status_code == 200, r.text


def chat_requests(llm: ScriptedLLM) -> list[dict[str, Any]]:
    """The requests of the agent's turns (they carry tool definitions; summarising calls do not)."""
    return [r for r in llm.requests if r.get("tools")]


async def turn(chat: httpx.AsyncClient, sid: str, message: str, **extra: Any) -> list[Any]:
    r = await chat.post("/api/chat/start", json={"session_id": sid, "message": message, **extra})
    assert r.status_code == 200, r.text
    frames = await read_events(chat, r.json()["stream_id"])
    assert frames[-1][1] == "stream_end", frames[-3:]
    return frames


async def test_a_long_session_is_compacted_to_fit_and_keeps_every_message(chat, llm):
    sid, texts = await long_session(chat)
    await set_window(chat)
    frames = await turn(chat, sid, "What did we talk about?")
    names = [f[1] for f in frames]
    assert "compressing" in names and "compressed" in names
    status = [f[2] for f in frames if f[1] == "context_status"][-1]
    assert status["limit"] == WINDOW and status["source"] == "setting" and status["used"] <= status["budget"]

    sent = chat_requests(llm)[-1]
    assert estimate(sent) <= WINDOW, estimate(sent)
    first = sent["messages"][1]  # after the system prompt
    assert first["role"] == "user" and first["content"].startswith("[Summary of the")
    assert sent["messages"][-1]["content"] == "What did we talk about?"
    assert not any(m.get("content") == texts[0] for m in sent["messages"])
    summarising = [r for r in llm.requests if not r.get("tools")]
    assert summarising and all(estimate(r) <= WINDOW for r in summarising)

    session = (await chat.get("/api/session", params={"session_id": sid})).json()["session"]
    contents = [m["content"] for m in session["messages"]]
    assert contents[:200] == texts  # every original is still stored and returned, in order
    summary = next(m for m in session["messages"] if m.get("summary"))
    assert summary["summary"]["count"] >= 100 and summary["seq"] == 201
    assert session["context"]["limit"] == WINDOW and session["context"]["used"] <= session["context"]["budget"]
    found = (await chat.get("/api/sessions/search", params={"q": "Message 3:"})).json()
    assert any(s["session_id"] == sid for s in found["sessions"])

    # The next turn starts from the stored summary: no new summary while it fits.
    llm.reset()
    frames = await turn(chat, sid, "And then?")
    assert "compressed" not in [f[1] for f in frames]
    sent = chat_requests(llm)[-1]
    assert sent["messages"][1]["content"] == summary["content"]
    assert estimate(sent) <= WINDOW


async def test_compress_on_demand(chat, llm):
    messages = [{"role": r, "content": f"{r} line {i}"} for i, r in enumerate(["user", "assistant"] * 3)]
    sid = (await chat.post("/api/session/import", json={"messages": messages})).json()["session"]["session_id"]
    llm.script(Turn(text="They said six lines."))
    r = await chat.post("/api/session/compress", json={"session_id": sid, "focus_topic": "the lines"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["summary"] == "They said six lines." and body["focus_topic"] == "the lines"
    asked = llm.requests[-1]
    assert "the lines" in asked["messages"][-1]["content"] and "user line 0" in asked["messages"][-1]["content"]
    rows = body["session"]["messages"]
    assert len(rows) == 7 and rows[-1]["summary"] == {"count": 5, "through_seq": 4}
    assert body["session"]["context"]["used"] > 0

    llm.reset()
    await turn(chat, sid, "next")
    sent = chat_requests(llm)[-1]["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert sent[1]["content"].endswith("They said six lines.") and sent[2]["content"] == "assistant line 5"


async def test_compress_refuses_what_it_cannot_do(chat, llm):
    r = await chat.post("/api/session/compress", json={"session_id": "0123456789ab"})
    assert r.status_code == 404
    sid = (await chat.post("/api/session/import",
                           json={"messages": [{"role": "user", "content": "hi"}]})).json()["session"]["session_id"]
    r = await chat.post("/api/session/compress", json={"session_id": sid})
    assert r.status_code == 400 and "at least 4" in r.json()["error"]
    r = await chat.post("/api/session/compress", json={"session_id": sid, "focus_topic": "x" * 501})
    assert r.status_code == 400
    r = await chat.post("/api/session/compress", json={"session_id": sid, "focus_topic": 5})
    assert r.status_code == 400
    for bad in ({"context_windows": {"m": 10}}, {"context_windows": [1]}, {"vision_models": {"m": "yes"}}):
        assert (await chat.post("/api/settings", json=bad)).status_code == 400
    assert not llm.requests


async def test_a_tool_result_too_large_for_the_window_is_cut_with_a_note(chat, llm, chat_settings):
    (chat_settings.resolved_default_workspace / "big.txt").write_text("".join(f"line {i}\n" for i in range(5000)))
    await set_window(chat)
    llm.script(Turn(tool_calls=[("read_file", {"path": "big.txt"})]), Turn(text="Read it."))
    sid = (await chat.post("/api/session/new", json={})).json()["session"]["session_id"]
    await turn(chat, sid, "read big.txt")
    sent = chat_requests(llm)[-1]
    result = next(m for m in sent["messages"] if m["role"] == "tool")["content"]
    assert "larger than the model's context window allows" in result
    assert result.startswith("line 0") or "line 0" in result[:200]
    assert estimate(sent) <= WINDOW
    session = await wait_idle(chat, sid)
    stored = next(m for m in session["messages"] if m["role"] == "tool")["content"]
    assert len(stored) > len(result)  # the stored result keeps the full output
