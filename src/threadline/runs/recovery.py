"""Runs whose process died: at start-up (``recover``) and, with several instances, whenever a lease
runs out (``sweep``). Each such run is marked ``interrupted``, its session freed, a terminal event
stored above anything its process may have sent, and the session's queue moves on."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Collection, Sequence

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from threadline.runs.endings import RunEndings
from threadline.runs.executor import notify_ended
from threadline.runs.live import RunEvent
from threadline.runs.relay import EndedRun, RunListener
from threadline.store import tables as t
from threadline.store.engine import Store

INTERRUPTED = {"message": "The server stopped during this answer.", "type": "interrupted",
               "hint": "Send the message again to continue."}


class RunRecovery:
    def __init__(
        self,
        *,
        store: Store,
        endings: RunEndings,
        instance_id: str,
        live: Callable[[], Collection[str]],
        start_next: Callable[[str], Awaitable[str | None]],
        listeners: Sequence[RunListener] = (),
    ) -> None:
        self.store = store
        self.endings = endings
        self.instance_id = instance_id
        self.live = live
        self.start_next = start_next
        self.listeners = list(listeners)

    async def recover(self, *, only_expired: bool = False) -> int:
        """Runs left ``running`` by a process that died are interrupted; queued messages resume.
        A single instance owns every run, so at its start-up all of them are stale; instances that
        share a database (``only_expired``) take over only runs whose lease ran out."""
        r = t.runs
        stale_clause = r.c.status == "running"
        if only_expired:
            stale_clause = stale_clause & ((r.c.lease_until < time.time()) | r.c.lease_until.is_(None)
                                           | (r.c.owner == self.instance_id))  # ours, from before a restart
        interrupted = await self._interrupt(stale_clause)
        async with self.store.read() as conn:
            waiting = (await conn.execute(select(r.c.session_id).where(r.c.status == "queued").distinct())).all()
        for (session_id,) in waiting:
            await self.start_next(session_id)
        return len(interrupted)

    async def sweep(self) -> dict[str, RunEvent]:
        """Interrupt the runs of instances that died (``running`` with an expired lease, none live
        here), as ``recover`` does at start-up; returns each one's final event. Instances sharing a
        database call it periodically (threadline.cluster)."""
        r = t.runs
        clause = (r.c.status == "running") & (r.c.lease_until < time.time()) & r.c.id.not_in(list(self.live()))
        return await self._interrupt(clause)

    async def _interrupt(self, clause: ColumnElement[bool]) -> dict[str, RunEvent]:
        r = t.runs
        now = time.time()
        swept: dict[str, RunEvent] = {}
        async with self.store.write() as conn:
            stale = (await conn.execute(select(r.c.id, r.c.session_id, r.c.kind).where(clause))).all()
            for run_id, session_id, _kind in stale:
                await self.endings.mark_interrupted(conn, run_id, session_id)
                swept[run_id] = await self._interrupted_event(conn, run_id, session_id, now)
        for run_id, session_id, kind in stale:
            await self.start_next(session_id)
            await notify_ended(self.listeners, EndedRun(run_id, session_id, kind, "interrupted"))
        return swept

    async def _interrupted_event(self, conn: AsyncConnection, run_id: str, session_id: str, now: float) -> RunEvent:
        """The terminal event of a run that ended without its process, numbered above every sequence
        number that process may have sent (``runs.seq_reserved``)."""
        e, r = t.run_events, t.runs
        stored = (await conn.execute(select(func.coalesce(func.max(e.c.seq), 0)).where(e.c.run_id == run_id)))
        reserved = (await conn.execute(select(r.c.seq_reserved).where(r.c.id == run_id))).scalar()
        seq = max(int(stored.scalar_one()), int(reserved or 0)) + 1
        event = RunEvent(seq, "apperror", {**INTERRUPTED, "session_id": session_id}, now)
        await conn.execute(e.insert().values(run_id=run_id, seq=seq, type=event.type, data=event.data,
                                             created_at=now))
        return event
