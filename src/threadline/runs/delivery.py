"""Background results into their parent session, exactly once (reference §4 lost them).

A ``RunListener``: when a background run ends (here, or interrupted by recovery or a sweep) its task
takes the run's status and answer; when any run ends, the finished tasks of its session that waited
for it are delivered. The answer is written into the parent once (the ``delivered`` flag flips in the
same transaction as the insert) and only while the parent has no live run, as a message marked
``background`` that is part of the model's context from then on.
"""

from __future__ import annotations

import time

from sqlalchemy import bindparam, select, update

from threadline.runs.live import LiveRun
from threadline.runs.relay import EndedRun
from threadline.sessions.rows import NewMessage
from threadline.sessions.service import SessionService
from threadline.store import tables as t

PREVIEW = 80
_b = t.background_tasks
_UNDELIVERED = select(_b.c.id).where(_b.c.parent_id == bindparam("session_id"), _b.c.delivered.is_(False),
                                     _b.c.status != "running")


class BackgroundDelivery:
    def __init__(self, sessions: SessionService) -> None:
        self.sessions = sessions
        self.store = sessions.store

    def run_started(self, live: LiveRun) -> None:
        return None

    async def run_ended(self, ended: EndedRun) -> None:
        if ended.kind == "background":
            await self._finish_run(ended.run_id, ended.status, ended.answer)
        await self.deliver_pending(ended.session_id)

    async def _finish_run(self, run_id: str, status: str, answer: str | None) -> None:
        b = t.background_tasks
        async with self.store.write(inline=True) as conn:
            task_id = (await conn.execute(select(b.c.id).where(b.c.run_id == run_id))).scalar()
            if task_id is None:
                return
            await conn.execute(
                update(b).where(b.c.id == task_id, b.c.status == "running")
                .values(status=status, answer=answer if status == "succeeded" else None, finished_at=time.time())
            )
        await self.deliver(task_id)

    async def deliver(self, task_id: str) -> bool:
        """Write a finished task's result into its parent, once, when the parent has no live run."""
        b = t.background_tasks
        async with self.store.write(inline=True) as conn:
            task = (await conn.execute(select(b).where(b.c.id == task_id))).mappings().first()
            if task is None or task["delivered"] or task["status"] == "running":
                return False
            parent = await self.sessions.row(conn, task["parent_id"], lock=True)
            if parent is None or parent["active_run_id"] is not None:
                return False  # delivered when the parent's run ends (run_ended)
            claimed = await conn.execute(
                update(b).where(b.c.id == task_id, b.c.delivered.is_(False)).values(delivered=True)
            )
            if claimed.rowcount != 1:
                return False
            meta = {"background": {"task_id": task_id, "prompt": task["prompt"], "session_id": task["session_id"],
                                   "status": task["status"]}}
            title = task["prompt"][:PREVIEW]
            if task["status"] == "succeeded":
                message = NewMessage(role="assistant", content=f"**Background:** {title}\n\n{task['answer'] or ''}",
                                     meta=meta)
            else:
                status = "interrupted" if task["status"] == "interrupted" else "error"
                message = NewMessage(role="assistant", content=f"**Background task {task['status']}:** {title}",
                                     status=status, in_context=False, meta=meta)
            await self.sessions.append_message(conn, task["parent_id"], message)
        return True

    async def deliver_pending(self, session_id: str) -> None:
        async with self.store.read() as conn:
            task_ids = [r.id for r in await conn.execute(_UNDELIVERED, {"session_id": session_id})]
        for task_id in task_ids:
            await self.deliver(task_id)

    async def reconcile(self) -> int:
        """Tasks whose run ended without telling them (a crash) take the run's status; parents hear."""
        b, r = t.background_tasks, t.runs
        async with self.store.write() as conn:
            rows = (await conn.execute(
                select(b.c.id, r.c.status).join(r, r.c.id == b.c.run_id, isouter=True)
                .where(b.c.status == "running")
            )).all()
            stale = [(task_id, status or "interrupted") for task_id, status in rows if status != "running"]
            for task_id, status in stale:
                await conn.execute(update(b).where(b.c.id == task_id)
                                   .values(status=status if status != "succeeded" else "interrupted",
                                           finished_at=time.time()))
        for task_id, _status in stale:
            await self.deliver(task_id)
        async with self.store.read() as conn:
            waiting = await conn.execute(select(b.c.id).where(b.c.delivered.is_(False), b.c.status != "running"))
            undelivered = [x.id for x in waiting]
        for task_id in undelivered:
            await self.deliver(task_id)
        return len(stale)
