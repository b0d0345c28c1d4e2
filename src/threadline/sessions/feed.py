"""The session list's change feed (``GET /api/sessions/events``): every change that alters a row of the
list (created, renamed, pinned, archived, moved, deleted, a run started or ended...) is published here
once it is committed, and every open tab hears of it at once instead of polling the list.

An event says what changed, not the new row: ``{reason, session_id, at, origin}`` (plus ``title`` for a
title). A client reads the row again (or drops it for ``deleted``). Each subscriber has a bounded
queue; one that falls behind gets a single ``reset`` (read the whole list again) instead of the events
it missed. With Redis (``threadline.cluster.feed``) events travel to every instance: ``forward`` is
given each local event, ``deliver`` takes the events of other instances.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

REASONS = frozenset({
    "created", "renamed", "updated", "pinned", "archived", "moved", "deleted", "cleared", "yolo",
    "run_started", "run_ended", "reset",
})
QUEUE_MAX = 256  # events a slow subscriber may lag behind before it is told to reset


@dataclass(eq=False)
class Subscription:
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=lambda: asyncio.Queue(QUEUE_MAX))
    overflowed: bool = False


class SessionFeed:
    def __init__(self, origin: str = "") -> None:
        self.origin = origin  # this instance's id, so a relay can skip its own events
        self.forward: Callable[[dict[str, Any]], None] | None = None
        self._subscribers: set[Subscription] = set()

    def publish(self, reason: str, session_id: str | None, **fields: Any) -> dict[str, Any]:
        """Tell every subscriber here, and (through ``forward``) every other instance. Never blocks
        and never raises for a slow or gone subscriber."""
        if reason not in REASONS:
            raise ValueError(f"unknown session list change: {reason!r}")
        event = {"reason": reason, "session_id": session_id, "at": time.time(), "origin": self.origin, **fields}
        self.deliver(event)
        if self.forward is not None:
            self.forward(event)
        return event

    def publisher(self, reason: str, session_id: str | None, **fields: Any) -> Callable[[], Awaitable[None]]:
        """``publish`` as a callback for ``Store.after_commit``."""

        async def publish() -> None:
            self.publish(reason, session_id, **fields)

        return publish

    def deliver(self, event: dict[str, Any]) -> None:
        for sub in list(self._subscribers):
            if sub.overflowed:
                continue
            try:
                sub.queue.put_nowait(event)
            except asyncio.QueueFull:
                sub.overflowed = True

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[Subscription]:
        sub = Subscription()
        self._subscribers.add(sub)
        try:
            yield sub
        finally:
            self._subscribers.discard(sub)

    async def next(self, sub: Subscription, timeout: float) -> dict[str, Any] | None:
        """The subscriber's next event; ``None`` after ``timeout`` seconds without one (a heartbeat is
        due). After an overflow: one ``reset`` event, and the queue starts afresh."""
        if sub.overflowed:
            while not sub.queue.empty():
                sub.queue.get_nowait()
            sub.overflowed = False
            return {"reason": "reset", "session_id": None, "at": time.time(), "origin": self.origin}
        try:
            return await asyncio.wait_for(sub.queue.get(), timeout)
        except TimeoutError:
            return None
