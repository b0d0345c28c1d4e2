"""Scheduled tasks behind Hermes WebUI's ``/api/crons`` paths: list, create, update, delete, run now,
pause, resume, and each task's output (its firings). Every input is checked before anything is
written; a bad one is a 400 that changes nothing."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update

from threadline.errors import BadRequest, Conflict, NotFound
from threadline.runs.manager import RunManager
from threadline.schedules import timing
from threadline.schedules.endings import FiringEndings
from threadline.schedules.firings import KIND, Firings
from threadline.schedules.jobs import (
    JobStore,
    check_job_id,
    check_label,
    check_prompt,
    check_repeat,
    check_skills,
    new_job_id,
)
from threadline.schedules.scheduler import Scheduler
from threadline.sessions.service import SessionService, check_session_id
from threadline.skills import SkillLibrary
from threadline.store import tables as t

MAX_JOBS = 1000
MAX_OUTPUTS = 100
UPDATABLE = ("prompt", "name", "schedule", "timezone", "model", "skills", "repeat")


class TaskService:
    def __init__(self, *, jobs: JobStore, firings: Firings, endings: FiringEndings, scheduler: Scheduler,
                 sessions: SessionService, runs: RunManager, skills: SkillLibrary, timezone: str) -> None:
        self.jobs = jobs
        self.firings = firings
        self.endings = endings
        self.scheduler = scheduler
        self.sessions = sessions
        self.store = sessions.store
        self.runs = runs
        self.skills = skills
        self.timezone = timezone  # the default time zone of new tasks

    async def listing(self) -> dict[str, Any]:
        return {"jobs": await self.jobs.all()}

    async def _check_skills(self, value: object) -> list[str]:
        names = check_skills(value)
        for name in names:
            try:
                await self.skills.get(name)
            except NotFound:
                raise BadRequest(f"unknown skill: {name}") from None
        return names

    async def _check_model(self, value: object) -> str | None:
        if value is None or value == "":
            return None
        if not isinstance(value, str) or len(value) > 300:
            raise BadRequest("model must be a model reference of at most 300 characters")
        await self.runs.check_model(None, value, None)
        return value

    async def create(self, body: dict[str, Any], *, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """A new task from an API body; ``extra`` is kept with it (an importer's ``hermes_id``)."""
        prompt = check_prompt(body.get("prompt"))
        name = check_label(body.get("name"), prompt)
        tz_name = body.get("timezone") or self.timezone
        tz = timing.zone(tz_name)
        now = time.time()
        schedule = timing.parse(body.get("schedule"), tz, now)
        skills = await self._check_skills(body.get("skills", body.get("skill")))
        model = await self._check_model(body.get("model"))
        repeat = check_repeat(body.get("repeat"))
        target = body.get("session_id")
        target = check_session_id(target) if target not in (None, "") else None
        if await self.jobs.count() >= MAX_JOBS:
            raise Conflict(f"there are already {MAX_JOBS} tasks; delete some first")
        job_id = new_job_id()
        kept = {k: v for k, v in body.items() if k in ("deliver", "origin") and isinstance(v, str | dict)}
        async with self.store.write() as conn:
            if target is not None:
                session = await self.sessions.materialize(conn, target)
                if session["kind"] != "chat":
                    raise BadRequest("session_id must be a chat session")
                session_id, own = str(session["id"]), False
            else:
                hidden = await self.sessions.create_row(
                    conn, kind=KIND, title=f"Task: {name}"[:300], workspace=self.sessions.resolve_workspace(None),
                    model=model)
                session_id, own = str(hidden["id"]), True
            await conn.execute(t.cron_jobs.insert().values(
                id=job_id, name=name, prompt=prompt, schedule=schedule.display, kind=schedule.kind,
                expr=schedule.expr, timezone=tz.key, model=model, skills=skills, session_id=session_id,
                own_session=own, state="scheduled", next_run_at=timing.first(schedule, tz, now, now), anchor_at=now,
                repeat_times=1 if schedule.kind == "once" and repeat is None else repeat,
                created_at=now, updated_at=now, extra=kept | (extra or {}),
            ))
        self.scheduler.wake()
        return await self.jobs.get(job_id)

    async def update(self, body: dict[str, Any]) -> dict[str, Any]:
        job_id = check_job_id(body.get("job_id", body.get("id")))
        if "session_id" in body:
            raise BadRequest("a task's session cannot be changed; make a new task")
        row = await self.jobs.get_row(job_id)
        values: dict[str, Any] = {}
        if "prompt" in body:
            values["prompt"] = check_prompt(body["prompt"])
        if "name" in body:
            values["name"] = check_label(body["name"], values.get("prompt", row["prompt"]))
        if "skills" in body or "skill" in body:
            values["skills"] = await self._check_skills(body.get("skills", body.get("skill")))
        if "model" in body:
            values["model"] = await self._check_model(body["model"])
        if "repeat" in body:
            values["repeat_times"] = check_repeat(body["repeat"])
        now = time.time()
        if "schedule" in body or "timezone" in body:
            tz = timing.zone(body.get("timezone") or row["timezone"])
            schedule = timing.parse(body.get("schedule") or row["schedule"], tz, now)
            values.update(schedule=schedule.display, kind=schedule.kind, expr=schedule.expr, timezone=tz.key,
                          anchor_at=now)
            if row["state"] != "paused":
                values.update(state="scheduled", next_run_at=timing.first(schedule, tz, now, now))
        if not values:
            raise BadRequest(f"nothing to update; send any of {', '.join(UPDATABLE)}")
        values["updated_at"] = now
        await self._set(job_id, values)
        return await self.jobs.get(job_id)

    async def _set(self, job_id: str, values: dict[str, Any]) -> None:
        async with self.store.write() as conn:
            changed = await conn.execute(update(t.cron_jobs).where(t.cron_jobs.c.id == job_id).values(**values))
        if not changed.rowcount:
            raise NotFound(f"task not found: {job_id}")
        self.scheduler.wake()

    async def pause(self, job_id: object) -> dict[str, Any]:
        row = await self.jobs.get_row(job_id)
        if row["state"] == "completed":
            raise BadRequest("this task has completed; nothing to pause")
        await self._set(row["id"], {"state": "paused", "updated_at": time.time()})
        return await self.jobs.get(row["id"])

    async def resume(self, job_id: object) -> dict[str, Any]:
        row = await self.jobs.get_row(job_id)
        if row["state"] != "paused":
            raise BadRequest(f"this task is {row['state']}, not paused")
        now = time.time()
        tz = timing.zone(row["timezone"])
        schedule = timing.Schedule(row["kind"], row["expr"], row["schedule"])
        nxt = timing.first(schedule, tz, row["anchor_at"], now)
        state = "scheduled" if nxt is not None else "completed"
        await self._set(row["id"], {"state": state, "next_run_at": nxt, "updated_at": now})
        return await self.jobs.get(row["id"])

    async def run(self, job_id: object) -> dict[str, Any]:
        started = await self.firings.run_now(job_id)
        return {"ok": True, "status": "started", "job_id": job_id, "firing_id": started.firing_id,
                "stream_id": started.run_id, "session_id": started.session_id}

    async def delete(self, job_id: object) -> dict[str, Any]:
        row = await self.jobs.get_row(job_id)
        f = t.cron_firings
        async with self.store.read() as conn:
            live = [r.run_id for r in await conn.execute(
                select(f.c.run_id).where(f.c.job_id == row["id"], f.c.status == "running"))]
            own = await self.sessions.row(conn, row["session_id"]) if row["own_session"] and row["session_id"] else None
        if own is not None and own["active_run_id"] and own["active_run_id"] not in live:
            live.append(own["active_run_id"])  # someone chatting in the task's own chat
        for run_id in live:
            await self.runs.cancel(run_id)
        async with self.store.write() as conn:
            await conn.execute(delete(t.cron_jobs).where(t.cron_jobs.c.id == row["id"]))
        if own is not None:
            await self.sessions.delete(own["id"])
        return {"ok": True, "job_id": row["id"]}

    async def output(self, job_id: object, limit: int = 10) -> dict[str, Any]:
        """Hermes' ``{job_id, outputs: [{filename, content}]}``, newest first, with each firing's
        fields beside (status, trigger, times, run and session)."""
        row = await self.jobs.get_row(job_id)
        tz = timing.zone(row["timezone"])
        f = t.cron_firings
        async with self.store.read() as conn:
            rows = (await conn.execute(select(f).where(f.c.job_id == row["id"]).order_by(f.c.id.desc())
                                       .limit(max(1, min(limit, MAX_OUTPUTS))))).mappings().all()
        return {"job_id": row["id"], "outputs": [_output(row, r, tz) for r in rows]}

    async def recent(self, since: float) -> dict[str, Any]:
        """Firings that ended after ``since`` (Hermes' ``/api/crons/recent``)."""
        f, j = t.cron_firings, t.cron_jobs
        async with self.store.read() as conn:
            rows = (await conn.execute(
                select(f.c.id, f.c.job_id, f.c.status, f.c.finished_at, f.c.session_id, j.c.name)
                .join(j, j.c.id == f.c.job_id).where(f.c.finished_at > since).order_by(f.c.finished_at).limit(100)
            )).all()
        return {"completions": [{"firing_id": r.id, "job_id": r.job_id, "name": r.name, "status": r.status,
                                 "completed_at": r.finished_at, "session_id": r.session_id} for r in rows],
                "now": time.time()}


def _output(job: Any, firing: Any, tz: Any) -> dict[str, Any]:
    stamp = datetime.fromtimestamp(firing["started_at"] or firing["due_at"], tz).strftime("%Y-%m-%d_%H-%M-%S")
    status = firing["status"]
    body = firing["answer"] if status == "succeeded" else (firing["error"] or "(still running)")
    content = (f"# {job['name']}\n\n**Status:** {status} · **Trigger:** {firing['trigger']} · "
               f"**Due:** {timing.iso(firing['due_at'], tz)}\n\n## Prompt\n\n{job['prompt']}\n\n"
               f"## Response\n\n{body or ''}\n")
    return {"filename": f"{stamp}.md", "content": content, "firing_id": firing["id"], "status": status,
            "trigger": firing["trigger"], "due_at": timing.iso(firing["due_at"], tz),
            "started_at": timing.iso(firing["started_at"], tz), "finished_at": timing.iso(firing["finished_at"], tz),
            "run_id": firing["run_id"], "session_id": firing["session_id"], "instance_id": firing["instance_id"],
            "answer": firing["answer"], "error": firing["error"]}
