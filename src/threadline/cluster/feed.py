"""The session list's change feed across instances: each instance publishes its changes on the Redis
channel ``<prefix>:sessions`` and hands the others' to its own subscribers (``SessionFeed.deliver``).

Pub/sub, not a stream: a change is an invalidation, worth nothing later. An instance that loses
Redis for a while tells its subscribers to ``reset`` (read the whole list again) once it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from threadline.sessions.feed import SessionFeed

log = logging.getLogger("threadline.cluster")

MAX_PENDING = 1000  # publishes in flight; beyond this (Redis stuck) a change is dropped and logged


class FeedRelay:
    def __init__(self, redis: Redis, *, prefix: str, feed: SessionFeed) -> None:
        self.redis = redis
        self.channel = f"{prefix}:sessions"
        self.feed = feed
        self._listener: asyncio.Task[None] | None = None
        self._sends: set[asyncio.Task[None]] = set()
        self._subscribed = asyncio.Event()
        feed.forward = self.send

    def send(self, event: dict[str, Any]) -> None:
        if len(self._sends) >= MAX_PENDING:
            log.warning("session list change not relayed (Redis is not keeping up): %s", event.get("reason"))
            return
        task = asyncio.create_task(self._publish(json.dumps(event, default=str)))
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)

    async def _publish(self, message: str) -> None:
        try:
            await self.redis.publish(self.channel, message)
        except (RedisError, OSError) as exc:
            log.warning("could not relay a session list change: %s", exc)

    async def start(self) -> None:
        self._listener = asyncio.create_task(self._listen(), name="cluster-session-feed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), timeout=5)

    async def close(self) -> None:
        self.feed.forward = None
        if self._sends:
            await asyncio.wait(set(self._sends), timeout=2)
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, RedisError):
                await self._listener

    async def _listen(self) -> None:
        lost = False
        while True:
            try:
                async with self.redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(self.channel)
                    self._subscribed.set()
                    if lost:  # changes may have been missed meanwhile
                        self.feed.deliver({"reason": "reset", "session_id": None, "origin": self.feed.origin})
                        lost = False
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self._receive(message["data"])
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                log.warning("session list channel lost (%s); reconnecting", exc)
                lost = True
                await asyncio.sleep(1)

    def _receive(self, raw: str) -> None:
        try:
            event = json.loads(raw)
        except ValueError:
            return
        if isinstance(event, dict) and event.get("origin") != self.feed.origin:
            self.feed.deliver(event)
