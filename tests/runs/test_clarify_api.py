"""Clarify over the API (issue 14 item 5): the scripted model asks through the ``clarify`` tool, the run
waits, and the answer (a choice, free text, or none in time) goes back to the model as the tool's
result; the question shows as "needs input", replays after a reload, and is stored as the tool call
and its result."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.llm_server import ScriptedLLM, Turn
from tests.runs.conftest import read_events, wait_idle
from tests.sse import Frame
from threadline.agent.runtime import RunContext, RunSink, RuntimeResult
from threadline.agent.tools.clarify import NO_ANSWER
from threadline.runs.live import Flush
from threadline.store import tables as t

QUESTION = "Which database should the service use?"
CHOICES = ["PostgreSQL", "SQLite"]


async def new_session(client: httpx.AsyncClient, **body: Any) -> str:
    return str((await client.post("/api/session/new", json=body)).json()["session"]["session_id"])


async def ask(client: httpx.AsyncClient, llm: ScriptedLLM, sid: str,
              args: dict[str, Any] | None = None) -> tuple[str, list[Frame]]:
    """Start a turn whose model asks ``args`` (QUESTION with CHOICES by default); read until it waits."""
    llm.script(Turn(tool_calls=[("clarify", args or {"question": QUESTION, "choices": CHOICES})],
                    call_ids=["call_ask"]),
               Turn(text="Understood."))
    r = await client.post("/api/chat/start", json={"session_id": sid, "message": "set up the service"})
    assert r.status_code == 200, r.text
    stream = str(r.json()["stream_id"])
    return stream, await read_events(client, stream, until={"clarify"})


async def pending(client: httpx.AsyncClient, sid: str) -> dict[str, Any]:
    r = await client.get("/api/clarify/pending", params={"session_id": sid})
    assert r.status_code == 200, r.text
    return dict(r.json())


async def flags(client: httpx.AsyncClient, sid: str) -> tuple[bool, bool]:
    """``pending_clarify`` of the session, and of its row in the list."""
    one = (await client.get("/api/session", params={"session_id": sid, "messages": 0})).json()["session"]
    row = next(s for s in (await client.get("/api/sessions")).json()["sessions"] if s["session_id"] == sid)
    return one["pending_clarify"], row["pending_clarify"]


def tool_result_sent(llm: ScriptedLLM) -> str:
    """The result of the last question in the model's last request."""
    messages = llm.requests[-1]["messages"]
    return str([m["content"] for m in messages if m.get("role") == "tool" and m["tool_call_id"] == "call_ask"][-1])


async def test_answered_with_a_choice(chat: httpx.AsyncClient, llm: ScriptedLLM) -> None:
    sid = await new_session(chat)
    stream, frames = await ask(chat, llm, sid)
    assert [f[1] for f in frames][-2:] == ["tool", "clarify"]
    event = frames[-1][2]
    assert event["question"] == QUESTION and event["choices_offered"] == CHOICES
    assert event["kind"] == "clarify" and event["session_id"] == sid and event["stream_id"] == stream
    waiting = await pending(chat, sid)
    assert waiting["pending"] == event and waiting["pending_count"] == 1
    assert await flags(chat, sid) == (True, True)  # "needs input", in the session and the list
    assert "pending_clarify" not in (await chat.get("/api/session", params={"session_id": sid})).json()[
        "session"].get("extra", {})

    r = await chat.post("/api/clarify/respond", json={"session_id": sid, "choice": "SQLite"})
    assert r.status_code == 200
    assert r.json() == {"ok": True, "response": "SQLite", "matched": True, "clarify_id": event["clarify_id"]}
    rest = await read_events(chat, stream, after=frames[-1][0])
    complete = next(f[2] for f in rest if f[1] == "tool_complete")
    assert complete["name"] == "clarify" and complete["result"] == "SQLite" and not complete["is_error"]
    assert rest[-1][1] == "stream_end"
    assert tool_result_sent(llm) == "SQLite"

    session = await wait_idle(chat, sid)
    assert session["pending_clarify"] is False and (await pending(chat, sid))["pending"] is None
    call, result = session["messages"][1:3]  # the question and the answer are the tool call and its result
    assert call["tool_calls"][0]["name"] == "clarify"
    assert call["tool_calls"][0]["arguments"] == {"question": QUESTION, "choices": CHOICES}
    assert (result["role"], result["tool_call_id"], result["content"]) == ("tool", "call_ask", "SQLite")
    assert session["messages"][-1]["content"] == "Understood."


