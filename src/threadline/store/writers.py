"""SQLite's one writer per process: a queue of write transactions in three lines, each first come first
served. Urgent ones go first (the checkpoint batch of every live run, so a burst of 200 new messages
can never hold back what streams have already produced), then the ones a person waits for (a request's
write: a rename, a new message), then a run's own bookkeeping (``background``: its rows and events as
it goes and ends), so 200 runs ending at once never hold back a rename. A waiting writer holds no
connection."""

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
        self._background: deque[asyncio.Future[None]] = deque()
        self._lines = (self._urgent, self._normal, self._background)

    @contextlib.asynccontextmanager
    async def turn(self, *, urgent: bool = False, background: bool = False) -> AsyncIterator[None]:
        await self._acquire(self._urgent if urgent else self._background if background else self._normal)
        try:
            yield
        finally:
            self._release()

    def waiting(self) -> int:
        return sum(len(line) for line in self._lines)

    async def _acquire(self, line: deque[asyncio.Future[None]]) -> None:
        if not self._busy and not self.waiting():
            self._busy = True
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
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
        for line in self._lines:
            while line:
                waiter = line.popleft()
                if not waiter.done():
                    waiter.set_result(None)  # handed over: the queue stays busy
                    return
        self._busy = False
        if self._on_idle is not None:
            self._on_idle()
