"""One instance's membership of a deployment that shares PostgreSQL and Redis (DESIGN §6).

    Cluster.connect(settings)  a Redis client and the drafts in Redis
    attach(runs)               mirror runs started here into Redis Streams; serve runs live elsewhere
                               from there; relay cancel, approvals, clarify questions and steer
                               text to the owner instance; relay the session list's changes
    start()                    listen for requests from other instances; sweep expired leases
    close()                    stop both, let the last events reach Redis
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import select

from threadline.cluster.control import Control
from threadline.cluster.drafts import RedisDrafts
from threadline.cluster.feed import FeedRelay
from threadline.cluster.streams import ENDED_STATUSES, EventStreams
from threadline.errors import NotFound
from threadline.runs.live import LiveRun, RunEvent, replay_to_end
from threadline.runs.manager import RunManager
from threadline.runs.relay import EndedRun
from threadline.settings import Settings
from threadline.store import tables as t

log = logging.getLogger("threadline.cluster")

CANCEL_SETTLE_SECONDS = 2.0


def sweep_interval(lease_seconds: float) -> float:
    """How often each instance looks for expired leases: a run of a dead instance is interrupted at
    most this long after its lease ran out."""
    return max(0.2, min(lease_seconds / 4, 5.0))


class Cluster:
    def __init__(self, redis: Redis, settings: Settings, instance_id: str) -> None:
        self.redis = redis
        self.settings = settings
        self.instance_id = instance_id
        prefix = settings.redis_prefix
        self.drafts = RedisDrafts(redis, prefix=prefix, ttl_seconds=settings.draft_ttl_seconds, cap=settings.draft_cap)
        self.streams = EventStreams(redis, prefix=prefix, maxlen=settings.redis_stream_maxlen,
                                    ttl_seconds=settings.redis_stream_ttl_seconds)
        self.control = Control(redis, prefix=prefix, instance_id=instance_id)
        self._runs: RunManager | None = None
        self._feed: FeedRelay | None = None
        self._sweeper: asyncio.Task[None] | None = None

    @classmethod
    def connect(cls, settings: Settings, instance_id: str) -> Cluster:
        assert settings.redis_url is not None
        redis = Redis.from_url(settings.redis_url, decode_responses=True, health_check_interval=30,
                               socket_connect_timeout=5)
        return cls(redis, settings, instance_id)

    @property
    def runs(self) -> RunManager:
        if self._runs is None:
            raise RuntimeError("Cluster.attach() was not called")
        return self._runs

    def attach(self, runs: RunManager) -> None:
        """Serve other instances' requests about the runs of ``runs`` (which has this cluster as its
        relay and listener)."""
        self._runs = runs
        self.control.handlers.update(cancel=lambda args: runs.cancel(str(args["run_id"])),
                                     want=self._wanted)
        for part in (runs.approvals, runs.clarify, runs.steering):
            self.control.handlers.update(part.relay_handlers())
        self._feed = FeedRelay(self.redis, prefix=self.settings.redis_prefix, feed=runs.sessions.feed)

    # -- RunListener: mirror runs started here into Redis Streams ---------------------------------

    def run_started(self, live: LiveRun) -> None:
        self.streams.publish(live)

    async def run_ended(self, ended: EndedRun) -> None:
        return None

    async def start(self) -> None:
        await self.control.start()
        if self._feed is not None:
            await self._feed.start()
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="cluster-sweeper")

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        await self.control.close()
        if self._feed is not None:
            await self._feed.close()
        await self.streams.drain()
        await self.drafts.close()
        await self.redis.aclose()

    async def ping(self, timeout: float = 3.0) -> bool:
        return bool(await asyncio.wait_for(self.redis.ping(), timeout))

    # -- RunRelay ---------------------------------------------------------------------------------

    async def _run(self, run_id: str) -> Any:
        async with self.runs.store.read() as conn:
            return (await conn.execute(select(t.runs).where(t.runs.c.id == run_id))).mappings().first()

    async def events(self, run_id: str, after_seq: int, heartbeat: float) -> AsyncIterator[list[RunEvent] | None]:
        row = await self._run(run_id)
        if row is None:
            raise NotFound(f"stream not found: {run_id}")
        store = self.runs.store
        if row["status"] in ENDED_STATUSES and not await self.streams.exists(run_id):
            async for batch in replay_to_end(store, run_id, after_seq):
                yield batch
            return
        owner = row["owner"]

        def tell_owner(pipe: Any) -> None:
            if owner is not None and owner != self.instance_id:
                self.control.tell(pipe, owner, "want", {"run_id": run_id})

        async for item in self.streams.tail(store, run_id, after_seq, heartbeat, tell_owner=tell_owner):
            yield item

    async def _wanted(self, args: dict[str, Any]) -> None:
        """A reader on another instance follows one of the runs here: mirror it to Redis now."""
        self.streams.wanted(str(args["run_id"]))

    async def cancel(self, run_id: str) -> bool:
        row = await self._run(run_id)
        if row is None or row["status"] != "running" or row["owner"] in (None, self.instance_id):
            return False
        cancelled = bool(await self.control.call(row["owner"], "cancel", {"run_id": run_id}))
        # The owner answers once it has freed the session; wait for the commit to be visible here.
        deadline = time.monotonic() + CANCEL_SETTLE_SECONDS
        while cancelled and time.monotonic() < deadline:
            row = await self._run(run_id)
            if row is None or row["status"] != "running":
                break
            await asyncio.sleep(0.05)
        return cancelled

    # -- OwnerRelay -------------------------------------------------------------------------------

    async def _session_owner(self, session_id: str) -> str | None:
        s, r = t.sessions, t.runs
        async with self.runs.store.read() as conn:
            owner = (await conn.execute(
                select(r.c.owner).join(s, s.c.active_run_id == r.c.id).where(s.c.id == session_id)
            )).scalar()
        return None if owner in (None, self.instance_id) else str(owner)

    async def call_owner(self, session_id: str, op: str, args: dict[str, Any], *, timeout: float = 10.0) -> Any:
        owner = await self._session_owner(session_id)
        if owner is None:
            return None
        return await self.control.call(owner, op, args, timeout=timeout)

    # -- leases -----------------------------------------------------------------------------------

    async def _sweep_forever(self) -> None:
        interval = sweep_interval(self.settings.run_lease_seconds)
        while True:
            await asyncio.sleep(interval)
            try:
                await self.sweep()
            except Exception:  # a database or Redis hiccup must not end the sweeper
                log.exception("lease sweep failed")

    async def sweep(self) -> int:
        """Interrupt the runs of instances that died. The events they had sent to Redis but not yet to
        the database are copied there first, so the run replays in full once its stream expires."""
        r = t.runs
        async with self.runs.store.read() as conn:
            expired = [row.id for row in await conn.execute(
                select(r.c.id).where(r.c.status == "running", r.c.lease_until < time.time())
            ) if row.id not in self.runs.live]
        if not expired:
            return 0
        for run_id in expired:
            await self._backfill(run_id)
        swept = await self.runs.sweep()
        for run_id, event in swept.items():
            await self.streams.append(run_id, [event], ended=True)
            log.warning("run %s of a stopped instance was interrupted (lease expired)", run_id)
        return len(swept)

    async def _backfill(self, run_id: str) -> None:
        e = t.run_events
        store = self.runs.store
        async with store.read() as conn:
            last = (await conn.execute(select(e.c.seq).where(e.c.run_id == run_id)
                                       .order_by(e.c.seq.desc()).limit(1))).scalar() or 0
        try:
            missing = await self.streams.read_after(run_id, last)
        except RedisError as exc:
            log.warning("could not read the stream of run %s: %s", run_id, exc)
            return
        if not missing:
            return
        async with store.write() as conn:
            for event in missing:
                values = {"run_id": run_id, "seq": event.seq, "type": event.type, "data": event.data,
                          "created_at": event.created_at}
                await conn.execute(store.dialect.insert_ignore(t.run_events, values))
