"""Checkpoints of every live run of this process, written together: one write transaction per tick
whatever the number of runs (issue 11 item 6), so 200 streams cost one write every interval and an
interactive write (a rename, a new message) waits for at most one batch.

Each tick takes the writer turn (``Store.turn``), then the runs that have something to store and
whose own write lock is free (on PostgreSQL a run busy writing is caught at the next tick), checks in
one query that each still owns its session (the rows locked), stores each one's partial text and all
their new events (one bulk insert), then commits.
A run found to have lost its session is marked, and stops at its next event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from sqlalchemy import bindparam, update

from threadline.runs.live import Flush, insert_events, unflushed_rows
from threadline.runs.recorder import CheckpointBatch, Recorder
from threadline.sessions.appending import append_many
from threadline.sessions.context import save_contexts
from threadline.sessions.service import SessionService
from threadline.store import tables as t

log = logging.getLogger("threadline.runs")

_m = t.messages
PARTIAL_TEXT = update(_m).where(_m.c.id == bindparam("message_id")).values(
    content=bindparam("content"), reasoning=bindparam("reasoning"), status="streaming"
)


class Checkpointer:
    def __init__(self, sessions: SessionService, interval: float) -> None:
        self.sessions = sessions
        self.store = sessions.store
        self.interval = interval
        self.recorders: dict[str, Recorder] = {}
        self.last_tick = time.monotonic()  # the lease keeper's sign that the event loop runs
        self.batches = 0  # checkpoint transactions written (metrics, bench)
        self.checkpointed = 0  # run checkpoints written, over all batches (metrics, bench)
        self.seconds = 0.0  # time those batches took, tick to commit (metrics, bench)
        self._task: asyncio.Task[None] | None = None

    def add(self, recorder: Recorder) -> None:
        self.recorders[recorder.run.id] = recorder

    def remove(self, recorder: Recorder) -> None:
        self.recorders.pop(recorder.run.id, None)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._forever(), name="checkpoints")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _forever(self) -> None:
        """A batch every ``interval`` from the start of the last one, not after it: on a busy loop a
        batch takes a good part of the interval, and waiting a whole interval after it left the
        runs' text unsaved for twice as long. At least a fifth of it passes between two batches."""
        pause = self.interval
        while True:
            await asyncio.sleep(pause)
            self.last_tick = time.monotonic()
            batches = self.batches
            try:
                await self.tick()
                if self.batches > batches:  # the time of exactly the batches counted
                    self.seconds += time.monotonic() - self.last_tick
            except Exception:  # a failed batch is retried at the next tick; the runs go on
                log.exception("checkpoint batch of %d run(s) failed", len(self.recorders))
            pause = max(self.interval / 5, self.interval - (time.monotonic() - self.last_tick))

    async def tick(self) -> int:
        """Write one batch; returns the number of runs checkpointed. The batch takes the writer turn
        first (urgent: ahead of every waiting write), then the runs' locks: on SQLite every run's
        own writes take the turn before their lock too, so no run is found locked by a write still
        waiting in the queue, and none misses a checkpoint behind a burst of writes."""
        if not any(r.needs_checkpoint() for r in self.recorders.values()):
            return 0
        async with self.store.turn(urgent=True):
            due = [r for r in self.recorders.values() if r.needs_checkpoint() and not r.run.write_lock.locked()]
            if not due:
                return 0
            for recorder in due:
                await recorder.run.write_lock.acquire()  # free (checked above): no wait, no reordering
            try:
                return await self._write(due)
            finally:
                for recorder in due:
                    recorder.run.write_lock.release()

    async def _write(self, due: list[Recorder]) -> int:
        after: list[Callable[[], None]] = []
        written = 0
        async with self.store.write(urgent=True, inline=True) as conn:
            owners = await self.sessions.owners(conn, [r.run.session_id for r in due])
            events: list[dict[str, object]] = []
            batch = CheckpointBatch()
            for recorder in due:
                run = recorder.run
                if owners.get(run.session_id) != run.id:
                    recorder.lost = True
                    continue
                after.append(recorder.write_checkpoint(batch))
                rows, reserve = unflushed_rows(run)
                events += rows
                if reserve is not None:
                    await conn.execute(update(t.runs).where(t.runs.c.id == run.id).values(seq_reserved=reserve))
                after.append(Flush(len(rows), reserve or run.reserved).applier(run))
                written += 1
            # Every kind of row in one statement for all the runs, never one per run: 200 new runs'
            # first rows one by one held the loop (these statements run in its thread) for 0.7 s.
            placed = await append_many(conn, [item[:3] for item in batch.appends])
            for (*_, slot), row in zip(batch.appends, placed, strict=True):
                slot.extend(row)
            with self.store.offloaded(conn):  # the two bulk statements, in SQLite's thread
                if batch.updates:
                    await conn.execute(PARTIAL_TEXT, batch.updates)
                await insert_events(self.store, conn, events)
            await save_contexts(conn, batch.contexts)
        for committed in after:
            committed()
        self.batches += 1
        self.checkpointed += written
        return written

    def oldest_unsaved(self) -> float:
        """Seconds since the oldest progress of a live run that is not stored yet (0 when none): how
        much streamed text a crash now would lose, at most. A run's progress dates from its oldest
        event not yet stored (every token is one), else, for text whose events were stored without it,
        from the run's last checkpoint. (Dating every pending run from its last checkpoint counted the
        seconds before its first token too: 2.6-3.8 s under a burst of 200 starts, for progress
        actually saved within about half a second.)"""
        now, mono = time.time(), time.monotonic()
        ages = []
        for recorder in self.recorders.values():
            if not recorder.needs_checkpoint():
                continue
            pending = recorder.run.unflushed()
            ages.append(now - pending[0].created_at if pending else mono - recorder.checkpointed_at)
        return max(ages, default=0.0)
