"""Scheduled tasks as rows (``cron_jobs``) and as Hermes' job JSON: ``{id, name, prompt, skills, model,
schedule: {kind, expr | minutes | run_at, display}, schedule_display, repeat: {times, completed},
enabled, state, next_run_at, last_run_at, last_status, last_error, ...}`` with times as ISO 8601 in the
task's time zone. Fields Threadline does not model (Hermes' ``deliver``, ``origin``...) are kept in
``extra`` and given back."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from threadline.errors import BadRequest, NotFound
from threadline.schedules import timing
from threadline.skills.documents import check_name
from threadline.store import tables as t
from threadline.store.engine import Store

MAX_PROMPT = 100_000
MAX_NAME = 200
MAX_SKILLS = 20
MAX_REPEAT = 1_000_000
STATES = ("scheduled", "paused", "completed")
JOB_ID_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyz_-")


def new_job_id() -> str:
    return uuid.uuid4().hex[:12]


def check_job_id(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise BadRequest("job_id is required")
    if len(value) > 32 or not set(value) <= JOB_ID_CHARS:
        raise NotFound(f"task not found: {value[:32]}")
    return value


def check_prompt(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadRequest("prompt is required: what the agent should do at each firing")
    if len(value) > MAX_PROMPT:
        raise BadRequest(f"prompt is longer than {MAX_PROMPT:,} characters")
    return value.strip()


def check_label(value: object, prompt: str) -> str:
    if value is None or value == "":
        words = " ".join(prompt.split())
        return words[:60] + ("…" if len(words) > 60 else "")
    if not isinstance(value, str) or len(value) > MAX_NAME:
        raise BadRequest(f"name must be a string of at most {MAX_NAME} characters")
    return " ".join(value.split()) or prompt[:60]


def check_skills(value: object) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or len(value) > MAX_SKILLS:
        raise BadRequest(f"skills must be a list of at most {MAX_SKILLS} skill names")
    names: list[str] = []
    for item in value:
        name = check_name(item, "skill name")
        if name not in names:
            names.append(name)
    return names


def check_repeat(value: object) -> int | None:
    if isinstance(value, dict):  # Hermes' {"times": n, "completed": k}
        value = value.get("times")
    if value is None or value == 0:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_REPEAT:
        raise BadRequest("repeat must be a number of firings (or null for no limit)")
    return value


@dataclass(frozen=True)
class LastFiring:
    firing_id: int
    status: str
    trigger: str
    finished_at: float | None
    preview: str


def _schedule_json(row: Any, tz: Any) -> dict[str, Any]:
    kind, expr = row["kind"], row["expr"]
    shape: dict[str, Any] = {"kind": kind, "display": row["schedule"], "timezone": row["timezone"]}
    if kind == "cron":
        shape["expr"] = expr
    elif kind == "interval":
        shape.update(seconds=float(expr), minutes=float(expr) / 60)
    else:
        shape["run_at"] = timing.iso(timing.first(timing.Schedule(kind, expr, ""), tz, 0, 0), tz)
    return shape


def public(row: Any, last: LastFiring | None = None) -> dict[str, Any]:
    tz = timing.zone(row["timezone"])
    job: dict[str, Any] = dict(row["extra"] or {}) if isinstance(row["extra"], dict) else {}
    job.update({
        "id": row["id"], "job_id": row["id"], "name": row["name"], "prompt": row["prompt"],
        "skills": list(row["skills"] or []), "skill": (row["skills"] or [None])[0], "model": row["model"],
        "schedule": _schedule_json(row, tz), "schedule_display": row["schedule"], "timezone": row["timezone"],
        "repeat": {"times": row["repeat_times"], "completed": row["run_count"]},
        "enabled": row["state"] != "paused", "state": row["state"],
        "session_id": row["session_id"], "own_session": bool(row["own_session"]),
        "created_at": timing.iso(row["created_at"], tz), "updated_at": timing.iso(row["updated_at"], tz),
        "next_run_at": timing.iso(row["next_run_at"], tz) if row["state"] == "scheduled" else None,
        "last_run_at": timing.iso(row["last_run_at"], tz), "last_status": row["last_status"],
        "last_error": row["last_error"],
        "last_result": None if last is None else {
            "firing_id": last.firing_id, "status": last.status, "trigger": last.trigger,
            "finished_at": timing.iso(last.finished_at, tz), "preview": last.preview,
        },
    })
    job.setdefault("deliver", "local")
    return job


class JobStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def row(self, conn: AsyncConnection, job_id: str, *, lock: bool = False) -> Any:
        query = select(t.cron_jobs).where(t.cron_jobs.c.id == job_id)
        if lock:
            query = query.with_for_update()
        return (await conn.execute(query)).mappings().first()

    async def get_row(self, job_id: object) -> Any:
        job_id = check_job_id(job_id)
        async with self.store.read() as conn:
            row = await self.row(conn, job_id)
        if row is None:
            raise NotFound(f"task not found: {job_id}")
        return row

    async def get(self, job_id: object) -> dict[str, Any]:
        row = await self.get_row(job_id)
        return public(row, (await self._last([row["id"]])).get(row["id"]))

    async def all(self) -> list[dict[str, Any]]:
        async with self.store.read() as conn:
            rows = list((await conn.execute(select(t.cron_jobs).order_by(t.cron_jobs.c.created_at))).mappings())
        last = await self._last([r["id"] for r in rows])
        return [public(r, last.get(r["id"])) for r in rows]

    async def count(self) -> int:
        async with self.store.read() as conn:
            return int((await conn.execute(select(func.count()).select_from(t.cron_jobs))).scalar() or 0)

    async def _last(self, job_ids: list[str]) -> dict[str, LastFiring]:
        """Each task's latest finished firing."""
        if not job_ids:
            return {}
        f = t.cron_firings
        latest = (select(f.c.job_id, func.max(f.c.id)).where(f.c.job_id.in_(job_ids), f.c.finished_at.is_not(None))
                  .group_by(f.c.job_id))
        found: dict[str, LastFiring] = {}
        async with self.store.read() as conn:
            ids = {job_id: fid for job_id, fid in (await conn.execute(latest)).all()}
            if not ids:
                return {}
            rows = (await conn.execute(select(f).where(f.c.id.in_(list(ids.values()))))).mappings()
            for r in rows:
                text = r["answer"] or r["error"] or ""
                found[r["job_id"]] = LastFiring(r["id"], r["status"], r["trigger"], r["finished_at"],
                                                " ".join(text.split())[:200])
        return found

    async def due(self, now: float, limit: int = 50) -> list[tuple[str, float]]:
        """Scheduled tasks whose next firing has come, the most overdue first."""
        j = t.cron_jobs
        query = (select(j.c.id, j.c.next_run_at).where(j.c.state == "scheduled", j.c.next_run_at <= now)
                 .order_by(j.c.next_run_at).limit(limit))
        async with self.store.read() as conn:
            return [(r.id, float(r.next_run_at)) for r in await conn.execute(query)]

    async def upcoming(self, limit: int) -> list[tuple[str, float]]:
        """The ``limit`` soonest firings of scheduled tasks (one index range scan)."""
        j = t.cron_jobs
        query = (select(j.c.id, j.c.next_run_at).where(j.c.state == "scheduled", j.c.next_run_at.is_not(None))
                 .order_by(j.c.next_run_at).limit(limit))
        async with self.store.read() as conn:
            return [(r.id, float(r.next_run_at)) for r in await conn.execute(query)]
