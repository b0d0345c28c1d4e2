"""Run events through Redis Streams, so any instance can serve and replay any run.

Only runs someone reads on another instance go through Redis (issue 18 item 3). A reader there marks
the run wanted (``<prefix>:want:<run_id>``, a key with a TTL it refreshes while it reads) and tells the
owner so (a message on its control channel, which wakes its mirror at once); the owner also looks for
such marks a few times a second, should a message be lost. From then on it appends the run's events
to the stream ``<prefix>:run:<run_id>`` with each event's sequence number as the entry id
(``<seq>-0``), so a reader resumes after any ``seq`` with one ``XREAD``. The owner sends every
mirrored run's new events in one pipeline per tick, ticks at a fixed rate (from the start of the last
tick, not its end), and sets a stream's expiry when it starts and ends, not at every tick. The stream
is capped (``MAXLEN ~``) and expires a while after the run ends; the database's ``run_events`` stays
the record for old runs and fills any gap left by the cap.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import select

from threadline.cluster.tails import Follower, Tails
from threadline.runs.live import TERMINAL_EVENTS, LiveRun, RunEvent, replay_to_end, stored_events
from threadline.store import tables as t
from threadline.store.engine import Store

log = logging.getLogger("threadline.cluster")

ENDED_STATUSES = frozenset({"succeeded", "failed", "cancelled", "interrupted"})
# While a run goes on its stream outlives any pause (an approval waits at most its timeout).
RUNNING_TTL_SECONDS = 24 * 3600
MIRROR_INTERVAL = 0.02  # how often the owner sends mirrored runs' new events (one pipeline for all)
WANT_CHECK_INTERVAL = 0.25  # how often it looks for marks it was not told of (one MGET for all)
WANT_TTL_SECONDS = 30  # a reader refreshes its mark well within this
ENDED_GRACE_SECONDS = 2 * WANT_CHECK_INTERVAL + MIRROR_INTERVAL


@dataclass
class _Mirror:
    live: LiveRun
    wanted: bool = False
    sent: int = 0  # events of the run already in Redis
    ended_at: float | None = None
    expires: bool = False  # the stream's expiry is set (at its first send)


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
        self._runs: dict[str, _Mirror] = {}
        self._ticker: asyncio.Task[None] | None = None
        self._wake: asyncio.Future[None] | None = None  # the ticker's wait, cut short by a reader's call
        self._checked_wants = 0.0
        self.tails = Tails(redis)  # one XREAD for every stream followed here

    def key(self, run_id: str) -> str:
        return f"{self.prefix}:run:{run_id}"

    # -- the owner's side -----------------------------------------------------------------------

    def want_key(self, run_id: str) -> str:
        return f"{self.prefix}:want:{run_id}"

    def publish(self, live: LiveRun) -> None:
        """Track a run started here; its events go to Redis once a reader elsewhere wants them."""
        self._runs[live.id] = _Mirror(live)
        if self._ticker is None or self._ticker.done():
            self._ticker = asyncio.create_task(self._tick_forever(), name="stream-mirror")

    def wanted(self, run_id: str) -> None:
        """A reader elsewhere marked ``run_id`` wanted and says so: mirror it from the next tick, now."""
        mirror = self._runs.get(run_id)
        if mirror is None or mirror.wanted:
            return
        mirror.wanted = True
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)

    async def _tick_forever(self) -> None:
        """A tick every ``MIRROR_INTERVAL`` from the start of the last one: waiting a whole interval
        after a tick whose reply came late through a busy loop left events waiting for two."""
        loop = asyncio.get_running_loop()
        due = loop.time()
        while self._runs:
            due = max(due + MIRROR_INTERVAL, loop.time() + MIRROR_INTERVAL / 5)
            self._wake = loop.create_future()
            timer = loop.call_later(due - loop.time(), _settle, self._wake)
            try:
                await self._wake
            finally:
                timer.cancel()
            try:
                await self.tick()
            except RedisError as exc:  # readers fall back to the database meanwhile
                log.warning("could not mirror run events to Redis: %s", exc)

    async def tick(self) -> None:
        """Send the new events of every mirrored run in one pipeline, and with them (every
        ``WANT_CHECK_INTERVAL``) look for runs marked wanted elsewhere that no one told of; forget
        runs that ended and were sent (or never wanted)."""
        now = time.monotonic()
        mirrors = list(self._runs.values())
        unwanted = [m for m in mirrors if not m.wanted]
        check = bool(unwanted) and now - self._checked_wants >= WANT_CHECK_INTERVAL
        due = [(m, len(m.live.events)) for m in mirrors if m.wanted and (m.sent < len(m.live.events) or m.live.ended)]
        if check or due:
            async with self.redis.pipeline(transaction=False) as pipe:
                if check:
                    self._checked_wants = now
                    pipe.mget([self.want_key(m.live.id) for m in unwanted])
                for mirror, upto in due:
                    ended = mirror.live.ended and upto == len(mirror.live.events)
                    self._queue(pipe, mirror.live.id, mirror.live.events[mirror.sent:upto], ended=ended,
                                expire=ended or not mirror.expires)
                replies = await pipe.execute()
            for mirror, upto in due:
                mirror.sent, mirror.expires = upto, True
            if check:
                for mirror, mark in zip(unwanted, replies[0], strict=True):
                    mirror.wanted = mirror.wanted or mark is not None
        for mirror in mirrors:
            if not mirror.live.ended:
                continue
            mirror.ended_at = mirror.ended_at or now
            sent_all = mirror.wanted and mirror.sent == len(mirror.live.events)
            # A reader that marked the run just before it ended is still served (the grace period);
            # a later one finds the run ended in the database and replays it from there.
            if sent_all or now - mirror.ended_at > ENDED_GRACE_SECONDS:
                self._runs.pop(mirror.live.id, None)

    def _queue(self, pipe: Any, run_id: str, events: list[RunEvent], *, ended: bool, expire: bool = True) -> None:
        key = self.key(run_id)
        for event in events:
            fields: dict[Any, Any] = encode(event)
            pipe.xadd(key, fields, id=f"{event.seq}-0", maxlen=self.maxlen, approximate=True)
        if expire:
            pipe.expire(key, int(self.ttl if ended else RUNNING_TTL_SECONDS))

    async def append(self, run_id: str, events: list[RunEvent], *, ended: bool) -> None:
        """XADD ``events`` (ids = seq) and set the stream's expiry (the sweeper's terminal event);
        failures are logged, never raised: readers fall back to the database."""
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                self._queue(pipe, run_id, events, ended=ended)
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
        """Send what wanted runs still hold, stop reading (shutdown)."""
        await self.tails.close()
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError, RedisError):
                await self._ticker
        with contextlib.suppress(RedisError, TimeoutError):
            await asyncio.wait_for(self.tick(), timeout)

    # -- any instance's side --------------------------------------------------------------------

    async def exists(self, run_id: str) -> bool:
        return bool(await self.redis.exists(self.key(run_id)))

    async def tail(
        self, store: Store, run_id: str, after_seq: int, heartbeat: float, *, poll: float = 1.0,
        tell_owner: Callable[[Any], object] | None = None,
    ) -> AsyncIterator[list[RunEvent] | None]:
        """Events after ``after_seq`` until a terminal one. A gap in the stream (trimmed by MAXLEN) is
        filled from ``run_events``; when the stream stays quiet and the run has ended in the database
        (an owner that died after its last write), the rest comes from the database. ``tell_owner``
        queues, on the pipeline that marks the run wanted, a notice to its owner, which then mirrors
        it without waiting to find the mark. The mark, the notice and the first read go in one round
        trip: a reader that joins during a burst of starts waits for the loop once, not three times."""
        key = self.key(run_id)

        def mark(pipe: Any) -> None:
            pipe.set(self.want_key(run_id), "1", ex=WANT_TTL_SECONDS)
            if tell_owner is not None:
                tell_owner(pipe)

        async with self.tails.follow(key, after_seq, prelude=mark) as follower:
            async for item in self._follow(store, run_id, key, follower, after_seq, heartbeat, poll):
                yield item

    async def _follow(self, store: Store, run_id: str, key: str, follower: Follower, position: int,
                      heartbeat: float, poll: float) -> AsyncIterator[list[RunEvent] | None]:
        idle_since = marked = time.monotonic()
        wait = max(0.01, min(poll, heartbeat))
        while True:
            if time.monotonic() - marked > WANT_TTL_SECONDS / 3:
                await self.redis.set(self.want_key(run_id), "1", ex=WANT_TTL_SECONDS)
                marked = time.monotonic()
            entries = await follower.next(wait)
            if not entries:
                if await _ended(store, run_id):
                    async for ended in replay_to_end(store, run_id, position):
                        position = follower.position = max(position, ended[-1].seq)
                        yield ended
                        if ended[-1].type in TERMINAL_EVENTS:
                            return
                    if not await self._has_more(key, position):
                        return
                if time.monotonic() - idle_since >= heartbeat:
                    idle_since = time.monotonic()
                    yield None
                continue
            idle_since = time.monotonic()
            batch: list[RunEvent] = []  # what one read brought, in one piece
            for entry_id, fields in entries:
                event = decode(entry_id, fields)
                if event.seq <= position:  # replayed from the database already
                    continue
                if event.seq > position + 1:
                    batch.extend(m for m in await stored_events(store, run_id, position) if m.seq < event.seq)
                position = event.seq
                batch.append(event)
                if event.type in TERMINAL_EVENTS:
                    yield batch
                    return
            yield batch

    async def _has_more(self, key: str, position: int) -> bool:
        return bool(await self.redis.xrange(key, min=f"({position}-0", count=1))


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def _ended(store: Store, run_id: str) -> bool:
    async with store.read() as conn:
        status = (await conn.execute(select(t.runs.c.status).where(t.runs.c.id == run_id))).scalar()
    return status is None or status in ENDED_STATUSES
