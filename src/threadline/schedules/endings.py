"""How firings end: when a firing's run ends (here, or swept on another instance, or found ended at
start-up) the firing takes the run's status and answer, its task the last status, and the user gets one
notice (``notices.source = firing:<id>``, so the notice and the firing's end are written once whoever
reports the end). A ``RunListener``.
"""

from __future__ import annotations

import time

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from threadline.runs.live import LiveRun
from threadline.runs.relay import EndedRun
from threadline.schedules.firings import KIND
from threadline.schedules.jobs import JobStore
from threadline.sessions.notices import NoticeService
from threadline.store import tables as t
from threadline.store.engine import Store

PREVIEW = 300


class FiringEndings:
    def __init__(self, store: Store, notices: NoticeService, jobs: JobStore) -> None:
        self.store = store
        self.notices = notices
        self.jobs = jobs

    def run_started(self, live: LiveRun) -> None:
        return None

    async def run_ended(self, ended: EndedRun) -> None:
        if ended.kind == KIND:  # a firing's run is of that kind: no other needs a read to tell
            await self.finish(ended.run_id, ended.status, ended.answer)

    async def finish(self, run_id: str, status: str, answer: str | None) -> bool:
        """The firing of ``run_id`` takes the run's ending and the user gets its notice; once. Most runs
        are no firing: one indexed read tells, without a write transaction."""
        f, j = t.cron_firings, t.cron_jobs
        running = select(f.c.id).where(f.c.run_id == run_id, f.c.status == "running")
        async with self.store.read() as conn:
            if (await conn.execute(running)).first() is None:
                return False
        async with self.store.write() as conn:
            firing = (await conn.execute(select(f).where(f.c.run_id == run_id, f.c.status == "running")
                                         .with_for_update())).mappings().first()
            if firing is None:
                return False
            error = None if status == "succeeded" else await self._run_error(conn, run_id, status)
            now = time.time()
            done = await conn.execute(update(f).where(f.c.id == firing["id"], f.c.status == "running").values(
                status=status, answer=answer if status == "succeeded" else None, error=error, finished_at=now,
                delivered=True))
            if done.rowcount != 1:
                return False
            job = await self.jobs.row(conn, firing["job_id"])
            if job is None:
                return True
            await conn.execute(update(j).where(j.c.id == job["id"]).values(last_status=status, last_error=error))
            text = " ".join((answer or "").split()) if status == "succeeded" else (error or "")
            title = f"“{job['name']}” finished" if status == "succeeded" else f"“{job['name']}” {status}"
            await self.notices.add(conn, source=f"firing:{firing['id']}", kind=f"task_{status}", title=title,
                                   body=text[:PREVIEW], session_id=firing["session_id"], job_id=job["id"])
        return True

    async def _run_error(self, conn: AsyncConnection, run_id: str, status: str) -> str:
        error = (await conn.execute(select(t.runs.c.error).where(t.runs.c.id == run_id))).scalar()
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])[:2000]
        return {"cancelled": "the run was cancelled", "interrupted": "the run was interrupted"}.get(
            status, f"the run {status}")

    async def reconcile(self) -> int:
        """Firings whose run ended while nobody listened (a crash, a restart) take the run's ending."""
        f, r, m = t.cron_firings, t.runs, t.messages
        async with self.store.read() as conn:
            rows = (await conn.execute(
                select(f.c.run_id, r.c.status).join(r, r.c.id == f.c.run_id, isouter=True)
                .where(f.c.status == "running")
            )).all()
        ended = [(run_id, status or "interrupted") for run_id, status in rows if status not in ("running", "queued")]
        for run_id, status in ended:
            async with self.store.read() as conn:
                answer = (await conn.execute(
                    select(m.c.content).where(m.c.run_id == run_id, m.c.role == "assistant", m.c.in_context)
                    .order_by(m.c.seq.desc()).limit(1))).scalar()
            await self.finish(run_id, status, answer)
        return len(ended)

    async def skills_for_run(self, run_id: str, kind: str) -> list[str]:
        """The skills a firing's run starts with (its task's ``skills``); a run of another kind is no
        firing's, and costs no read."""
        if kind != KIND:
            return []
        f, j = t.cron_firings, t.cron_jobs
        async with self.store.read() as conn:
            skills = (await conn.execute(
                select(j.c.skills).join(f, f.c.job_id == j.c.id).where(f.c.run_id == run_id))).scalar()
        return [str(s) for s in skills] if isinstance(skills, list) else []
