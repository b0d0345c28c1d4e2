"""Branches with real runs: an edit or a regenerated answer keeps the old version, the model is sent the
active path only, switching versions changes what it is sent, and every move waits for the live run."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from tests.llm_server import ScriptedLLM, Turn
from tests.runs.conftest import read_events, wait_idle
from threadline.store import tables as t


async def new_session(client: httpx.AsyncClient) -> str:
    session_id: str = (await client.post("/api/session/new", json={})).json()["session"]["session_id"]
    return session_id


async def turn(client: httpx.AsyncClient, sid: str, message: str, **extra: Any) -> dict[str, Any]:
    """Send a message (the scripted model echoes it) and wait for the stored answer."""
    r = await client.post("/api/chat/start", json={"session_id": sid, "message": message, **extra})
    assert r.status_code == 200, r.text
    frames = await read_events(client, r.json()["stream_id"])
    assert frames[-1][1] == "stream_end", frames[-3:]
    return await wait_idle(client, sid)


def sent_texts(llm: ScriptedLLM) -> list[tuple[str, str]]:
    """(role, text) of the history in the model's last request, the system prompt left out."""
    return [(m["role"], m["content"]) for m in llm.requests[-1]["messages"] if m["role"] != "system"]


def contents(session: dict[str, Any]) -> list[str]:
    return [m["content"] for m in session["messages"]]


async def test_edit_an_earlier_message_keeps_both_versions(
    chat_app: FastAPI, chat: httpx.AsyncClient, llm: ScriptedLLM
) -> None:
    sid = await new_session(chat)
    await turn(chat, sid, "first question")
    await turn(chat, sid, "second question")
    session = await turn(chat, sid, "third question")
    second = session["messages"][2]
    assert second["content"] == "second question" and "sibling_count" not in second

    # "Edit and resend": a new version of the second question starts a run on a new branch.
    edited = await turn(chat, sid, "second question, edited", edit_of=second["id"])
    assert contents(edited) == ["first question", "Echo: first question", "second question, edited",
                                "Echo: second question, edited"]
    assert sent_texts(llm) == [("user", "first question"), ("assistant", "Echo: first question"),
                               ("user", "second question, edited")]
    new = edited["messages"][2]
    assert new["parent_id"] == second["parent_id"] and new["seq"] == 2
    # The run's claim recorded where its turn branched from: the edited message's parent.
    async with chat_app.state.services.store.read() as conn:
        request = (await conn.execute(select(t.runs.c.request).where(t.runs.c.id == new["run_id"]))).scalar()
    assert request["branch_from"] == second["parent_id"]
    assert new["sibling_ids"] == [second["id"], new["id"]]
    assert (new["sibling_index"], new["sibling_count"]) == (1, 2)
    assert edited["message_count"] == 4

    versions = (await chat.get("/api/session/branches", params={"session_id": sid, "message_id": new["id"]})).json()
    assert versions["index"] == 1 and versions["count"] == 2
    assert [(v["preview"], v["active"]) for v in versions["versions"]] == [
        ("second question", False), ("second question, edited", True)]

    # Switching back shows the old version with everything that followed it, and the model sees it.
    switched = await chat.post("/api/session/branch", json={"session_id": sid, "message_id": second["id"]})
    assert switched.status_code == 200, switched.text
    old = switched.json()["session"]
    assert contents(old)[2:] == ["second question", "Echo: second question", "third question",
                                 "Echo: third question"]
    assert old["messages"][2]["sibling_index"] == 0 and old["message_count"] == 6
    after = await turn(chat, sid, "fourth question")
    assert sent_texts(llm)[-3:] == [("user", "third question"), ("assistant", "Echo: third question"),
                                    ("user", "fourth question")]
    assert "second question, edited" not in str(llm.requests[-1]["messages"])
    assert after["message_count"] == 8


