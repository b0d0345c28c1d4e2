"""The runs' own database work (the context read before the model, the success and its ``done``
page, the last events) is done a few runs at a time (``RunEndings.bookkeeping``):
200 runs ending together once queued hundreds of steps ahead of every other request (issue 18).
Every run still ends once and is stored whole, and a cancel that lands while a run waits for a
slot cancels it cleanly."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.runs.conftest import read_events, wait_idle
from tests.sse import TERMINAL
from tests.support import new_draft


async def test_a_few_runs_at_a_time_do_their_own_bookkeeping(
    chat_app: FastAPI, chat: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = chat_app.state.services.runs
    runs.endings.bookkeeping = asyncio.Semaphore(2)
    in_flight = peak = 0

    def counted(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            nonlocal in_flight, peak
            in_flight += 1
            peak = max(peak, in_flight)
            try:
                await asyncio.sleep(0.05)  # long enough for all six runs to be here together, ungated
                return await method(*args, **kwargs)
            finally:
                in_flight -= 1
        return wrapper

    monkeypatch.setattr(runs.endings, "_store_success", counted(runs.endings._store_success))
    monkeypatch.setattr(runs.executor, "_context", counted(runs.executor._context))
    drafts = [await new_draft(chat) for _ in range(6)]
    sends = [chat.post("/api/chat/start", json={"session_id": sid, "message": f"[[tokens=3]] {k}"})
             for k, sid in enumerate(drafts)]
    starts = await asyncio.gather(*sends)
    assert [s.status_code for s in starts] == [200] * 6
    streams = await asyncio.gather(*(read_events(chat, s.json()["stream_id"]) for s in starts))
    for frames in streams:
        names = [name for _, name, _ in frames]
        assert names.count("done") == 1 and names[-1] == "stream_end", names
        assert sum(name in TERMINAL for name in names) == 1
    assert peak == 2
    for sid, frames in zip(drafts, streams, strict=True):
        text = "".join(data["text"] for _, name, data in frames if name == "token")
        session = await wait_idle(chat, sid)
        assert session["messages"][-1]["role"] == "assistant" and session["messages"][-1]["content"] == text


async def test_a_run_cancelled_while_it_waits_for_a_slot_ends_once(chat_app: FastAPI, chat: httpx.AsyncClient) -> None:
    """The model has answered; the run waits for a slot to store its success; a cancel then stores
    what it streamed as cancelled, ends the stream once, and frees the session."""
    runs = chat_app.state.services.runs
    slots = runs.endings.bookkeeping = asyncio.Semaphore(1)
    session = await new_draft(chat)
    started = await chat.post("/api/chat/start", json={"session_id": session,
                                                       "message": "[[tokens=5 delay=0.1]] hi"})
    stream = started.json()["stream_id"]
    reader = asyncio.create_task(read_events(chat, stream))
    live = runs.executor.live[stream]
    async with asyncio.timeout(10):
        while not any(e.type == "token" for e in live.events):  # its context read is done: the slot is free
            await asyncio.sleep(0.01)
        await slots.acquire()
        while sum(e.type == "token" for e in live.events) < 5:
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)  # the model has ended; the run waits for the slot held here
    assert not live.ended and live.task is not None and not live.task.done()
    cancel = asyncio.create_task(chat.post("/api/chat/cancel", json={"stream_id": stream}))
    frames = await asyncio.wait_for(reader, 10)
    slots.release()  # the run's last bookkeeping (its listeners) waited for it too
    assert (await cancel).json()["cancelled"] is True
    names = [name for _, name, _ in frames]
    assert names[-1] == "cancel" and "done" not in names and sum(name in TERMINAL for name in names) == 1
    text = "".join(data["text"] for _, name, data in frames if name == "token")
    answer, marker = (await wait_idle(chat, session))["messages"][-2:]  # the partial, then the cancel's note
    assert answer["role"] == "assistant" and answer["content"] == text == "t0 t1 t2 t3 t4 "
    assert "cancelled" in marker["content"]
