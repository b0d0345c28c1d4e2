"""Firings: each one claimed once, run as an ordinary run, and reported once.

A scheduled firing is claimed by the conditional UPDATE that moves the task's ``next_run_at`` from the
slot being fired to the next one (``WHERE next_run_at = <slot>``): whatever the number of instances,
one transaction wins, the others update nothing. The same transaction records the ``cron_firings`` row
(unique per slot) and claims the run through the run layer's public API (``RunManager.transaction`` ->
``StartTx.claim``), so the firing, its user message and its run exist together or not at all.

A slot more than the grace period late (the server was down, the session stayed busy) is not run: it
is recorded as ``missed``, with how many slots were missed, and the task moves on; the user gets one
notice (``notices.source = firing:<id>``). How a firing's run ends is ``endings.py``.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from threadline.errors import BadRequest, Conflict
from threadline.runs.manager import RunManager
from threadline.runs.starts import RunSpec
from threadline.schedules import timing
from threadline.schedules.jobs import JobStore
from threadline.sessions.notices import NoticeService
from threadline.sessions.service import SessionService
from threadline.store import tables as t

log = logging.getLogger("threadline.schedules")

KIND = "scheduled"  # the kind of a task's runs and of its own hidden session


class _NotClaimed(Exception):
    def __init__(self, outcome: str) -> None:
        self.outcome = outcome  # taken | busy


@dataclass(frozen=True)
class Started:
    firing_id: int
    run_id: str
    session_id: str


def _schedule(row: Any) -> tuple[timing.Schedule, Any]:
    return timing.Schedule(row["kind"], row["expr"], row["schedule"]), timing.zone(row["timezone"])


def advance(row: Any, due_at: float, now: float, *, counts: bool = True) -> dict[str, Any]:
    """The task's new values once the slot ``due_at`` is used up at ``now``: the next slot after both
    (slots that passed meanwhile are not run), completed when there is none or the repeat count is
    reached."""
    schedule, tz = _schedule(row)
    nxt = timing.after(schedule, tz, row["anchor_at"], max(due_at, now))
    run_count = row["run_count"] + (1 if counts else 0)
    if row["repeat_times"] is not None and run_count >= row["repeat_times"]:
        nxt = None
    values: dict[str, Any] = {"next_run_at": nxt, "run_count": run_count, "updated_at": now}
    if nxt is None:
        values["state"] = "completed"
    return values


def _inserted_id(result: Any) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


class Firings:
    def __init__(self, *, runs: RunManager, sessions: SessionService, notices: NoticeService, jobs: JobStore,
                 instance_id: str, grace: float) -> None:
        self.runs = runs
        self.sessions = sessions
        self.store = sessions.store
        self.notices = notices
        self.jobs = jobs
        self.instance_id = instance_id
        self.grace = grace

    # -- firing ----------------------------------------------------------------------------------

    async def fire(self, job_id: str, due_at: float) -> str:
        """Fire the slot ``due_at`` of a task: started, missed, failed (the model check failed),
        taken (another instance did it, or the task changed) or busy (its session has a live run)."""
        async with self.store.read() as conn:
            row = await self.jobs.row(conn, job_id)
        if row is None or row["state"] != "scheduled" or row["next_run_at"] != due_at:
            return "taken"
        now = time.time()
        if now - due_at > self.grace:
            return await self._missed(row, due_at, now)
        try:
            await self.start(row, "schedule", due_at)
        except _NotClaimed as exc:
            return exc.outcome
        except BadRequest as exc:
            return await self._failed_to_start(row, due_at, exc.message)
        return "started"

    async def run_now(self, job_id: object) -> Started:
        """A firing now, outside the schedule (``/api/crons/run``); 409 while the task's session is busy."""
        row = await self.jobs.get_row(job_id)
        try:
            return await self.start(row, "manual", time.time())
        except _NotClaimed:
            raise Conflict("the task's session is busy: a firing or a chat turn is still running") from None

    async def _session_of(self, row: Any) -> Any:
        if row["session_id"] is None:
            return None
        async with self.store.read() as conn:
            return await self.sessions.row(conn, row["session_id"])

    async def start(self, row: Any, trigger: str, due_at: float) -> Started:
        session = await self._session_of(row)
        model = await self.runs.check_model(session["runtime"] if session is not None else None, row["model"],
                                            session["model"] if session is not None else None)
        run_id = uuid.uuid4().hex
        now = time.time()
        own = session is None or bool(row["own_session"])
        spec = RunSpec(kind=KIND, history=[{"role": "user", "content": row["prompt"]}] if own else None)
        async with self.runs.transaction() as tx:
            conn = tx.conn
            if trigger == "schedule":
                values = advance(row, due_at, now) | {"last_run_at": now}
                j = t.cron_jobs
                claimed = await conn.execute(update(j).where(
                    j.c.id == row["id"], j.c.state == "scheduled", j.c.next_run_at == due_at).values(**values))
                if claimed.rowcount != 1:
                    raise _NotClaimed("taken")
            else:
                await conn.execute(update(t.cron_jobs).where(t.cron_jobs.c.id == row["id"])
                                   .values(last_run_at=now, updated_at=now))
            session_id = await self._ensure_session(conn, row, session)
            current = await self.sessions.row(conn, session_id, lock=True)
            if current is None or current["active_run_id"] is not None:
                raise _NotClaimed("busy")
            inserted = await conn.execute(t.cron_firings.insert().values(
                job_id=row["id"], due_at=due_at, trigger=trigger, status="running", run_id=run_id,
                session_id=session_id, instance_id=self.instance_id, started_at=now,
            ))
            firing_id = _inserted_id(inserted)
            await tx.claim(session_id, row["prompt"], model=model, spec=spec, run_id=run_id)
        log.info("task %s fired (%s, slot %s): run %s", row["id"], trigger, due_at, run_id)
        return Started(firing_id, run_id, session_id)

    async def _ensure_session(self, conn: AsyncConnection, row: Any, session: Any) -> str:
        """The task's session; a new hidden one when it has none (never had one, or it was deleted)."""
        if session is not None and await self.sessions.row(conn, session["id"]) is not None:
            return str(session["id"])
        hidden = await self.sessions.create_row(
            conn, kind=KIND, title=f"Task: {row['name']}"[:300], workspace=self.sessions.resolve_workspace(None),
            model=row["model"],
        )
        await conn.execute(update(t.cron_jobs).where(t.cron_jobs.c.id == row["id"])
                           .values(session_id=hidden["id"], own_session=True))
        return str(hidden["id"])

    async def _missed(self, row: Any, due_at: float, now: float) -> str:
        schedule, tz = _schedule(row)
        count = timing.slots_between(schedule, tz, row["anchor_at"], due_at, now)
        error = (f"missed {count} firing{'s' if count != 1 else ''} from {timing.iso(due_at, tz)}: more than "
                 f"{timing.describe_delay(self.grace)} late (the server was not running, or the task's session "
                 "stayed busy)")
        return await self._record_unrun(row, due_at, now, "missed", error, counts=False)

    async def _failed_to_start(self, row: Any, due_at: float, message: str) -> str:
        return await self._record_unrun(row, due_at, time.time(), "failed", f"could not start: {message}")

    async def _record_unrun(self, row: Any, due_at: float, now: float, status: str, error: str, *,
                            counts: bool = True) -> str:
        """A slot that did not run: the task moves on and the user is told, once."""
        j, f = t.cron_jobs, t.cron_firings
        async with self.store.write() as conn:
            values = advance(row, due_at, now, counts=counts) | {"last_status": status, "last_error": error}
            claimed = await conn.execute(update(j).where(
                j.c.id == row["id"], j.c.state == "scheduled", j.c.next_run_at == due_at).values(**values))
            if claimed.rowcount != 1:
                return "taken"
            inserted = await conn.execute(f.insert().values(
                job_id=row["id"], due_at=due_at, trigger="schedule", status=status, session_id=row["session_id"],
                instance_id=self.instance_id, finished_at=now, error=error, delivered=True,
            ))
            await self.notices.add(
                conn, source=f"firing:{_inserted_id(inserted)}", kind=f"task_{status}",
                title=f"“{row['name']}” {status}", body=error, session_id=row["session_id"], job_id=row["id"],
            )
        log.warning("task %s: %s", row["id"], error)
        return status
