"""One ``XREAD`` for every run stream this instance follows.

A reader on this instance of a run owned by another one follows that run's Redis stream. Each reader
blocking in its own ``XREAD`` made one round trip per event or two: 50 such readers with a token every
50 ms were 1,000 round trips a second, an eighth of a busy event loop (issue 18). Here one task reads
all the followed streams in one blocking ``XREAD`` and hands each reader the entries past its own
position. The owner mirrors events once per tick for all its runs, so one reply carries them all.

A reader catches up with a read of its own when it starts (so its first events wait for no block),
sent in one pipeline with what the caller queues before it (``follow``'s ``prelude``: the mark that
the run is wanted and the notice to its owner, one round trip where they were three), then joins the
shared read from where it left off; a read that is already blocked picks it up when it returns,
within ``BLOCK_MS``. An error of the shared read reaches every reader, as its own read's would have.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from redis.asyncio import Redis

BLOCK_MS = 50  # the longest a newly joined stream waits for the shared read to include it
COUNT = 500  # entries per stream per read

Entry = tuple[str, dict[str, str]]


def entry_seq(entry_id: str) -> int:
    return int(entry_id.split("-", 1)[0])


class Follower:
    """One reader's place in one stream, and the entries read for it but not yet taken."""

    def __init__(self, position: int) -> None:
        self.position = position  # the last entry handed over (its seq)
        self._ready: asyncio.Queue[list[Entry] | BaseException] = asyncio.Queue()

    def give(self, entries: list[Entry]) -> None:
        fresh = [entry for entry in entries if entry_seq(entry[0]) > self.position]
        if fresh:
            self.position = entry_seq(fresh[-1][0])
            self._ready.put_nowait(fresh)

    def fail(self, exc: BaseException) -> None:
        self._ready.put_nowait(exc)

    async def next(self, timeout: float) -> list[Entry]:
        """The entries read since the last call, waiting up to ``timeout`` seconds for some; none
        when nothing came."""
        try:
            async with asyncio.timeout(timeout):
                item = await self._ready.get()
        except TimeoutError:
            return []
        if isinstance(item, BaseException):
            raise item
        while not self._ready.empty():  # what else is ready, in one piece
            more = self._ready.get_nowait()
            if isinstance(more, BaseException):
                raise more
            item += more
        return item


class Tails:
    """The streams followed on this instance, and the one task that reads them all."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._followers: dict[str, set[Follower]] = {}
        self._reader: asyncio.Task[None] | None = None

    @contextlib.asynccontextmanager
    async def follow(
        self, key: str, after_seq: int, prelude: Callable[[Any], object] | None = None,
    ) -> AsyncIterator[Follower]:
        """A ``Follower`` of stream ``key`` from after ``after_seq``, fed until the block exits.
        ``prelude`` queues commands on the pipeline of the first read, ahead of it."""
        follower = Follower(after_seq)
        async with self.redis.pipeline(transaction=False) as pipe:
            if prelude is not None:
                prelude(pipe)
            pipe.xread({key: f"{after_seq}-0"}, count=COUNT)
            replies = await pipe.execute()
        for _key, entries in replies[-1] or ():
            follower.give(entries)
        self._followers.setdefault(key, set()).add(follower)
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read_forever(), name="stream-tails")
        try:
            yield follower
        finally:
            followers = self._followers.get(key)
            if followers is not None:
                followers.discard(follower)
                if not followers:
                    del self._followers[key]

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    async def _read_forever(self) -> None:
        while self._followers:
            streams = {key: f"{min(f.position for f in followers)}-0" for key, followers in self._followers.items()}
            try:
                reply = await self._read(streams, block=BLOCK_MS)
            except Exception as exc:  # noqa: BLE001 - each reader raises it, as its own read would have
                for followers in list(self._followers.values()):
                    for follower in followers:
                        follower.fail(exc)
                await asyncio.sleep(BLOCK_MS / 1000)
                continue
            for key, entries in reply:
                for follower in list(self._followers.get(key, ())):
                    follower.give(entries)

    async def _read(self, streams: dict[str, str], *, block: int | None) -> list[tuple[str, list[Entry]]]:
        reply: Any = await self.redis.xread(streams, count=COUNT, block=block)  # type: ignore[arg-type]
        return [(key, entries) for key, entries in reply or ()]  # RESP2, as the client is made
