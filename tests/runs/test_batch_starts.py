"""On SQLite, chat turns that wait for the writer together are claimed in one write transaction, each
in a savepoint (issue 18: a burst of 200 sends queued for seconds, one loop trip per handover): each
still gets its own answer, one that fails is undone alone (its draft stays a draft), and every claimed
run streams."""

from __future__ import annotations

import asyncio
import math

import httpx
import pytest
from fastapi import FastAPI

from tests.runs.conftest import read_events
from tests.support import new_draft
from threadline.runs.batchstarts import BATCH
from threadline.store.engine import Store

TURNS = 2 * BATCH + 3


async def hold_the_writer(store: Store) -> tuple[asyncio.Task[None], asyncio.Event]:
    """Another task holds SQLite's writer turn until the event is set."""
    release = asyncio.Event()

    async def hold() -> None:
        async with store.turn():
            await release.wait()

    holder = asyncio.create_task(hold())
    await asyncio.sleep(0.02)
    return holder, release


async def test_waiting_turns_are_claimed_together_and_fail_alone(chat_app: FastAPI, chat: httpx.AsyncClient) -> None:
    runs = chat_app.state.services.runs
    if runs.batch is None:
        pytest.skip("PostgreSQL: every turn has its own transaction")
    store = runs.store
    busy = await new_draft(chat)
    first = await chat.post("/api/chat/start", json={"session_id": busy, "message": "[[tokens=40 delay=0.05]] a"})
    assert first.status_code == 200, first.text
    drafts = [await new_draft(chat) for _ in range(TURNS)]
    bad_draft = await new_draft(chat)
    holder, release = await hold_the_writer(store)  # every turn below waits for the writer meanwhile
    batches = runs.batch.batches
    sends = [chat.post("/api/chat/start", json={"session_id": sid, "message": f"[[tokens=3]] n{k}"})
             for k, sid in enumerate(drafts)]
    sends.append(chat.post("/api/chat/start", json={"session_id": busy, "message": "again"}))  # 409
    sends.append(chat.post("/api/chat/start", json={"session_id": bad_draft, "message": "x", "edit_of": 999}))
    pending = [asyncio.ensure_future(s) for s in sends]
    async with asyncio.timeout(10):
        while len(runs.batch._waiting) < len(sends):  # every turn checked and queued for the writer
            await asyncio.sleep(0.01)
    release.set()
    answers = await asyncio.gather(*pending)
    await holder
    assert runs.batch.batches - batches == math.ceil(len(sends) / BATCH)
    assert [a.status_code for a in answers[:TURNS]] == [200] * TURNS
    assert answers[TURNS].status_code == 409 and answers[TURNS].json()["active_stream_id"] == first.json()["stream_id"]
    assert answers[TURNS + 1].status_code in (400, 404), answers[TURNS + 1].text
    for answer in answers[:TURNS]:
        frames = await read_events(chat, answer.json()["stream_id"])
        assert frames[-1][1] == "stream_end"
    listed = {s["session_id"] for s in (await chat.get("/api/sessions")).json()["sessions"]}
    assert set(drafts) <= listed and bad_draft not in listed  # the failed turn's draft is still a draft
    draft = await chat.get("/api/session", params={"session_id": bad_draft})
    assert draft.status_code == 200 and draft.json()["session"]["messages"] == []
    again = await chat.post("/api/chat/start", json={"session_id": bad_draft, "message": "[[tokens=2]] now"})
    assert again.status_code == 200, again.text


async def test_turns_still_waiting_end_when_the_batcher_stops(chat_app: FastAPI, chat: httpx.AsyncClient) -> None:
    """The claiming task cancelled while turns wait for the writer (the server stopping): every one of
    those turns ends rather than waiting for an answer that would never come, and nothing was claimed."""
    runs = chat_app.state.services.runs
    if runs.batch is None:
        pytest.skip("PostgreSQL: every turn has its own transaction")
    store = runs.store
    drafts = [await new_draft(chat) for _ in range(3)]
    holder, release = await hold_the_writer(store)  # every turn below waits for the writer meanwhile
    turns = [await runs.starter.prepare(sid, "[[tokens=3]] x") for sid in drafts]
    waiting = [asyncio.create_task(runs.batch.start(turn, queue=False)) for turn in turns]
    async with asyncio.timeout(5):
        while len(runs.batch._waiting) < len(turns):
            await asyncio.sleep(0.01)
    assert runs.batch._task is not None
    runs.batch._task.cancel()
    async with asyncio.timeout(5):
        ended = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(e, asyncio.CancelledError) for e in ended), ended
    assert not runs.batch._waiting
    release.set()
    await holder
    listed = {s["session_id"] for s in (await chat.get("/api/sessions")).json()["sessions"]}
    assert not set(drafts) & listed  # no turn was claimed: each session is still a draft
