"""Run events through Redis Streams, so any instance can serve and replay any run.

The owner of a run follows its ``LiveRun`` like any subscriber and appends each event to the stream
``<prefix>:run:<run_id>`` with the event's sequence number as the entry id (``<seq>-0``), so a reader
resumes after any ``seq`` with one ``XREAD``. The stream is capped (``MAXLEN ~``) and expires a while
after the run ends; the database's ``run_events`` stays the record for old runs and fills any gap left
by the cap.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import select

from threadline.runs.live import TERMINAL_EVENTS, LiveRun, RunEvent, replay_events, stored_events
from threadline.store import tables as t
from threadline.store.engine import Store

log = logging.getLogger("threadline.cluster")

ENDED_STATUSES = frozenset({"succeeded", "failed", "cancelled", "interrupted"})
# While a run goes on its stream outlives any pause (an approval waits at most its timeout).
RUNNING_TTL_SECONDS = 24 * 3600


def encode(event: RunEvent) -> dict[str, str]:
    return {"type": event.type, "data": json.dumps(event.data, default=str), "at": repr(event.created_at)}


def decode(entry_id: str, fields: dict[str, str]) -> RunEvent:
    return RunEvent(int(entry_id.split("-", 1)[0]), fields["type"], json.loads(fields["data"]), float(fields["at"]))


class EventStreams:
    def __init__(self, redis: Redis, *, prefix: str, maxlen: int, ttl_seconds: float) -> None:
        self.redis = redis
        self.prefix = prefix
        self.maxlen = maxlen
        self.ttl = ttl_seconds
        self._publishers: set[asyncio.Task[None]] = set()

    def key(self, run_id: str) -> str:
        return f"{self.prefix}:run:{run_id}"

    # -- the owner's side -----------------------------------------------------------------------

    def publish(self, live: LiveRun) -> None:
        """Mirror a run started here into its stream (a RunManager launch hook)."""
        task = asyncio.create_task(self._mirror(live), name=f"stream-{live.id}")
        self._publishers.add(task)
        task.add_done_callback(self._publishers.discard)

    async def _mirror(self, live: LiveRun) -> None:
        batch: list[RunEvent] = []
        async for event in live.follow(0, heartbeat=60):
            if event is None:
                continue
            batch.append(event)
            if event.seq < len(live.events):
                continue  # more are already waiting: send them together
            await self.append(live.id, batch, ended=live.ended)
            batch = []
        if batch or live.ended:
            await self.append(live.id, batch, ended=True)

    async def append(self, run_id: str, events: list[RunEvent], *, ended: bool) -> None:
        """XADD ``events`` (ids = seq) and set the stream's expiry; failures are logged, never raised:
        the run goes on and readers fall back to the database."""
        key = self.key(run_id)
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for event in events:
                    fields: dict[Any, Any] = encode(event)
                    pipe.xadd(key, fields, id=f"{event.seq}-0", maxlen=self.maxlen, approximate=True)
                pipe.expire(key, int(self.ttl if ended else RUNNING_TTL_SECONDS))
                await pipe.execute()
        except RedisError as exc:
            log.warning("could not publish %d events of run %s to Redis: %s", len(events), run_id, exc)

    async def read_after(self, run_id: str, after_seq: int) -> list[RunEvent]:
        """Everything the stream holds after ``after_seq`` (the sweeper copies it to the database)."""
        entries: list[tuple[str, dict[str, str]]] = await self.redis.xrange(  # type: ignore[assignment]
            self.key(run_id), min=f"({after_seq}-0" if after_seq else "-"
        )
        return [decode(entry_id, fields) for entry_id, fields in entries]

    async def drain(self, timeout: float = 5.0) -> None:
        """Let the mirrors of ended runs finish sending (shutdown)."""
        if self._publishers:
            await asyncio.wait(set(self._publishers), timeout=timeout)
        for task in set(self._publishers):
            task.cancel()

    # -- any instance's side --------------------------------------------------------------------

    async def exists(self, run_id: str) -> bool:
        return bool(await self.redis.exists(self.key(run_id)))

    async def tail(
        self, store: Store, run_id: str, after_seq: int, heartbeat: float, *, poll: float = 1.0
    ) -> AsyncIterator[RunEvent | None]:
        """Events after ``after_seq`` until a terminal one. A gap in the stream (trimmed by MAXLEN) is
        filled from ``run_events``; when the stream stays quiet and the run has ended in the database
        (an owner that died after its last write), the rest comes from the database."""
        key = self.key(run_id)
        position = after_seq
        idle_since = time.monotonic()
        block_ms = max(10, int(min(poll, heartbeat) * 1000))
        while True:
            reply: Any = await self.redis.xread({key: f"{position}-0"}, count=500, block=block_ms)
            entries = reply[0][1] if reply else []
            if not entries:
                if await _ended(store, run_id):
                    for event in await replay_events(store, run_id, position):
                        position = event.seq
                        yield event
                        if event.type in TERMINAL_EVENTS:
                            return
                    if not await self.exists(run_id) or not await self._has_more(key, position):
                        return
                if time.monotonic() - idle_since >= heartbeat:
                    idle_since = time.monotonic()
                    yield None
                continue
            idle_since = time.monotonic()
            for entry_id, fields in entries:
                event = decode(entry_id, fields)
                if event.seq > position + 1:
                    for missed in await stored_events(store, run_id, position):
                        if missed.seq >= event.seq:
                            break
                        yield missed
                position = event.seq
                yield event
                if event.type in TERMINAL_EVENTS:
                    return

    async def _has_more(self, key: str, position: int) -> bool:
        return bool(await self.redis.xrange(key, min=f"({position}-0", count=1))


async def _ended(store: Store, run_id: str) -> bool:
    async with store.read() as conn:
        status = (await conn.execute(select(t.runs.c.status).where(t.runs.c.id == run_id))).scalar()
    return status is None or status in ENDED_STATUSES