async def test_regenerate_keeps_the_earlier_answers(chat: httpx.AsyncClient, llm: ScriptedLLM) -> None:
    sid = await new_session(chat)
    await turn(chat, sid, "tell me a joke")
    llm.script(Turn(text="A second joke."))
    r = await chat.post("/api/chat/regenerate", json={"session_id": sid})
    assert r.status_code == 200, r.text
    assert r.json()["session_id"] == sid
    frames = await read_events(chat, r.json()["stream_id"])
    done = next(f[2] for f in frames if f[1] == "done")
    # Hermes clients read the transcript from ``done``: the active path, in order.
    assert contents(done["session"]) == ["tell me a joke", "A second joke."]
    session = await wait_idle(chat, sid)
    question, answer = session["messages"]
    assert answer["sibling_count"] == 2 and answer["sibling_index"] == 1 and answer["parent_id"] == question["id"]
    assert "sibling_count" not in question
    # The model was asked the question again, without the first answer.
    assert sent_texts(llm) == [("user", "tell me a joke")]
    # The first answer is one switch away.
    first = answer["sibling_ids"][0]
    back = (await chat.post("/api/session/branch", json={"session_id": sid, "message_id": first})).json()
    assert contents(back["session"]) == ["tell me a joke", "Echo: tell me a joke"]

    # Regenerating a given user message's answer; a message that is not a user message is refused.
    llm.script(Turn(text="A third joke."))
    again = await chat.post("/api/chat/regenerate", json={"session_id": sid, "message_id": question["id"]})
    await read_events(chat, again.json()["stream_id"])
    session = await wait_idle(chat, sid)
    assert session["messages"][1]["sibling_count"] == 3
    wrong = await chat.post("/api/chat/regenerate", json={"session_id": sid, "message_id": first})
    assert wrong.status_code == 400 and "user message" in wrong.json()["error"]


async def test_hermes_retry_makes_a_new_version_of_the_turn(chat: httpx.AsyncClient, llm: ScriptedLLM) -> None:
    """Hermes WebUI's retry: the server moves the path back and answers the text, the client sends it
    again; nothing is deleted."""
    sid = await new_session(chat)
    await turn(chat, sid, "hello")
    retry = (await chat.post("/api/session/retry", json={"session_id": sid})).json()
    assert retry == {"ok": True, "last_user_text": "hello", "removed_count": 2}
    llm.script(Turn(text="Hello again."))
    session = await turn(chat, sid, retry["last_user_text"])
    assert contents(session) == ["hello", "Hello again."]
    assert session["messages"][0]["sibling_count"] == 2
    assert sent_texts(llm) == [("user", "hello")]


async def test_moves_are_refused_while_a_run_is_live(chat: httpx.AsyncClient, llm: ScriptedLLM) -> None:
    sid = await new_session(chat)
    session = await turn(chat, sid, "one")
    first = session["messages"][0]
    llm.script(Turn(text=[f"w{i} " for i in range(40)], delay=0.03))
    stream_id = (await chat.post("/api/chat/start", json={"session_id": sid, "message": "two"})).json()["stream_id"]
    attempts = {
        "/api/session/branch": {"message_id": first["id"]},
        "/api/chat/regenerate": {},
        "/api/chat/start": {"message": "one, edited", "edit_of": first["id"]},
    }
    for path, body in attempts.items():
        r = await chat.post(path, json={"session_id": sid, **body})
        assert r.status_code == 409, (path, r.text)
        assert r.json()["active_stream_id"] == stream_id
    # An edit is not queued behind the run either: it would move the path the run writes to.
    queued = await chat.post("/api/chat/start",
                             json={"session_id": sid, "message": "x", "edit_of": first["id"], "queue": True})
    assert queued.status_code == 409
    await read_events(chat, stream_id)
    session = await wait_idle(chat, sid)
    assert contents(session)[2] == "two" and "sibling_count" not in session["messages"][0]
    run = (await chat.get("/api/chat/stream/status", params={"stream_id": stream_id})).json()
    assert run["active"] is False


async def test_edit_of_is_checked(chat: httpx.AsyncClient, llm: ScriptedLLM) -> None:
    sid = await new_session(chat)
    session = await turn(chat, sid, "question")
    answer = session["messages"][1]
    other = await new_session(chat)
    await turn(chat, other, "elsewhere")
    cases = [
        ({"session_id": sid, "edit_of": answer["id"]}, 400),  # not a user message
        ({"session_id": other, "edit_of": session["messages"][0]["id"]}, 404),  # another session's
        ({"session_id": sid, "edit_of": 10**12}, 404),
        ({"session_id": sid, "edit_of": 0}, 400),
        ({"session_id": sid, "edit_of": "two"}, 400),
        ({"session_id": sid, "edit_of": 2**63}, 400),
    ]
    for body, status in cases:
        r = await chat.post("/api/chat/start", json={"message": "m", **body})
        assert r.status_code == status, (body, r.text)
        assert "error" in r.json()
    after = (await chat.get("/api/session", params={"session_id": sid})).json()["session"]
    assert contents(after) == contents(session)
