"""btw side questions and background tasks: answers kept, delivered once, never listed."""

from __future__ import annotations

import asyncio
import signal
import time

import httpx
import pytest

from tests.llm_server import Turn
from tests.runs.conftest import llm_env, read_events, serve, wait_idle
from tests.runs.test_crash import free_port, start_server
from threadline.web.app import create_app


async def new_session(client) -> str:
    return (await client.post("/api/session/new", json={})).json()["session"]["session_id"]


async def turn(client, sid: str, message: str) -> None:
    r = await client.post("/api/chat/start", json={"session_id": sid, "message": message})
    assert r.status_code == 200, r.text
    await read_events(client, r.json()["stream_id"])
    await wait_idle(client, sid)


def all_text(request: dict) -> str:
    return str(request.get("messages")) + str(request.get("system", ""))


async def test_btw_is_kept_after_restart_and_never_sent_to_the_model(chat_settings, llm):
    app = create_app(chat_settings, env=llm_env(llm))
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        sid = await new_session(client)
        llm.script(Turn(text="The capital is Paris."))
        await turn(client, sid, "What is the capital of France?")
        llm.script(Turn(text="Side answer about zebras."))
        r = await client.post("/api/btw", json={"session_id": sid, "question": "unrelated: zebras?"})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["parent_session_id"] == sid and body["session_id"] != sid
        frames = await read_events(client, body["stream_id"])
        assert "".join(f[2]["text"] for f in frames if f[1] == "token") == "Side answer about zebras."
        done = next(f[2] for f in frames if f[1] == "done")
        assert done["ephemeral"] is True and done["answer"] == "Side answer about zebras."
        # The btw run saw the parent's conversation, and had no tools.
        btw_request = llm.requests[-1]
        assert "capital of France" in all_text(btw_request) and not btw_request.get("tools")
    # Restart: a new app on the same home.
    app = create_app(chat_settings, env=llm_env(llm))
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        session = (await client.get("/api/session", params={"session_id": sid})).json()["session"]
        side = [m for m in session["messages"] if m.get("side") == "btw"]
        assert [(m["role"], m["content"]) for m in side] == [
            ("user", "unrelated: zebras?"), ("assistant", "Side answer about zebras.")]
        assert all(m["in_context"] is False for m in side)
        llm.script(Turn(text="Next answer."))
        await turn(client, sid, "And Germany?")
        assert "zebras" not in all_text(llm.requests[-1])
        listed = (await client.get("/api/sessions", params={"archived": "all"})).json()["sessions"]
        assert [s["session_id"] for s in listed] == [sid]
        found = (await client.get("/api/sessions/search", params={"q": "zebras"})).json()
        assert all(s["session_id"] == sid for s in found["sessions"])


async def test_btw_while_the_parent_runs(chat, llm):
    sid = await new_session(chat)
    main = await chat.post("/api/chat/start", json={"session_id": sid, "message": "slow [[tokens=40 delay=0.03]]"})
    stream_id = main.json()["stream_id"]
    llm.script()  # directives answer the main turn; the btw gets the echo answer
    r = await chat.post("/api/btw", json={"session_id": sid, "question": "quick one"})
    assert r.status_code == 200, r.text
    btw_frames = await read_events(chat, r.json()["stream_id"])
    assert btw_frames[-1][1] == "stream_end"
    main_frames = await read_events(chat, stream_id)
    assert len([f for f in main_frames if f[1] == "token"]) == 40
    session = await wait_idle(chat, sid)
    assert [m["content"] for m in session["messages"] if m.get("side") == "btw"][0] == "quick one"
    assert session["messages"][-1]["content"].startswith("t0") or any(
        m["content"].startswith("t0") for m in session["messages"])


async def test_background_answer_reaches_parent_exactly_once(chat, llm):
    sid = await new_session(chat)
    llm.script(Turn(text="first answer"))
    await turn(chat, sid, "hello")
    llm.script(Turn(tool_calls=[("write_file", {"path": "bg.txt", "content": "made in background"})]),
               Turn(text="Background work finished: wrote bg.txt"))
    r = await chat.post("/api/background", json={"session_id": sid, "prompt": "write bg.txt please"})
    assert r.status_code == 200, r.text
    task = r.json()
    assert len(task["task_id"]) == 8
    # Poll the status many times while it runs and after; reload the parent each time.
    for _ in range(200):
        status = (await chat.get("/api/background/status", params={"session_id": sid})).json()
        await chat.get("/api/session", params={"session_id": sid})
        if status["tasks"][0]["status"] != "running" and status["tasks"][0]["delivered"]:
            break
        await asyncio.sleep(0.02)
    for _ in range(5):
        await chat.get("/api/background/status", params={"session_id": sid})
    session = (await chat.get("/api/session", params={"session_id": sid})).json()["session"]
    results = [m for m in session["messages"] if m.get("background")]
    assert len(results) == 1
    assert "Background work finished" in results[0]["content"] and results[0].get("in_context", True)
    # The result is part of the model's context from now on.
    llm.script(Turn(text="ok"))
    await turn(chat, sid, "what did the background task do?")
    assert "Background work finished" in all_text(llm.requests[-1])
    # The background session can be opened, and is never listed.
    hidden = (await chat.get("/api/session", params={"session_id": task["session_id"]})).json()["session"]
    assert hidden["kind"] == "background" and hidden["parent_id"] == sid
    assert [m["role"] for m in hidden["messages"]] == ["user", "assistant", "tool", "assistant"]
    listed = (await chat.get("/api/sessions", params={"archived": "all"})).json()["sessions"]
    assert [s["session_id"] for s in listed] == [sid]


