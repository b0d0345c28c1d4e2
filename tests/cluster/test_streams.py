"""Reading a run's Redis stream: resumes after any seq, fills a trimmed gap from the database, and
stops at the terminal event or once the run has ended in the database."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from threadline.cluster.control import Control
from threadline.cluster.streams import EventStreams
from threadline.runs.live import LiveRun, RunEvent
from threadline.store import tables as t
from threadline.store.engine import Store


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = Store.for_sqlite_path(tmp_path / "db.sqlite")
    await store.migrate()
    now = time.time()
    async with store.write() as conn:
        await conn.execute(t.sessions.insert().values(id="s1", workspace="/w", created_at=now, updated_at=now,
                                                      sort_at=now))
        await conn.execute(t.runs.insert().values(id="r1", session_id="s1", status="running", created_at=now))
    yield store
    await store.close()


def event(seq: int, type_: str = "token") -> RunEvent:
    return RunEvent(seq, type_, {"text": f"t{seq}"}, 1000.0 + seq)


async def collect(stream: AsyncIterator[list[RunEvent] | None]) -> list[RunEvent]:
    return [e async for batch in stream if batch is not None for e in batch]


async def test_resume_and_fill_a_gap_from_the_database(store: Store, redis: Redis, redis_prefix: str) -> None:
    streams = EventStreams(redis, prefix=redis_prefix, maxlen=1000, ttl_seconds=60)
    events = [event(i) for i in range(1, 10)] + [event(10, "stream_end")]
    async with store.write() as conn:  # 1..4 only in the database (trimmed from Redis)
        await conn.execute(t.run_events.insert(), [
            {"run_id": "r1", "seq": e.seq, "type": e.type, "data": e.data, "created_at": e.created_at}
            for e in events[:4]
        ])
    await streams.append("r1", events[4:], ended=True)
    assert await collect(streams.tail(store, "r1", 0, heartbeat=5)) == events
    assert await collect(streams.tail(store, "r1", 6, heartbeat=5)) == events[6:]
    assert await streams.read_after("r1", 8) == events[8:]
    assert 0 < await redis.ttl(streams.key("r1")) <= 60


async def test_a_tail_follows_a_live_run_mirrored_by_its_owner(store: Store, redis: Redis, redis_prefix: str) -> None:
    streams = EventStreams(redis, prefix=redis_prefix, maxlen=1000, ttl_seconds=60)
    live = LiveRun(id="r1", session_id="s1")
    streams.publish(live)
    reader = asyncio.create_task(collect(streams.tail(store, "r1", 0, heartbeat=5)))
    for index in range(20):
        live.emit("token", {"text": f"t{index}"})
        await asyncio.sleep(0.005)
    live.emit("stream_end", {"session_id": "s1"})
    received = await asyncio.wait_for(reader, 5)
    assert [e.seq for e in received] == list(range(1, 22)) and received[-1].type == "stream_end"
    await streams.drain()


async def test_a_tail_ends_when_the_run_ended_without_a_terminal_event(
    store: Store, redis: Redis, redis_prefix: str
) -> None:
    """An owner that died after its last database write: the rest comes from the database."""
    streams = EventStreams(redis, prefix=redis_prefix, maxlen=1000, ttl_seconds=60)
    await streams.append("r1", [event(1), event(2)], ended=False)
    async with store.write() as conn:
        await conn.execute(t.runs.update().values(status="interrupted"))
        await conn.execute(t.run_events.insert().values(run_id="r1", seq=3, type="apperror", data={"type": "x"},
                                                        created_at=1.0))
    received = await asyncio.wait_for(collect(streams.tail(store, "r1", 0, heartbeat=5, poll=0.1)), 5)
    assert [(e.seq, e.type) for e in received] == [(1, "token"), (2, "token"), (3, "apperror")]


async def test_one_read_serves_every_stream_followed_here(store: Store, redis: Redis, redis_prefix: str) -> None:
    """Readers of several runs on one instance share one blocking XREAD: a reply carries every run's
    new entries, each reader gets its own run's, in order, once; a reader that joins later catches up
    from where it asked."""
    reads = 0
    real_xread = redis.xread

    async def counted_xread(*args: Any, **kwargs: Any) -> Any:  # other tests may share this Redis
        nonlocal reads
        reads += 1
        return await real_xread(*args, **kwargs)

    redis.xread = counted_xread  # type: ignore[method-assign]
    streams = EventStreams(redis, prefix=redis_prefix, maxlen=1000, ttl_seconds=60)
    runs = [f"r{index}" for index in range(1, 5)]
    async with store.write() as conn:
        now = time.time()
        await conn.execute(t.runs.insert(), [{"id": run, "session_id": "s1", "status": "running", "created_at": now}
                                             for run in runs[1:]])
    lives = [LiveRun(id=run, session_id="s1") for run in runs]
    for live in lives:  # the owner mirrors them all in one pipeline per tick
        streams.publish(live)
    readers = [asyncio.create_task(collect(streams.tail(store, run, 0, heartbeat=5))) for run in runs[:3]]
    reads = 0
    for seq in range(1, 31):
        if seq == 10:  # the fourth reader joins late, from seq 4
            readers.append(asyncio.create_task(collect(streams.tail(store, runs[3], 4, heartbeat=5))))
        for live in lives:
            live.emit("stream_end" if seq == 30 else "token", {"text": f"t{seq}"})
        await asyncio.sleep(0.01)
    received = await asyncio.wait_for(asyncio.gather(*readers), 10)
    for run, events in zip(runs, received, strict=True):
        first = 5 if run == runs[3] else 1
        assert [e.seq for e in events] == list(range(first, 31)), run
        assert events[-1].type == "stream_end"
    # A read or two per mirror tick (Redis may answer the shared read after a tick's first XADD) plus
    # each reader's first: not one per event (120).
    assert reads < 60, reads
    assert not streams.tails._followers
    await streams.drain()


async def test_a_failed_shared_read_reaches_its_readers(redis: Redis, redis_prefix: str) -> None:
    """Any error of the one read for all streams is raised to each reader, never left in a dead task
    while the readers wait for entries that cannot come."""
    streams = EventStreams(redis, prefix=redis_prefix, maxlen=1000, ttl_seconds=60)
    real_xread = redis.xread

    async def failing_xread(*args: Any, block: int | None = None, **kwargs: Any) -> Any:
        if block is None:  # a reader's own catch-up read
            return await real_xread(*args, **kwargs)
        raise ValueError("a reply that could not be read")

    redis.xread = failing_xread  # type: ignore[method-assign]
    async with streams.tails.follow(streams.key("r1"), 0) as follower:
        with pytest.raises(ValueError, match="could not be read"):
            await follower.next(5)
    await streams.drain()


async def test_a_reader_that_tells_the_owner_is_served_without_waiting_for_the_owner_to_look(
    store: Store, redis: Redis, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The owner looks for marks only now and then (here: never, within the test); a reader that
    tells it the run is wanted, over the owner's control channel on the pipeline that marks it, gets
    the events at once, those sent before it came included."""
    monkeypatch.setattr("threadline.cluster.streams.WANT_CHECK_INTERVAL", 3600)
    owner = EventStreams(redis, prefix=redis_prefix, maxlen=1000, ttl_seconds=60)
    reader = EventStreams(redis, prefix=redis_prefix, maxlen=1000, ttl_seconds=60)
    owner_control = Control(redis, prefix=redis_prefix, instance_id="owner")
    reader_control = Control(redis, prefix=redis_prefix, instance_id="reader")
    told: list[dict[str, Any]] = []

    async def want(args: dict[str, Any]) -> None:
        told.append(args)
        owner.wanted(str(args["run_id"]))

    owner_control.handlers["want"] = want
    await owner_control.start()
    live = LiveRun(id="r1", session_id="s1")
    owner.publish(live)
    live.emit("token", {"text": "before the reader came"})
    await owner.tick()  # the owner's one look, before anyone wanted the run

    def tell_owner(pipe: Any) -> None:
        reader_control.tell(pipe, "owner", "want", {"run_id": "r1"})

    try:
        tail = asyncio.create_task(collect(reader.tail(store, "r1", 0, heartbeat=5, tell_owner=tell_owner)))
        for index in range(5):
            await asyncio.sleep(0.01)
            live.emit("token", {"text": f"t{index}"})
        live.emit("stream_end", {"session_id": "s1"})
        received = await asyncio.wait_for(tail, 5)
    finally:
        await owner_control.close()
    assert told == [{"run_id": "r1"}]
    assert [e.seq for e in received] == list(range(1, 8)) and received[0].data["text"] == "before the reader came"
    await owner.drain()
    await reader.drain()
