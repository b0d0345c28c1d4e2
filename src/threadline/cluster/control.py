"""Requests between instances: each listens on ``<prefix>:control:<instance_id>`` (Redis pub/sub) and
answers on a one-off list the caller waits on with ``BLPOP``.

    call(owner, op, args)        publish {op, args, reply} to the owner's channel; ``None`` when no
                                 instance listens there (it died: the sweeper takes its runs over)
                                 or no answer came.
    tell(pipe, owner, op, args)  publish {op, args} on the caller's pipeline and wait for nothing: a
                                 hint the owner can do without.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger("threadline.cluster")

Handler = Callable[[dict[str, Any]], Awaitable[Any]]
REPLY_TTL_SECONDS = 60


class Control:
    def __init__(self, redis: Redis, *, prefix: str, instance_id: str) -> None:
        self.redis = redis
        self.prefix = prefix
        self.instance_id = instance_id
        self.handlers: dict[str, Handler] = {}
        self._listener: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._subscribed = asyncio.Event()

    def channel(self, instance_id: str) -> str:
        return f"{self.prefix}:control:{instance_id}"

    async def start(self) -> None:
        """Subscribe before the instance serves; with Redis down, start anyway and keep trying."""
        self._listener = asyncio.create_task(self._listen(), name="cluster-control")
        try:
            await asyncio.wait_for(self.redis.ping(), timeout=3)
        except (RedisError, OSError, TimeoutError) as exc:
            log.error("Redis is unreachable (%s); this instance is not ready until it answers", exc)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), timeout=5)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, RedisError):
                await self._listener
        for task in set(self._tasks):
            task.cancel()

    async def _listen(self) -> None:
        while True:
            try:
                async with self.redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(self.channel(self.instance_id))
                    self._subscribed.set()
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self._spawn(message["data"])
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                log.warning("control channel lost (%s); reconnecting", exc)
                await asyncio.sleep(1)

    def _spawn(self, raw: str) -> None:
        task = asyncio.create_task(self._handle(raw))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, raw: str) -> None:
        try:
            request = json.loads(raw)
            handler = self.handlers[request["op"]]
            result: Any = {"ok": True, "result": await handler(request.get("args") or {})}
        except Exception as exc:  # the caller gets the failure instead of a timeout
            log.exception("control request failed: %.200s", raw)
            result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        reply = request.get("reply") if isinstance(request, dict) else None
        if reply:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.rpush(reply, json.dumps(result, default=str))
                pipe.expire(reply, REPLY_TTL_SECONDS)
                await pipe.execute()

    def tell(self, pipe: Any, owner: str, op: str, args: dict[str, Any]) -> None:
        """Queue, on a pipeline the caller sends with its other commands, a notice the owner can do
        without (nothing waits for it)."""
        pipe.publish(self.channel(owner), json.dumps({"op": op, "args": args, "from": self.instance_id}))

    async def call(self, owner: str, op: str, args: dict[str, Any], *, timeout: float = 20.0) -> Any:
        reply = f"{self.prefix}:reply:{uuid.uuid4().hex}"
        message = json.dumps({"op": op, "args": args, "reply": reply, "from": self.instance_id})
        receivers = await self.redis.publish(self.channel(owner), message)
        if not receivers:
            return None
        answer = await self.redis.blpop([reply], timeout=timeout)
        if answer is None:
            log.warning("instance %s did not answer %s within %.0f s", owner, op, timeout)
            return None
        result = json.loads(answer[1])
        if not result.get("ok"):
            log.warning("instance %s failed %s: %s", owner, op, result.get("error"))
            return None
        return result["result"]
