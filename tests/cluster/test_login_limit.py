"""The login rate limit is shared through Redis: 200 wrong passwords sent at once, half to each of two
instances, get at most the limit of answers that are not 429."""

from __future__ import annotations

from pathlib import Path

from redis.asyncio import Redis

from tests.conftest import make_settings
from tests.runs.conftest import serve
from tests.security.conftest import PASSWORD
from tests.security.test_login_limit import hammer
from threadline.web.app import create_app


async def test_two_instances_share_the_login_limit(tmp_path: Path, redis_server: str, redis_prefix: str,
                                                   redis: Redis) -> None:
    apps = [
        create_app(make_settings(tmp_path / name, password=PASSWORD, redis_url=redis_server,
                                 redis_prefix=redis_prefix, instance_id=name))
        for name in ("a", "b")
    ]
    async with serve(apps[0]) as first, serve(apps[1]) as second:
        statuses = await hammer([first, second])
    assert sum(n for status, n in statuses.items() if status != 429) <= 5, statuses
    assert statuses[429] >= 195
    assert [key async for key in redis.scan_iter(f"{redis_prefix}:limits*")]  # the count lives in Redis
