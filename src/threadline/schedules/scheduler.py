"""The scheduler: one task per instance that sleeps until the next firing is due.

Each wake-up reads the due tasks (one index range scan of ``ix_cron_jobs_due``) and fires them, then
sleeps until the soonest next firing, at most ``poll_seconds`` (so tasks made or changed on another
instance are seen within that time). A change made here wakes it at once (``wake``). With several
instances every one runs a scheduler; the claim in ``firings.py`` makes each firing run once.

A firing whose session is busy is tried again every ``BUSY_RETRY`` seconds until the session is free
or the grace period has passed (then it is recorded as missed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from threadline.schedules.firings import Firings
from threadline.schedules.jobs import JobStore

log = logging.getLogger("threadline.schedules")

BATCH = 50
BUSY_RETRY = 2.0
ERROR_RETRY = 30.0
ERROR_PAUSE = 5.0


class Scheduler:
    def __init__(self, jobs: JobStore, firings: Firings, *, poll_seconds: float) -> None:
        self.jobs = jobs
        self.firings = firings
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._retry: dict[str, float] = {}  # job id -> not before (busy sessions, errors)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="scheduler")

    def wake(self) -> None:
        """Look at the tasks again now (one was made, changed or resumed here)."""
        self._wake.set()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                delay = await self.tick()
            except Exception:
                log.exception("the scheduler failed; trying again in %s s", ERROR_PAUSE)
                delay = ERROR_PAUSE
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)

    async def tick(self) -> float:
        """Fire what is due; the number of seconds until the next look."""
        self._wake.clear()
        now = time.time()
        self._retry = {job_id: at for job_id, at in self._retry.items() if at > now}
        due = await self.jobs.due(now, BATCH)
        attempted = 0
        for job_id, due_at in due:
            if job_id in self._retry:
                continue
            attempted += 1
            try:
                outcome = await self.firings.fire(job_id, due_at)
            except Exception:
                log.exception("task %s could not be fired; trying again in %s s", job_id, ERROR_RETRY)
                outcome = "error"
            if outcome in ("busy", "error"):
                self._retry[job_id] = time.time() + (BUSY_RETRY if outcome == "busy" else ERROR_RETRY)
        if len(due) == BATCH and attempted:
            return 0.0  # more may be due
        upcoming = await self.jobs.upcoming(len(self._retry) + 1)
        soonest = min((max(at, self._retry.get(job_id, 0.0)) for job_id, at in upcoming),
                      default=now + self.poll_seconds)
        return min(self.poll_seconds, max(0.0, soonest - time.time()))
