"""The login rate limit, with the ``limits`` library: every attempt is counted before its password is
checked, in one atomic step, so concurrent attempts cannot all slip through before the first failure
is recorded. In memory by default; in Redis with ``THREADLINE_REDIS_URL``, so the limit holds across
instances. A fixed window that opens at a client's first attempt: at most ``limit`` attempts in it.
The library is loaded at the first attempt, not at start-up (issue 11 item 3)."""

from __future__ import annotations

import ipaddress
import logging
import time
from typing import TYPE_CHECKING

from threadline.errors import TooManyRequests, UpstreamError
from threadline.settings import Settings

if TYPE_CHECKING:
    from limits import RateLimitItem
    from limits.aio.strategies import FixedWindowRateLimiter
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
        self.settings = settings
        self.namespace = "login"
        self.pool: ConnectionPool | None = None
        self._limiter: tuple[RateLimitItem, FixedWindowRateLimiter] | None = None

    def _load(self) -> tuple[RateLimitItem, FixedWindowRateLimiter]:
        if self._limiter is not None:
            return self._limiter
        from limits import RateLimitItemPerMinute
        from limits.aio.storage import MemoryStorage, Storage
        from limits.aio.strategies import FixedWindowRateLimiter

        settings = self.settings
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
        self._limiter = (RateLimitItemPerMinute(settings.login_rate_limit), FixedWindowRateLimiter(storage))
        return self._limiter

    async def attempt(self, client: str) -> None:
        """Count one attempt; ``TooManyRequests`` (with ``retry_after``) past the limit."""
        from limits.errors import StorageError

        item, limiter = self._load()
        key = client_key(client)
        try:
            if await limiter.hit(item, self.namespace, key):
                return
            reset_at, _remaining = await limiter.get_window_stats(item, self.namespace, key)
        except StorageError as exc:
            raise UpstreamError(f"the login rate limit is unavailable (Redis: {exc})") from None
        wait = max(1, round(reset_at - time.time()))
        raise TooManyRequests("too many login attempts; try again later", retry_after=wait)

    async def reset(self, client: str) -> None:
        """After a successful login: the client starts afresh."""
        from limits.errors import StorageError

        item, limiter = self._load()
        try:
            await limiter.clear(item, self.namespace, client_key(client))
        except StorageError as exc:  # the window then runs out on its own
            log.warning("could not reset the login limit of %s: %s", client, exc)

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.disconnect()
