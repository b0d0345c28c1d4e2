"""How a run ends: success, failure, cancel or interruption, each one write transaction checked by the
run's ownership token, then the terminal events. ``uncancellable`` keeps those writes from being cut
short by a cancel that lands meanwhile.

``RunEndings.bookkeeping`` lets a few runs at a time do their own database work: the context read
before the model is called, the success and the page ``done`` carries, the last events (not the
listeners, which may ask a provider). 200 runs started or ended together each had all of it in
flight at once; the event loop's queue filled with their steps, and a rename, a ``/health`` or a
token of another stream waited behind hundreds of them (issue 18). With a few slots the same work is
done in the same time, and what arrives meanwhile waits behind a few steps, not hundreds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Any, TypeVar

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from threadline.agent.events import ProviderError
from threadline.agent.providers.registry import ProviderRegistry
from threadline.preferences import PreferenceService
from threadline.runs.live import LiveRun, flush_events
from threadline.runs.recorder import NotOwner, Recorder
from threadline.runs.titles import llm_title, llm_titles_enabled, provisional_title, title_model
from threadline.sessions.rows import NewMessage
from threadline.sessions.service import SessionService
from threadline.sessions.views import UNTITLED
from threadline.settings import Settings
from threadline.store import tables as t

DONE_MESSAGES = 200
BOOKKEEPING_SLOTS = 8  # runs doing their own database work at once (enough to keep the database busy)
# SQLite's group commit takes up to 32 writers in one COMMIT: fewer in flight made smaller groups
SQLITE_BOOKKEEPING_SLOTS = 32
_m = t.messages
_FIRST_USER_TEXT = (select(_m.c.content)
                    .where(_m.c.session_id == bindparam("session_id"), _m.c.position >= 0, _m.c.role == "user")
                    .order_by(_m.c.position).limit(1))
T = TypeVar("T")


async def uncancellable_value(work: Awaitable[T]) -> T:
    """Run a run's closing writes to the end even if a cancel (or a second one) lands meanwhile: cut
    short, they would leave the run ``running`` and its session busy with no task behind it."""
    task = asyncio.ensure_future(work)
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            continue
    return task.result()


async def uncancellable(work: Awaitable[None]) -> None:
    await uncancellable_value(work)


class RunEndings:
    def __init__(
        self,
        *,
        settings: Settings,
        sessions: SessionService,
        providers: ProviderRegistry,
        preferences: PreferenceService,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.store = sessions.store
        self.providers = providers
        self.preferences = preferences
        self.bookkeeping = asyncio.Semaphore(SQLITE_BOOKKEEPING_SLOTS if self.store.is_sqlite else BOOKKEEPING_SLOTS)

    async def set_run(self, conn: AsyncConnection, run_id: str, status: str, **values: Any) -> None:
        await conn.execute(
            update(t.runs).where(t.runs.c.id == run_id)
            .values(status=status, finished_at=time.time(), lease_until=None, **values)
        )

    async def succeed(
        self, live: LiveRun, recorder: Recorder, stopped: str, note: str | None, answer: str
    ) -> None:
        """Store the success (not cancellable: once it starts, it is written whole), then announce it:
        ``done``, the titles, ``stream_end``, and store those events, all in one bookkeeping slot (a
        model-written title comes after, outside it). A cancel while announcing still ends the stream."""
        usage = {"input_tokens": recorder.usage.input_tokens, "output_tokens": recorder.usage.output_tokens}
        async with self.bookkeeping:  # a cancel while waiting here finds nothing stored: the run is cancelled
            title = await uncancellable_value(self._store_success(live, recorder, stopped, note, usage))
            try:
                session = await self.sessions.get(live.session_id, msg_limit=DONE_MESSAGES)
                live.emit("done", {"session": session, "usage": usage, "stopped_reason": stopped,
                                   "answer": answer, "ephemeral": live.kind == "btw"})
                if title:
                    live.emit("title", {"session_id": live.session_id, "title": title})
                model_title = bool(title) and live.kind == "chat" and not live.cancel_requested \
                    and await self._llm_titles_enabled()
                if not model_title:
                    self._end_stream(live)
                # Stored here, not after a wait for another slot: the checkpoints no longer save a
                # run whose session it has released.
                await flush_events(self.store, live)
            except BaseException:
                self._end_stream(live)
                raise
        if model_title and title:
            try:
                await self._llm_title(live, title)
            finally:
                self._end_stream(live)

    @staticmethod
    def _end_stream(live: LiveRun) -> None:
        """A stored success ends its stream whatever fails after it."""
        if not live.ended:
            live.emit("stream_end", {"session_id": live.session_id})

    async def _store_success(
        self, live: LiveRun, recorder: Recorder, stopped: str, note: str | None, usage: dict[str, int]
    ) -> str | None:
        title = None
        async with recorder.owned() as conn:
            await recorder.save_partial(conn, "partial")
            if stopped == "max_steps":
                await recorder.add_marker(conn, note or "Stopped after the step limit.", "error",
                                          error_type="max_steps")
            row = await self.sessions.row(conn, live.session_id)
            values: dict[str, Any] = {}
            if row["title"] == UNTITLED:
                title = provisional_title(await self._first_user_text(conn, live.session_id))
                if title:
                    values["title"] = title
            await recorder.release(conn, **values)
            await self.set_run(conn, live.id, "succeeded", usage=usage)
        recorder.settled = True
        return title

    async def _llm_titles_enabled(self) -> bool:
        return llm_titles_enabled(self.settings.llm_titles, await self.preferences.get("llm_titles"))

    async def _llm_title(self, live: LiveRun, provisional: str) -> None:
        """Replace the provisional title with one the model writes, unless the user renamed meanwhile."""
        live.emit("title_status", {"session_id": live.session_id, "status": "generating"})
        async with self.store.read() as conn:
            first = await self._first_user_text(conn, live.session_id)
            run = (await conn.execute(select(t.runs.c.model).where(t.runs.c.id == live.id))).scalar()
        await self.providers.load_sdks()
        ref = title_model(run, setting=self.settings.title_model, preference=await self.preferences.get("title_model"))
        try:
            provider, model = self.providers.resolve(ref)
        except ProviderError:
            return
        title = await llm_title(provider, model, first)
        if not title:
            return
        s = t.sessions
        async with self.store.write(background=True, inline=True) as conn:
            result = await conn.execute(
                update(s).where(s.c.id == live.session_id, s.c.title == provisional).values(title=title)
            )
        if result.rowcount:
            live.emit("title", {"session_id": live.session_id, "title": title, "source": "llm"})
            self.sessions.feed.publish("renamed", live.session_id, title=title)

    async def _first_user_text(self, conn: AsyncConnection, session_id: str) -> str:
        return (await conn.execute(_FIRST_USER_TEXT, {"session_id": session_id})).scalar() or ""

    async def fail(self, live: LiveRun, recorder: Recorder, kind: str, message: str, hint: str | None) -> None:
        try:
            async with recorder.owned() as conn:
                await recorder.save_partial(conn, "partial")
                await recorder.add_marker(conn, f"**Error:** {message}", "error", error_type=kind, hint=hint)
                await recorder.release(conn)
                await self.set_run(conn, live.id, "failed", error={"type": kind, "message": message, "hint": hint})
        except NotOwner:
            return
        live.emit("apperror", {"message": message, "type": kind, "hint": hint, "session_id": live.session_id})

    async def cancelled(self, live: LiveRun, recorder: Recorder) -> None:
        try:
            async with recorder.owned() as conn:
                await recorder.save_partial(conn, "partial")
                await recorder.add_marker(conn, "*Task cancelled.*", "cancelled", marker="cancel")
                await recorder.release(conn)
                await self.set_run(conn, live.id, "cancelled")
        except NotOwner:
            return
        live.emit("cancel", {"message": "Task cancelled.", "session_id": live.session_id})

    async def interrupted(self, live: LiveRun, recorder: Recorder) -> None:
        """Shutdown while running: keep the text, mark it, free the session."""
        try:
            async with recorder.owned() as conn:
                await recorder.save_partial(conn, "interrupted")
                await self.mark_interrupted(conn, live.id, live.session_id)
        except NotOwner:
            return
        live.emit("apperror", {"message": "The server stopped during this answer.", "type": "interrupted",
                               "hint": "Send the message again to continue.", "session_id": live.session_id})

    async def mark_interrupted(
        self, conn: AsyncConnection, run_id: str, session_id: str, reason: str = "the server stopped"
    ) -> None:
        m, s = t.messages, t.sessions
        await conn.execute(
            update(m).where(m.c.run_id == run_id, m.c.status.in_(("partial", "streaming"))).values(status="interrupted")
        )
        row = await self.sessions.row(conn, session_id, lock=True)
        if row is not None and row["active_run_id"] == run_id:
            await self.sessions.append_message(
                conn, session_id,
                NewMessage(role="assistant", content="*Interrupted: the server stopped during this answer.*",
                           status="interrupted", in_context=False, meta={"marker": "interrupted"}),
                run_id=run_id,
            )
            await conn.execute(update(s).where(s.c.id == session_id).values(active_run_id=None))
        await self.set_run(conn, run_id, "interrupted", error={"type": "interrupted", "reason": reason})
