"""SQLite's one writer per process: a queue of write transactions, first come first served, except
that urgent ones go first (the checkpoint batch of every live run, so a burst of 200 new messages
can never hold back what streams have already produced). A waiting writer holds no connection."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Callable


class WriterQueue:
    def __init__(self, on_idle: Callable[[], None] | None = None) -> None:
        self._on_idle = on_idle  # called when the turn goes to nobody
        self._busy = False
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._normal: deque[asyncio.Future[None]] = deque()

    @contextlib.asynccontextmanager
    async def turn(self, *, urgent: bool = False) -> AsyncIterator[None]:
        await self._acquire(urgent)
        try:
            yield
        finally:
            self._release()

    def waiting(self) -> int:
        return len(self._urgent) + len(self._normal)

    async def _acquire(self, urgent: bool) -> None:
        if not self._busy and not self._urgent and not self._normal:
            self._busy = True
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        line = self._urgent if urgent else self._normal
        line.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release()  # the turn was handed over just as the waiter gave up: pass it on
            else:
                line.remove(waiter)
            raise

    def _release(self) -> None:
        for line in (self._urgent, self._normal):
            while line:
                waiter = line.popleft()
                if not waiter.done():
                    waiter.set_result(None)  # handed over: the queue stays busy
                    return
        self._busy = False
        if self._on_idle is not None:
            self._on_idle()
