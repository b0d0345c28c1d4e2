"""The login rate limit, with the ``limits`` library: every attempt is counted before its password is
checked, in one atomic step, so concurrent attempts cannot all slip through before the first failure
is recorded. In memory by default; in Redis with ``THREADLINE_REDIS_URL``, so the limit holds across
instances. A fixed window that opens at a client's first attempt: at most ``limit`` attempts in it."""

from __future__ import annotations

import ipaddress
import logging
import time
from typing import TYPE_CHECKING

from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter
from limits.errors import StorageError

from threadline.errors import TooManyRequests, UpstreamError
from threadline.settings import Settings

if TYPE_CHECKING:
    from redis.asyncio import ConnectionPool

log = logging.getLogger("threadline.web")


def client_key(address: str) -> str:
    """IPv6 clients count per /64 (one subscriber's block), so rotating addresses does not help."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class LoginLimiter:
    def __init__(self, settings: Settings) -> None:
        self.item = RateLimitItemPerMinute(settings.login_rate_limit)
        self.namespace = "login"
        self.pool: ConnectionPool | None = None
        storage: Storage
        if settings.redis_url:  # imported only then: a single process never loads the Redis client
            from limits.aio.storage import RedisStorage
            from redis.asyncio import ConnectionPool

            self.pool = ConnectionPool.from_url(settings.redis_url, socket_connect_timeout=5, socket_timeout=5)
            scheme = settings.redis_url if settings.redis_url.startswith("redis") else "redis+" + settings.redis_url
            storage = RedisStorage("async+" + scheme, wrap_exceptions=True, implementation="redispy",
                                   key_prefix=f"{settings.redis_prefix}:limits",
                                   connection_pool=self.pool)  # type: ignore[arg-type]  # a documented option
        else:
            storage = MemoryStorage()
        self.limiter = FixedWindowRateLimiter(storage)

    async def attempt(self, client: str) -> None:
        """Count one attempt; ``TooManyRequests`` (with ``retry_after``) past the limit."""
        key = client_key(client)
        try:
            if await self.limiter.hit(self.item, self.namespace, key):
                return
            reset_at, _remaining = await self.limiter.get_window_stats(self.item, self.namespace, key)
        except StorageError as exc:
            raise UpstreamError(f"the login rate limit is unavailable (Redis: {exc})") from None
        wait = max(1, round(reset_at - time.time()))
        raise TooManyRequests("too many login attempts; try again later", retry_after=wait)

    async def reset(self, client: str) -> None:
        """After a successful login: the client starts afresh."""
        try:
            await self.limiter.clear(self.item, self.namespace, client_key(client))
        except StorageError as exc:  # the window then runs out on its own
            log.warning("could not reset the login limit of %s: %s", client, exc)

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.disconnect()
