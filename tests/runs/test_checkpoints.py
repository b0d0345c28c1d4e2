"""The checkpointer writes every live run's partial text in one statement per tick, not one round trip
per run (issue 18: with 200 streams on SQLite a batch of 200 updates fell behind by tens of seconds),
and each run's stored partial text is what it streamed so far."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import event, text

from tests.llm_server import ScriptedLLM
from tests.runs.conftest import read_events
from tests.support import new_draft

RUNS = 4


async def test_partial_texts_of_all_runs_go_in_one_statement_per_tick(
    chat_app: FastAPI, chat: httpx.AsyncClient, llm: ScriptedLLM,
) -> None:
    store = chat_app.state.services.store
    updates: list[int] = []  # rows each UPDATE of messages' partial text carried

    def count(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith("UPDATE MESSAGES") and "status" in statement:
            updates.append(len(parameters) if many else 1)

    event.listen(store.engine.sync_engine, "before_cursor_execute", count)
    try:
        sessions = [await new_draft(chat) for _ in range(RUNS)]
        message = "[[tokens=40 delay=0.03 chunk=1]] run"
        started = [await chat.post("/api/chat/start", json={"session_id": sid, "message": message})
                   for sid in sessions]
        frames = await asyncio.gather(*(read_events(chat, r.json()["stream_id"]) for r in started))
    finally:
        event.remove(store.engine.sync_engine, "before_cursor_execute", count)
    assert all(f[-1][1] == "stream_end" for f in frames)
    assert max(updates) >= 2, updates  # several runs' partial texts in one statement
    checkpoints = chat_app.state.services.runs.executor.checkpoints
    assert checkpoints.checkpointed >= RUNS * 3  # every run checkpointed over several ticks
    assert len(updates) < checkpoints.checkpointed, (len(updates), checkpoints.checkpointed)
    for sid in sessions:
        stored = (await chat.get("/api/session", params={"session_id": sid})).json()["session"]["messages"]
        assert stored[-1]["content"] == "".join(f"t{k} " for k in range(40))


async def test_a_live_answer_is_indexed_for_search_once_it_ends(
    chat_app: FastAPI, chat: httpx.AsyncClient, llm: ScriptedLLM,
) -> None:
    """Each checkpoint rewrites a live answer, and re-indexing its whole text every time made the
    batch grow with the answers (migration 0007): a checkpointed answer is stored as ``streaming``,
    shown as ``partial``, kept out of the full-text index, and indexed when the run ends."""
    sid = await new_draft(chat)
    started = await chat.post("/api/chat/start", json={"session_id": sid, "message": "[[tokens=60 delay=0.05]] go"})
    stream_id = started.json()["stream_id"]

    async def searched() -> list[str]:
        body = (await chat.get("/api/sessions/search", params={"q": "t30"})).json()
        return [s["session_id"] for s in body["sessions"]]

    async with asyncio.timeout(10):
        while True:  # until a checkpoint has stored the text past t30
            messages = (await chat.get("/api/session", params={"session_id": sid})).json()["session"]["messages"]
            if messages[-1]["role"] == "assistant" and "t30 " in messages[-1]["content"]:
                break
            await asyncio.sleep(0.05)
    assert messages[-1]["status"] == "partial" and messages[-1]["_partial"] is True
    store = chat_app.state.services.store
    async with store.read() as conn:
        status = (await conn.execute(text("SELECT status FROM messages WHERE id = :i"),
                                     {"i": messages[-1]["id"]})).scalar_one()
    assert status == "streaming"
    assert await searched() == []  # not indexed while the run streams
    frames = await read_events(chat, stream_id)
    assert frames[-1][1] == "stream_end"
    assert await searched() == [sid]
    messages = (await chat.get("/api/session", params={"session_id": sid})).json()["session"]["messages"]
    assert messages[-1]["status"] == "complete" and "t59" in messages[-1]["content"]