async def test_background_result_waits_for_the_parents_run(chat, llm):
    sid = await new_session(chat)
    main = await chat.post("/api/chat/start", json={"session_id": sid, "message": "slow [[tokens=30 delay=0.04]]"})
    r = await chat.post("/api/background", json={"session_id": sid, "prompt": "quick task"})
    assert r.status_code == 200
    await read_events(chat, r.json()["stream_id"])
    await read_events(chat, main.json()["stream_id"])
    for _ in range(100):
        session = (await chat.get("/api/session", params={"session_id": sid})).json()["session"]
        if any(m.get("background") for m in session["messages"]):
            break
        await asyncio.sleep(0.03)
    roles = [(m["role"], bool(m.get("background"))) for m in session["messages"]]
    # The result comes after the parent's turn, never inside it.
    assert roles == [("user", False), ("assistant", False), ("assistant", True)]


async def test_cancel_background_task(chat, llm):
    sid = await new_session(chat)
    llm.script(Turn(text="x"))
    await turn(chat, sid, "hi")
    r = await chat.post("/api/background", json={"session_id": sid, "prompt": "long [[tokens=200 delay=0.03]]"})
    task = r.json()
    await read_events(chat, task["stream_id"], limit=3)
    cancelled = await chat.post("/api/background/cancel", json={"task_id": task["task_id"]})
    assert cancelled.json()["cancelled"] is True
    status = (await chat.get("/api/background/status", params={"session_id": sid})).json()
    assert status["tasks"][0]["status"] == "cancelled"
    session = (await chat.get("/api/session", params={"session_id": sid})).json()["session"]
    marker = session["messages"][-1]
    assert marker["background"]["status"] == "cancelled" and marker["in_context"] is False
    assert (await chat.post("/api/background/cancel", json={"task_id": "nope"})).status_code == 404


async def test_deleting_the_parent_deletes_btw_and_background_sessions(chat, llm):
    sid = await new_session(chat)
    llm.script(Turn(text="x"))
    await turn(chat, sid, "hi")
    btw = (await chat.post("/api/btw", json={"session_id": sid, "question": "q"})).json()
    await read_events(chat, btw["stream_id"])
    bg = (await chat.post("/api/background", json={"session_id": sid, "prompt": "long [[tokens=300 delay=0.02]]"}))
    assert (await chat.post("/api/session/delete", json={"session_id": sid})).json()["deleted"] is True
    for child in (btw["session_id"], bg.json()["session_id"]):
        assert (await chat.get("/api/session", params={"session_id": child})).status_code == 404


async def test_btw_and_background_errors(chat):
    assert (await chat.post("/api/btw", json={"session_id": "abc", "question": "q"})).status_code == 404
    assert (await chat.post("/api/btw", json={"session_id": "abc"})).status_code == 400
    assert (await chat.post("/api/background", json={"session_id": "abc", "prompt": ""})).status_code == 400
    assert (await chat.get("/api/background/status", params={"session_id": "abc"})).json()["tasks"] == []


@pytest.mark.slow
def test_restart_during_background_task_marks_it_interrupted(tmp_path, llm_session):
    llm = llm_session
    home, port = tmp_path / "home", free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(home, port, llm)
    try:
        sid = httpx.post(f"{base}/api/session/new", json={}, timeout=30).json()["session"]["session_id"]
        httpx.post(f"{base}/api/session/rename", json={"session_id": sid, "title": "parent"}, timeout=30)
        task = httpx.post(f"{base}/api/background",
                          json={"session_id": sid, "prompt": "long [[tokens=200 delay=0.05]]"}, timeout=30).json()
        time.sleep(1.0)
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
    finally:
        if server.poll() is None:
            server.kill()
    server = start_server(home, port, llm)
    try:
        status = httpx.get(f"{base}/api/background/status", params={"session_id": sid}, timeout=30).json()
        assert status["tasks"][0]["status"] == "interrupted"
        session = httpx.get(f"{base}/api/session", params={"session_id": sid}, timeout=30).json()["session"]
        notes = [m for m in session["messages"] if m.get("background")]
        assert len(notes) == 1 and "interrupted" in notes[0]["content"]
        hidden = httpx.get(f"{base}/api/session", params={"session_id": task["session_id"]},
                           timeout=30).json()["session"]
        assert hidden["active_stream_id"] is None
        for _ in range(3):  # polling again delivers nothing twice
            httpx.get(f"{base}/api/background/status", params={"session_id": sid}, timeout=30)
        session = httpx.get(f"{base}/api/session", params={"session_id": sid}, timeout=30).json()["session"]
        assert len([m for m in session["messages"] if m.get("background")]) == 1
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=15)
