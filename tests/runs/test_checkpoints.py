"""The checkpointer writes every live run's partial text in one statement per tick, not one round trip
per run (issue 18: with 200 streams on SQLite a batch of 200 updates fell behind by tens of seconds),
and each run's stored partial text is what it streamed so far."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import event

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
