"""``GET /api/sessions/events`` over a real server (issue 17 item 4): every open client hears of each
change to the session list at once: a new chat, a rename (from a person or a model), a pin, an archive,
a move, a deletion, a run starting and ending; a slow reader gets one ``reset`` instead of a backlog."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import FastAPI

from tests.llm_server import ScriptedLLM, Turn
from tests.runs.conftest import wait_idle
from tests.sse import FrameParser
from threadline.sessions.feed import QUEUE_MAX, SessionFeed


class Listener:
    """One client reading the feed in the background."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.changes: list[dict[str, Any]] = []
        self.ready = asyncio.Event()
        self.arrived = asyncio.Event()
        self.headers: httpx.Headers | None = None
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        parser = FrameParser()
        async with self.client.stream("GET", "/api/sessions/events") as response:
            assert response.status_code == 200
            self.headers = response.headers
            async for line in response.aiter_lines():
                frame = parser.feed(line)
                if frame is None:
                    continue
                if frame[1] == "ready":
                    self.ready.set()
                elif frame[1] == "sessions_changed":
                    self.changes.append(frame[2])
                    self.arrived.set()

    async def wait_for(self, reason: str, session_id: str | None, timeout: float = 5.0) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                for change in self.changes:
                    if change["reason"] == reason and change["session_id"] == session_id:
                        return change
                self.arrived.clear()
                await self.arrived.wait()

    def reasons(self, session_id: str) -> list[str]:
        return [c["reason"] for c in self.changes if c["session_id"] == session_id]


@contextlib.asynccontextmanager
async def listening(url: str, count: int = 2) -> AsyncIterator[list[Listener]]:
    clients = [httpx.AsyncClient(base_url=url, timeout=30) for _ in range(count)]
    listeners = [Listener(c) for c in clients]
    try:
        async with asyncio.timeout(5):
            await asyncio.gather(*(listener.ready.wait() for listener in listeners))
        yield listeners
    finally:
        for listener in listeners:
            listener.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener.task
        for c in clients:
            await c.aclose()


async def test_two_clients_see_every_list_change(chat_app: FastAPI, chat: httpx.AsyncClient, llm: ScriptedLLM) -> None:
    async with listening(chat_app.state.url) as (first, second):
        assert first.headers is not None and first.headers["content-type"].startswith("text/event-stream")
        assert first.headers["cache-control"] == "no-store"
        sid = (await chat.post("/api/session/new", json={})).json()["session"]["session_id"]
        llm.script(Turn(text="hello back"))
        await chat.post("/api/chat/start", json={"session_id": sid, "message": "hello"})
        await wait_idle(chat, sid)
        for listener in (first, second):
            await listener.wait_for("run_ended", sid)

        r = await chat.post("/api/session/rename", json={"session_id": sid, "title": "Renamed elsewhere"})
        assert r.status_code == 200
        for listener in (first, second):
            change = await listener.wait_for("renamed", sid, timeout=1.0)
            assert change["title"] == "Renamed elsewhere" and isinstance(change["at"], float)
        await chat.post("/api/session/pin", json={"session_id": sid, "pinned": True})
        await chat.post("/api/session/archive", json={"session_id": sid, "archived": True})
        await chat.post("/api/session/delete", json={"session_id": sid})
        for listener in (first, second):
            await listener.wait_for("deleted", sid)
            assert listener.reasons(sid) == ["created", "run_started", "run_ended", "renamed", "pinned",
                                             "archived", "deleted"]


async def test_a_question_waiting_and_answered_is_announced(chat_app: FastAPI, chat: httpx.AsyncClient,
                                                             llm: ScriptedLLM) -> None:
    """The list says "needs approval" from the session's mark: a client that re-read the row just
    before the mark was written hears of it, and of its removal once the approval is answered."""
    async with listening(chat_app.state.url, count=1) as (listener,):
        sid = (await chat.post("/api/session/new", json={})).json()["session"]["session_id"]
        llm.script(Turn(tool_calls=[("run_shell", {"command": "echo hi"})]), Turn(text="done"))
        await chat.post("/api/chat/start", json={"session_id": sid, "message": "run it"})
        await listener.wait_for("updated", sid)
        row = (await chat.get("/api/session", params={"session_id": sid, "messages": 0})).json()["session"]
        assert row["pending_approval"] is True
        r = await chat.post("/api/approval/respond", json={"session_id": sid, "choice": "once"})
        assert r.status_code == 200
        await wait_idle(chat, sid)
        assert listener.reasons(sid).count("updated") == 2  # marked, then unmarked
        row = (await chat.get("/api/session", params={"session_id": sid, "messages": 0})).json()["session"]
        assert row["pending_approval"] is False


async def test_failed_changes_and_drafts_are_not_announced(chat_app: FastAPI, chat: httpx.AsyncClient) -> None:
    async with listening(chat_app.state.url, count=1) as (listener,):
        draft = (await chat.post("/api/session/new", json={})).json()["session"]["session_id"]
        assert (await chat.post("/api/session/rename", json={"session_id": "nosuch", "title": "x"})).status_code == 404
        moved = await chat.post("/api/session/move", json={"session_id": draft, "project_id": "nope"})
        assert moved.status_code == 404
        await chat.post("/api/session/delete", json={"session_id": draft})  # a draft: no row was ever listed
        marker = (await chat.post("/api/session/new", json={})).json()["session"]["session_id"]
        await chat.post("/api/session/rename", json={"session_id": marker, "title": "marker"})  # now a row
        await listener.wait_for("renamed", marker)
        assert [(c["reason"], c["session_id"]) for c in listener.changes] == [("created", marker), ("renamed", marker)]


async def test_a_reader_that_falls_behind_gets_one_reset() -> None:
    feed = SessionFeed("here")
    async with feed.subscribe() as sub:
        for i in range(QUEUE_MAX + 50):
            feed.publish("updated", f"s{i}")
        first = await feed.next(sub, 0.1)
        assert first is not None and first["reason"] == "reset" and first["origin"] == "here"
        assert await feed.next(sub, 0.05) is None  # the backlog was dropped
        feed.publish("renamed", "s1", title="t")
        later = await feed.next(sub, 0.1)
        assert later is not None and later["reason"] == "renamed" and later["title"] == "t"
    assert feed.subscribers == 0