async def test_answered_in_free_text_under_each_name(chat: httpx.AsyncClient, llm: ScriptedLLM) -> None:
    sid = await new_session(chat)
    for field in ("response", "answer"):
        stream, frames = await ask(chat, llm, sid, {"question": "Anything else?"})
        assert frames[-1][2]["choices_offered"] == []
        text = f"Use MariaDB ({field})"
        r = await chat.post("/api/clarify/respond", json={"session_id": sid, field: text})
        assert r.json()["response"] == text and r.json()["matched"] is True
        await read_events(chat, stream, after=frames[-1][0])
        assert tool_result_sent(llm) == text
        session = await wait_idle(chat, sid)
        assert session["messages"][-2]["content"] == text


async def test_empty_or_missing_answers_are_refused_and_change_nothing(chat: httpx.AsyncClient,
                                                                       llm: ScriptedLLM) -> None:
    sid = await new_session(chat)
    stream, frames = await ask(chat, llm, sid)
    for body in ({"session_id": sid}, {"session_id": sid, "response": ""}, {"session_id": sid, "response": "  \n"},
                 {"session_id": sid, "answer": "", "choice": " "}):
        r = await chat.post("/api/clarify/respond", json=body)
        assert r.status_code == 400 and r.json()["error"], body
    r = await chat.post("/api/clarify/respond", json={"response": "SQLite"})
    assert r.status_code == 400  # no session id
    r = await chat.post("/api/clarify/respond", json={"session_id": sid, "response": "x" * 20_001})
    assert r.status_code == 400
    assert (await pending(chat, sid))["pending"]["clarify_id"] == frames[-1][2]["clarify_id"]  # still waiting
    # An answer for a session where nothing waits is not an error, and matches nothing.
    other = await new_session(chat)
    r = await chat.post("/api/clarify/respond", json={"session_id": other, "response": "hello"})
    assert r.status_code == 200 and r.json() == {"ok": True, "response": "hello", "matched": False}
    await chat.post("/api/clarify/respond", json={"session_id": sid, "response": "PostgreSQL"})
    await read_events(chat, stream, after=frames[-1][0])
    await wait_idle(chat, sid)


async def test_no_answer_in_time_tells_the_model_to_use_its_judgement(
    chat_app: FastAPI, chat: httpx.AsyncClient, llm: ScriptedLLM
) -> None:
    chat_app.state.services.runs.clarify.timeout = 0.5
    sid = await new_session(chat)
    stream, frames = await ask(chat, llm, sid)
    rest = await read_events(chat, stream, after=frames[-1][0])
    complete = next(f[2] for f in rest if f[1] == "tool_complete")
    assert complete["result"] == NO_ANSWER and not complete["is_error"]
    assert rest[-1][1] == "stream_end"
    assert tool_result_sent(llm) == NO_ANSWER
    session = await wait_idle(chat, sid)
    assert session["pending_clarify"] is False and session["messages"][2]["content"] == NO_ANSWER
    assert (await pending(chat, sid))["pending"] is None


async def test_the_question_survives_a_reload(chat_app: FastAPI, chat: httpx.AsyncClient, llm: ScriptedLLM) -> None:
    """A page that reloads replays the stream from the start and finds the question, which the
    server still holds; it is stored at once, so another instance can replay it too."""
    sid = await new_session(chat)
    stream, frames = await ask(chat, llm, sid)
    event = frames[-1][2]
    replay = await read_events(chat, stream, until={"clarify"})
    assert replay[-1] == frames[-1]
    store = chat_app.state.services.store
    async with store.read() as conn:
        stored = (await conn.execute(t.run_events.select().where(t.run_events.c.run_id == stream,
                                                                 t.run_events.c.type == "clarify"))).first()
    assert stored is not None and stored.data == event
    session = (await chat.get("/api/session", params={"session_id": sid})).json()["session"]
    assert session["active_stream_id"] == stream and session["pending_clarify"] is True
    assert (await pending(chat, sid))["pending"] == event
    await chat.post("/api/clarify/respond", json={"session_id": sid, "clarify_id": event["clarify_id"],
                                                  "response": "PostgreSQL"})
    await read_events(chat, stream, after=frames[-1][0])
    await wait_idle(chat, sid)


async def test_cancel_ends_the_wait(chat: httpx.AsyncClient, llm: ScriptedLLM) -> None:
    sid = await new_session(chat)
    stream, frames = await ask(chat, llm, sid)
    r = await chat.post("/api/chat/cancel", json={"stream_id": stream})
    assert r.json()["cancelled"] is True
    assert (await read_events(chat, stream, after=frames[-1][0]))[-1][1] == "cancel"
    session = await wait_idle(chat, sid)
    assert session["pending_clarify"] is False and (await pending(chat, sid))["pending"] is None


