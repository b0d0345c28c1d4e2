"""RedisDrafts keeps the DraftStore contract of MemoryDrafts: TTL, cap (oldest first), count."""

from __future__ import annotations

import asyncio
import time

import pytest
from redis.asyncio import Redis

from threadline.cluster.drafts import RedisDrafts
from threadline.sessions.drafts import Draft, DraftStore, MemoryDrafts


@pytest.fixture(params=["memory", "redis"])
def make_drafts(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    if request.param == "redis":
        redis: Redis = request.getfixturevalue("redis")
        prefix: str = request.getfixturevalue("redis_prefix")

    def make(ttl: float = 60, cap: int = 100) -> DraftStore:
        if request.param == "memory":
            return MemoryDrafts(ttl_seconds=ttl, cap=cap)
        return RedisDrafts(redis, prefix=prefix, ttl_seconds=ttl, cap=cap)

    return make


async def test_put_get_discard(make_drafts) -> None:  # type: ignore[no-untyped-def]
    drafts = make_drafts()
    draft = Draft(id="abc123", workspace="/tmp/w", model="openai/m", extra={"k": [1, 2]})
    await drafts.put(draft)
    assert await drafts.get("abc123") == draft
    assert await drafts.count() == 1
    await drafts.discard("abc123")
    assert await drafts.get("abc123") is None
    assert await drafts.count() == 0
    await drafts.discard("abc123")  # idempotent


async def test_ttl_expires_drafts(make_drafts) -> None:  # type: ignore[no-untyped-def]
    drafts = make_drafts(ttl=0.3)
    await drafts.put(Draft(id="old", workspace="/w", model=None))
    await asyncio.sleep(0.45)
    assert await drafts.get("old") is None
    assert await drafts.count() == 0


async def test_cap_drops_the_oldest(make_drafts) -> None:  # type: ignore[no-untyped-def]
    drafts = make_drafts(cap=3)
    now = time.time()
    for index in range(5):
        await drafts.put(Draft(id=f"d{index}", workspace="/w", model=None, created_at=now + index * 0.001))
    assert await drafts.count() == 3
    assert [await drafts.get(f"d{i}") is not None for i in range(5)] == [False, False, True, True, True]


async def test_a_draft_is_shared_by_two_instances(redis: Redis, redis_prefix: str) -> None:
    a = RedisDrafts(redis, prefix=redis_prefix, ttl_seconds=60, cap=10)
    b = RedisDrafts(redis, prefix=redis_prefix, ttl_seconds=60, cap=10)
    await a.put(Draft(id="shared", workspace="/w", model="x"))
    found = await b.get("shared")
    assert found is not None and found.model == "x"
    found.model = "y"
    await b.put(found)
    again = await a.get("shared")
    assert again is not None and again.model == "y"


async def test_the_recent_count_never_waits_for_redis_but_the_first(redis: Redis, redis_prefix: str,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """``/health`` reads ``recent_count``: on Redis the first probe counts; later ones answer the last
    count at once, and one that finds it a second old has a count made in the background."""
    a = RedisDrafts(redis, prefix=redis_prefix, ttl_seconds=60, cap=10)
    b = RedisDrafts(redis, prefix=redis_prefix, ttl_seconds=60, cap=10)
    await a.put(Draft(id="d1", workspace="/w", model=None))
    assert await b.recent_count() == 1  # the first: counted
    await a.put(Draft(id="d2", workspace="/w", model=None))
    assert await b.recent_count() == 1  # counted just now: no round trip
    assert await b.count() == 2  # the exact count is always exact, and refreshes the recent one
    assert await b.recent_count() == 2
    await a.put(Draft(id="d3", workspace="/w", model=None))
    monkeypatch.setattr("threadline.cluster.drafts.RECENT_SECONDS", 0.0)
    assert await b.recent_count() == 2  # stale: answered at once, a count started
    for _ in range(100):
        if await b.recent_count() == 3:
            break
        await asyncio.sleep(0.01)
    assert await b.recent_count() == 3


async def test_close_stops_a_count_in_the_background(redis: Redis, redis_prefix: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Shutdown closes the drafts before the Redis client: a count still running is stopped, not left
    to fail on a closed client (or be destroyed pending when the loop ends)."""
    drafts = RedisDrafts(redis, prefix=redis_prefix, ttl_seconds=60, cap=10)
    assert await drafts.recent_count() == 0
    started = asyncio.Event()

    async def slow_count() -> int:
        started.set()
        await asyncio.sleep(30)
        return 0

    monkeypatch.setattr(drafts, "count", slow_count)
    monkeypatch.setattr("threadline.cluster.drafts.RECENT_SECONDS", 0.0)
    await drafts.recent_count()
    await started.wait()
    task = drafts._recount
    assert task is not None and not task.done()
    async with asyncio.timeout(2):
        await drafts.close()
    assert task.cancelled()
    await drafts.close()  # twice is fine
