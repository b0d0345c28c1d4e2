"""Drafts in Redis, so a session created on one instance can be used on any other.

Each draft is a JSON string that expires with the draft's TTL; a sorted set by creation time keeps the
count and enforces the cap (oldest first), as ``MemoryDrafts`` does in one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

from threadline.sessions.drafts import Draft

log = logging.getLogger("threadline.cluster")

RECENT_SECONDS = 1.0  # how old a count may be before ``recent_count`` has another made


class RedisDrafts:
    def __init__(self, redis: Redis, *, prefix: str, ttl_seconds: float, cap: int) -> None:
        self.redis = redis
        self.ttl = ttl_seconds
        self.cap = cap
        self._index = f"{prefix}:drafts"
        self._prefix = f"{prefix}:draft:"
        self._counted = (-1.0, 0)  # (when, count); never counted yet
        self._recount: asyncio.Task[None] | None = None

    def _key(self, draft_id: str) -> str:
        return self._prefix + draft_id

    async def _evict(self) -> None:
        await self.redis.zremrangebyscore(self._index, "-inf", time.time() - self.ttl)
        excess = await self.redis.zcard(self._index) - self.cap
        if excess > 0:
            oldest: list[tuple[str, float]] = await self.redis.zpopmin(self._index, excess)  # type: ignore[assignment]
            if oldest:
                await self.redis.delete(*(self._key(member) for member, _score in oldest))

    async def put(self, draft: Draft) -> None:
        remaining = self.ttl - (time.time() - draft.created_at)
        if remaining <= 0:
            return
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self._key(draft.id), json.dumps(draft.to_json()), px=max(1, int(remaining * 1000)))
            pipe.zadd(self._index, {draft.id: draft.created_at})
            await pipe.execute()
        await self._evict()

    async def get(self, draft_id: str) -> Draft | None:
        raw = await self.redis.get(self._key(draft_id))
        if raw is None:
            return None
        draft = Draft.from_json(json.loads(raw))
        if time.time() - draft.created_at > self.ttl:
            await self.discard(draft_id)
            return None
        return draft

    async def discard(self, draft_id: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._key(draft_id))
            pipe.zrem(self._index, draft_id)
            await pipe.execute()

    async def count(self) -> int:
        await self._evict()
        self._counted = (time.monotonic(), int(await self.redis.zcard(self._index)))
        return self._counted[1]

    async def recent_count(self) -> int:
        """Three round trips to Redis on every ``/health`` kept a liveness probe waiting on the busy
        loop's Redis traffic: the last count will do, and once it is a second old a count runs in the
        background for the next probe. Only the first probe waits for one."""
        counted_at, value = self._counted
        if counted_at < 0:
            return await self.count()
        if time.monotonic() - counted_at >= RECENT_SECONDS and (self._recount is None or self._recount.done()):
            self._recount = asyncio.create_task(self._count_quietly(), name="drafts-count")
        return value

    async def close(self) -> None:
        """Stop a count still running in the background (before the Redis client closes)."""
        task, self._recount = self._recount, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _count_quietly(self) -> None:
        try:
            await self.count()
        except RedisError as exc:  # the next probe tries again; /health/ready reports Redis itself
            log.warning("could not count the drafts in Redis: %s", exc)