async def test_a_cancel_that_lands_as_the_question_commits_still_ends_the_stored_stream(
    chat: httpx.AsyncClient, llm: ScriptedLLM, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A cancel can reach the run while the COMMIT storing its question is under way: the server
    commits, the task is cancelled before it learns so. The events are stored but not counted, and
    the run's last flush writes them again (under load on PostgreSQL this once lost the ``cancel``
    event, and a replay ended without one)."""
    apply = Flush.apply
    cut: list[str] = []

    def cancelled_as_it_commits(flush: Flush, run: Any) -> None:
        task = asyncio.current_task()
        if not cut and task is not None and task.get_name().startswith("run-") and run.events[-1].type == "clarify":
            cut.append(run.id)
            raise asyncio.CancelledError
        apply(flush, run)

    monkeypatch.setattr(Flush, "apply", cancelled_as_it_commits)
    sid = await new_session(chat)
    stream, _ = await ask(chat, llm, sid)
    await wait_idle(chat, sid)
    assert cut == [stream]
    replayed = [name for _, name, _ in await read_events(chat, stream)]
    assert replayed[-3:] == ["tool", "clarify", "cancel"] and len(replayed) == len(set(replayed)), replayed


async def test_a_background_run_gets_no_clarify_tool(chat: httpx.AsyncClient, llm: ScriptedLLM) -> None:
    sid = await new_session(chat)
    llm.script(Turn(text="hi"))
    await read_events(chat, (await chat.post("/api/chat/start", json={"session_id": sid, "message": "hi"})).json()[
        "stream_id"])
    assert "clarify" in [tool["function"]["name"] for tool in llm.requests[-1]["tools"]]
    await wait_idle(chat, sid)
    llm.script(Turn(text="done in the background"))
    r = await chat.post("/api/background", json={"session_id": sid, "prompt": "tidy up"})
    assert r.status_code == 200, r.text
    await read_events(chat, r.json()["stream_id"])
    assert "clarify" not in [tool["function"]["name"] for tool in llm.requests[-1]["tools"]]


class AskingTwice:
    """An agent that sends the same question twice at once (an ACP agent may), and another one."""

    name = "asker"
    kind = "test"

    async def check(self, model: str | None) -> str | None:
        return model or "asker"

    async def run(self, ctx: RunContext, sink: RunSink) -> RuntimeResult:
        answers = await asyncio.gather(sink.ask_user("Deploy now?", ["yes", "no"]),
                                       sink.ask_user("Deploy now?", ["yes", "no"]),
                                       sink.ask_user("Deploy now?", ["yes", "later"]))
        text = " | ".join(a or "-" for a in answers)
        await sink.on_text(text)
        await sink.on_assistant_message({"role": "assistant", "content": text})
        return RuntimeResult()

    async def close(self) -> None:
        return None


@pytest.fixture
def asker(chat_app: FastAPI) -> AskingTwice:
    runtime = AskingTwice()
    chat_app.state.services.runtimes.register(runtime)
    return runtime


async def test_a_repeated_question_joins_the_pending_one(chat: httpx.AsyncClient, asker: AskingTwice) -> None:
    sid = await new_session(chat, runtime="asker")
    stream = (await chat.post("/api/chat/start", json={"session_id": sid, "message": "go"})).json()["stream_id"]
    frames = await read_events(chat, stream, until={"clarify"})
    for _ in range(100):
        waiting = await pending(chat, sid)
        if waiting["pending_count"] == 2:
            break
        await asyncio.sleep(0.02)
    assert [p["choices_offered"] for p in waiting["all"]] == [["yes", "no"], ["yes", "later"]]
    first, second = waiting["all"]
    await chat.post("/api/clarify/respond", json={"session_id": sid, "response": "yes"})  # the oldest
    await chat.post("/api/clarify/respond", json={"session_id": sid, "clarify_id": second["clarify_id"],
                                                  "response": "later"})
    frames += await read_events(chat, stream, after=frames[-1][0])
    # Both questions were streamed (the runtime asks them from two tasks at once, so either may come first).
    asked = [f[2]["clarify_id"] for f in frames if f[1] == "clarify"]
    assert sorted(asked) == sorted([first["clarify_id"], second["clarify_id"]])
    session = await wait_idle(chat, sid)
    assert session["messages"][-1]["content"] == "yes | yes | later"
