"""The event log of a run and its broadcast to subscribers.

Every event gets the next sequence number and is appended to the run's log before any subscriber
sees it; every subscriber reads the log from its own position, so two tabs see the same events and a
reconnect with ``after_seq`` gets exactly what it missed. The log lives in memory while the run is
live and is flushed to ``run_events`` in batches (with each checkpoint) and in full when the run ends,
so an ended run replays from the database.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from threadline.jsonvalues import encode_json
from threadline.store import tables as t
from threadline.store.engine import Store

TERMINAL_EVENTS = frozenset({"stream_end", "apperror", "cancel"})
MAX_BATCH = 256  # events a reader gets in one piece at most (one write to its client)
# Sequence numbers a live run reserves durably (``runs.seq_reserved``) ahead of use: an ending that
# another process writes for it (recovery after a crash, a sweep) is numbered above the reservation,
# so a client that saw events the dead process never flushed still gets a terminal event after them.
SEQ_RESERVE = 100_000
# An event already stored is left as it is: a flush cancelled as its commit went through (a run
# cancelled while it stores its question) stored its events without counting them, and the next
# flush writes them again.
_INSERT_EVENTS = ("INSERT INTO run_events (run_id, seq, type, data, created_at) VALUES (?, ?, ?, ?, ?) "
                  "ON CONFLICT (run_id, seq) DO NOTHING")
_INSERT_EVENTS_PG = ("INSERT INTO run_events (run_id, seq, type, data, created_at) VALUES ($1, $2, $3, $4, $5) "
                     "ON CONFLICT (run_id, seq) DO NOTHING")


@dataclass(frozen=True, slots=True)
class RunEvent:
    seq: int
    type: str
    data: dict[str, Any]
    created_at: float


@dataclass
class LiveRun:
    """One run in progress on this instance."""

    id: str
    session_id: str
    kind: str = "chat"
    events: list[RunEvent] = field(default_factory=list)
    flushed: int = 0
    reserved: int = SEQ_RESERVE  # the stored ``runs.seq_reserved``
    ended: bool = False
    task: asyncio.Task[None] | None = None
    cancel_requested: bool = False
    write_lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one write of this run at a time
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def emit(self, type_: str, data: dict[str, Any]) -> RunEvent:
        event = RunEvent(len(self.events) + 1, type_, data, time.time())
        self.events.append(event)
        if type_ in TERMINAL_EVENTS:
            self.ended = True
        self._notify()
        return event

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def finish(self) -> None:
        self.ended = True
        self._notify()

    async def follow(self, after_seq: int, heartbeat: float) -> AsyncIterator[list[RunEvent] | None]:
        """Events after ``after_seq`` as they come, in batches: every event that arrived while the reader
        was busy comes at once, so a slow reader catches up in one write instead of one per token.
        ``None`` is a heartbeat after an idle period."""
        position = max(0, after_seq)
        while True:
            if position < len(self.events):
                batch = self.events[position : position + MAX_BATCH]
                position += len(batch)
                yield batch
                continue
            if self.ended:
                return
            waiter = self._changed
            try:
                async with asyncio.timeout(heartbeat):  # a timer, not a task per wait (wait_for)
                    await waiter.wait()
            except TimeoutError:
                yield None

    def unflushed(self) -> list[RunEvent]:
        return self.events[self.flushed :]


@dataclass(frozen=True, slots=True)
class Flush:
    """What ``insert_unflushed`` wrote; applied to the run once its transaction has committed."""

    count: int
    reserved: int

    def apply(self, run: LiveRun) -> None:
        run.flushed += self.count
        run.reserved = max(run.reserved, self.reserved)

    def applier(self, run: LiveRun) -> Callable[[], None]:
        return lambda: self.apply(run)


def unflushed_rows(run: LiveRun) -> tuple[list[dict[str, Any]], int | None]:
    """The ``run_events`` rows not yet stored, and the new reservation of sequence numbers when the
    run gets close to its current one."""
    rows = [
        {"run_id": run.id, "seq": e.seq, "type": e.type, "data": e.data, "created_at": e.created_at}
        for e in run.unflushed()
    ]
    reserve = len(run.events) + SEQ_RESERVE if len(run.events) + SEQ_RESERVE // 2 > run.reserved else None
    return rows, reserve


async def insert_events(store: Store, conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """``run_events`` rows (``unflushed_rows``) in one statement. ``data`` is encoded here with orjson
    and the rows go to the driver as they are (asyncpg pipelines them): the checkpoint batch of 200
    streams holds some 3,000 of them, and SQLAlchemy's processing of each row's parameters (the
    stdlib's JSON encoder among it) took most of the batch's time."""
    if not rows:
        return
    await conn.exec_driver_sql(
        _INSERT_EVENTS if store.is_sqlite else _INSERT_EVENTS_PG,
        [(r["run_id"], r["seq"], r["type"], encode_json(r["data"]).decode(), r["created_at"]) for r in rows],
    )


async def insert_unflushed(store: Store, conn: AsyncConnection, run: LiveRun) -> Flush:
    """Insert the events not yet in ``run_events`` in ``conn``'s transaction, and move the run's
    reservation of sequence numbers ahead when it gets close. The caller holds ``run.write_lock``
    and applies the result once the transaction has committed."""
    rows, reserve = unflushed_rows(run)
    await insert_events(store, conn, rows)
    if reserve is not None:
        await conn.execute(update(t.runs).where(t.runs.c.id == run.id).values(seq_reserved=reserve))
    return Flush(len(rows), reserve or run.reserved)


async def flush_events(store: Store, run: LiveRun) -> None:
    async with store.turn(background=True), run.write_lock:  # the turn first (``Store.turn``)
        if not run.unflushed():
            return
        async with store.write(inline=True) as conn:
            flush = await insert_unflushed(store, conn, run)
        flush.apply(run)


async def stored_events(store: Store, run_id: str, after_seq: int) -> list[RunEvent]:
    e = t.run_events
    async with store.read() as conn:
        rows = await conn.execute(
            select(e.c.seq, e.c.type, e.c.data, e.c.created_at)
            .where(e.c.run_id == run_id, e.c.seq > after_seq)
            .order_by(e.c.seq)
        )
        return [RunEvent(r.seq, r.type, r.data, r.created_at) for r in rows]


def batches(events: list[RunEvent]) -> list[list[RunEvent]]:
    """``events`` in pieces of at most ``MAX_BATCH``, as a reader gets them."""
    return [events[start : start + MAX_BATCH] for start in range(0, len(events), MAX_BATCH)]


async def replay_events(store: Store, run_id: str, after_seq: int) -> list[RunEvent]:
    """The stored events after ``after_seq``. A client that is past the stored terminal event (it saw
    events that a crashed process never stored) still gets that terminal event: a stream always ends."""
    events = await stored_events(store, run_id, after_seq)
    if events or after_seq <= 0:
        return events
    e = t.run_events
    async with store.read() as conn:
        last = (await conn.execute(
            select(e.c.seq, e.c.type, e.c.data, e.c.created_at).where(e.c.run_id == run_id)
            .order_by(e.c.seq.desc()).limit(1)
        )).first()
    if last is not None and last.type in TERMINAL_EVENTS and last.seq < after_seq:
        return [RunEvent(last.seq, last.type, last.data, last.created_at)]
    return []


async def replay_to_end(
    store: Store, run_id: str, after_seq: int, *, wait: float = 5.0
) -> AsyncIterator[list[RunEvent]]:
    """Replay an ended run from the database up to its terminal event. The run's last events may
    still be on their way to the database (its ending commits first, its events right after), so
    this waits up to ``wait`` seconds for the terminal event to be stored."""
    deadline = time.monotonic() + wait
    position = after_seq
    while True:
        events = await replay_events(store, run_id, position)
        ends = [i for i, event in enumerate(events) if event.type in TERMINAL_EVENTS]
        if ends:
            events = events[: ends[0] + 1]
        for batch in batches(events):
            yield batch
        if ends:
            return
        if events:
            position = max(position, events[-1].seq)
        if time.monotonic() >= deadline:
            return
        await asyncio.sleep(0.05)
