"""YOLO mode (issue 17 item 4): ``POST /api/session/yolo`` turns approvals off for one session through
the one approval policy, releases the calls already waiting, is recorded (the session's ``extra``, a
notice, the list's feed) and ends with a restart unless ``yolo_survives_restart`` is on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import make_settings
from tests.llm_server import ScriptedLLM, Turn
from tests.runs.conftest import read_events, serve, wait_idle
from tests.runs.test_approvals_api import new_session, shell_turn
from threadline.web.app import create_app


async def set_yolo(client: httpx.AsyncClient, sid: str, enabled: Any) -> httpx.Response:
    return await client.post("/api/session/yolo", json={"session_id": sid, "enabled": enabled})


async def test_yolo_turns_approvals_off_for_one_session_only(chat: httpx.AsyncClient, llm: ScriptedLLM) -> None:
    sid, other = await new_session(chat), await new_session(chat)
    r = await set_yolo(chat, sid, True)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ok"] and body["yolo"] is True and body["session_id"] == sid and isinstance(body["enabled_at"], float)

    events = await shell_turn(chat, llm, sid, "touch made-by-yolo")  # not asked
    assert "approval" not in events and "tool_complete" in events
    session = (await chat.get("/api/session", params={"session_id": sid})).json()["session"]
    assert session["yolo"] is True and session["extra"]["yolo"]["enabled_at"] == body["enabled_at"]
    assert "approval" in await shell_turn(chat, llm, other, "touch elsewhere", "deny")  # only that session

    again = (await set_yolo(chat, sid, True)).json()  # idempotent: the first time stays
    assert again["enabled_at"] == body["enabled_at"]
    assert (await set_yolo(chat, sid, False)).json()["yolo"] is False
    assert "approval" in await shell_turn(chat, llm, sid, "touch after", "deny")
    session = (await chat.get("/api/session", params={"session_id": sid})).json()["session"]
    assert session["yolo"] is False and "yolo" not in session.get("extra", {})

    notices = (await chat.get("/api/notices")).json()["notices"]
    assert [(n["kind"], n["title"], n["session_id"]) for n in notices if n["kind"] == "yolo"] == [
        ("yolo", "Approvals are back on in this chat", sid), ("yolo", "Approvals are off in this chat", sid)]


async def test_yolo_releases_the_call_waiting_now(chat: httpx.AsyncClient, llm: ScriptedLLM) -> None:
    sid = await new_session(chat)
    llm.script(Turn(tool_calls=[("run_shell", {"command": "touch waited"})]), Turn(text="done"))
    stream = (await chat.post("/api/chat/start", json={"session_id": sid, "message": "go"})).json()["stream_id"]
    frames = await read_events(chat, stream, until={"approval"})
    assert frames[-1][1] == "approval"
    assert (await set_yolo(chat, sid, True)).json()["released"] == 1
    rest = await read_events(chat, stream, after=frames[-1][0])
    assert rest[-1][1] == "stream_end"
    tool = next(f[2] for f in rest if f[1] == "tool_complete")
    assert not tool["is_error"] and "approval" not in tool
    await wait_idle(chat, sid)


async def test_yolo_refuses_bad_input(chat: httpx.AsyncClient) -> None:
    sid = await new_session(chat)
    for body in ({}, {"session_id": sid}, {"enabled": True}, {"session_id": sid, "enabled": "maybe"},
                 {"session_id": sid, "enabled": None}, {"session_id": 5, "enabled": True}):
        r = await chat.post("/api/session/yolo", json=body)
        assert 400 <= r.status_code < 500 and r.json()["error"], body
    r = await set_yolo(chat, "nosuchsession", True)
    assert r.status_code == 404 and r.json()["error"]
    session = (await chat.get("/api/session", params={"session_id": sid})).json()["session"]
    assert session["yolo"] is False


@pytest.mark.parametrize("survives", [False, True])
async def test_yolo_ends_with_a_restart_unless_configured(home: Path, llm: ScriptedLLM, survives: bool) -> None:
    settings = make_settings(home, default_model="openai/test-model", yolo_survives_restart=survives)
    env = {"OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": llm.openai_url}
    async with serve(create_app(settings, env=env)) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        sid, idle = await new_session(client), await new_session(client)
        await shell_turn(client, llm, sid, "echo one", "once")  # a real session with messages
        assert (await set_yolo(client, sid, True)).json()["yolo"] is True
        assert (await set_yolo(client, idle, True)).json()["yolo"] is True
        assert (await set_yolo(client, idle, False)).json()["yolo"] is False
    async with serve(create_app(settings, env=env)) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        session = (await client.get("/api/session", params={"session_id": sid})).json()["session"]
        assert session["yolo"] is survives
        events = await shell_turn(client, llm, sid, "echo two", "deny")
        assert ("approval" in events) is not survives
        restart_notices = [n for n in (await client.get("/api/notices")).json()["notices"]
                           if n["kind"] == "yolo" and "restarted" in n["body"]]
        assert [n["session_id"] for n in restart_notices] == ([] if survives else [sid])
