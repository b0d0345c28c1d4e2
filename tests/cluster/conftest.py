"""Fixtures for the cluster tests: real PostgreSQL and Redis servers, skipped when none answers.

``THREADLINE_TEST_PG_URL`` (default: THREADLINE_TEST_DATABASE_URL when it is PostgreSQL, else
postgres@127.0.0.1:5432/test) names a database next to which throwaway ones are created;
``THREADLINE_TEST_REDIS_URL`` (default redis://127.0.0.1:6379/0) the Redis server. Every test run uses
its own database and Redis key prefix.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from redis.asyncio import Redis

from tests.pg import DEFAULT_PG_URL, PgDatabases, is_postgres, run_sync, unreachable
from threadline.store.engine import Store


def pg_admin_url() -> str:
    configured = os.environ.get("THREADLINE_TEST_PG_URL")
    if configured:
        return configured
    suite = os.environ.get("THREADLINE_TEST_DATABASE_URL")
    return suite if suite and is_postgres(suite) else DEFAULT_PG_URL


def redis_url() -> str:
    return os.environ.get("THREADLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


async def _redis_problem(url: str) -> str | None:
    client = Redis.from_url(url, socket_connect_timeout=3)
    try:
        await client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "skip"
        return f"{type(exc).__name__}: {exc}"
    finally:
        await client.aclose()
    return None


@pytest.fixture(scope="session")
def redis_server() -> str:
    url = redis_url()
    problem = run_sync(_redis_problem(url))
    if problem:
        pytest.skip(f"needs Redis at {url} (set THREADLINE_TEST_REDIS_URL): {problem}")
    return url


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgDatabases]:
    url = pg_admin_url()
    problem = unreachable(url)
    if problem:
        pytest.skip(f"needs PostgreSQL at {url} (set THREADLINE_TEST_PG_URL): {problem}")
    databases = PgDatabases(url)
    yield databases
    databases.close()


@pytest.fixture
async def pg_stores(pg_server: PgDatabases) -> AsyncIterator[Callable[[int], Store]]:
    """Makes a ``Store`` on a throwaway database with a pool of the given size; all closed and
    dropped after the test."""
    made: list[tuple[Store, str]] = []

    def make(pool_size: int) -> Store:
        name = pg_server.create()
        store = Store(pg_server.url_for(name), pool_size=pool_size)
        made.append((store, name))
        return store

    yield make
    for store, name in made:
        await store.close()
        pg_server.drop(name)


@pytest.fixture
def redis_prefix() -> str:
    return f"tl-test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def redis(redis_server: str, redis_prefix: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_server, decode_responses=True)
    yield client
    keys = [key async for key in client.scan_iter(f"{redis_prefix}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()
