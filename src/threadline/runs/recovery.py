"""Runs whose process died: at start-up (``recover``) and, with several instances, whenever a lease
runs out (``sweep``). Each such run is marked ``interrupted``, its session freed, a terminal event
stored above anything its process may have sent, and the session's queue moves on."""

from __future__ import annotations

import logging
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

log = logging.getLogger("threadline.runs")

INTERRUPTED = {"message": "The server stopped during this answer.", "type": "interrupted",
               "hint": "Send the message again to continue."}


class RunRecovery:
    def __init__(
        self,
        *,
        store: Store,
        endings: RunEndings,
        instance_id: str,
        lease_seconds: float,
        live: Callable[[], Collection[str]],
        start_next: Callable[[str], Awaitable[str | None]],
        listeners: Sequence[RunListener] = (),
    ) -> None:
        self.store = store
        self.endings = endings
        self.instance_id = instance_id
        self.lease_seconds = lease_seconds
        self.live = live
        self.start_next = start_next
        self.listeners = list(listeners)

    async def recover(self, *, only_expired: bool = False) -> int:
        """Runs left ``running`` by a process that died are interrupted; queued messages resume.
        A single instance owns every run, so at its start-up all of them are stale; instances that
        share a database (``only_expired``) take over only runs whose lease ran out."""
        r = t.runs
        stale_clause = r.c.status == "running"
        reason = "the server restarted during the run"
        if only_expired:
            stale_clause = stale_clause & ((r.c.lease_until < time.time()) | r.c.lease_until.is_(None)
                                           | (r.c.owner == self.instance_id))  # ours, from before a restart
            reason = "its instance stopped (found at the start-up of another)"
        interrupted = await self._interrupt(stale_clause, reason)
        async with self.store.read() as conn:
            waiting = (await conn.execute(select(r.c.session_id).where(r.c.status == "queued").distinct())).all()
        for (session_id,) in waiting:
            await self.start_next(session_id)
        return len(interrupted)

    async def sweep(self) -> dict[str, RunEvent]:
        """Interrupt the runs of instances that died (``running`` with an expired lease, none live
        here), as ``recover`` does at start-up; returns each one's final event. Instances sharing a
        database call it periodically (threadline.cluster). A run whose owner still beats is left
        alone, whatever its lease says: taking it over would be the bug."""
        r, i = t.runs, t.instances
        now = time.time()
        alive = select(i.c.id).where(i.c.heartbeat_at > now - self.lease_seconds).scalar_subquery()
        clause = ((r.c.status == "running") & (r.c.lease_until < now) & r.c.id.not_in(list(self.live()))
                  & (r.c.owner.is_(None) | r.c.owner.not_in(alive)))
        async with self.store.read() as conn:
            spared = (await conn.execute(select(r.c.id, r.c.owner).where(
                (r.c.status == "running") & (r.c.lease_until < now) & r.c.owner.in_(alive)
                & (r.c.owner != self.instance_id)
            ))).all()
        for run_id, owner in spared:
            log.error("run %s has an expired lease but its owner %s is alive; not taking it over", run_id, owner)
        return await self._interrupt(clause, "its instance stopped: the lease ran out and the instance "
                                             "sent no heartbeat")

    async def _interrupt(self, clause: ColumnElement[bool], reason: str) -> dict[str, RunEvent]:
        r = t.runs
        now = time.time()
        swept: dict[str, RunEvent] = {}
        async with self.store.write() as conn:
            stale = (await conn.execute(
                select(r.c.id, r.c.session_id, r.c.kind, r.c.owner, r.c.lease_until).where(clause).with_for_update()
            )).all()
            for run_id, session_id, _kind, owner, lease_until in stale:
                late = f"; lease expired {now - lease_until:.1f} s ago" if lease_until else ""
                detail = f"{reason} (owner {owner or 'none'}{late}; taken over by {self.instance_id})"
                log.warning("run %s interrupted: %s", run_id, detail)
                await self.endings.mark_interrupted(conn, run_id, session_id, detail)
                swept[run_id] = await self._interrupted_event(conn, run_id, session_id, now)
        for run_id, session_id, kind, _owner, _lease in stale:
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
