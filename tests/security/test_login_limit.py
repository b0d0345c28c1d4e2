"""The login rate limit holds under concurrency: attempts are counted before the password is checked,
so 200 wrong passwords sent at once against a real server get at most the limit of answers that are not
429. Password hashing has threads of its own: it works while the default thread pool is taken."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.conftest import make_settings
from tests.runs.conftest import serve
from tests.security.conftest import PASSWORD, client_for, login
from threadline.web.app import create_app

ATTEMPTS = 200


async def hammer(urls: list[str], attempts: int = ATTEMPTS) -> Counter[int]:
    """``attempts`` wrong logins at once, spread over ``urls``, each on its own connection."""
    limits = httpx.Limits(max_connections=attempts)
    clients = [httpx.AsyncClient(base_url=url, timeout=60, limits=limits) for url in urls]
    try:
        responses = await asyncio.gather(*(
            clients[i % len(clients)].post("/api/auth/login", json={"password": f"wrong-{i}"})
            for i in range(attempts)
        ))
    finally:
        for client in clients:
            await client.aclose()
    for response in responses:
        assert response.headers["content-type"] == "application/json", response.text
    return Counter(response.status_code for response in responses)


async def test_concurrent_wrong_logins_are_limited(home: Path) -> None:
    app = create_app(make_settings(home, password=PASSWORD))
    async with serve(app) as url:
        statuses = await hammer([url])
        assert sum(n for status, n in statuses.items() if status != 429) <= 5, statuses
        assert set(statuses) <= {401, 429}, statuses
        async with httpx.AsyncClient(base_url=url) as client:
            blocked = await client.post("/api/auth/login", json={"password": PASSWORD})
            assert blocked.status_code == 429 and blocked.json()["retry_after"] >= 1  # even the right one


async def test_a_successful_login_starts_the_count_afresh(home: Path) -> None:
    app = create_app(make_settings(home, password=PASSWORD, login_rate_limit=3))
    async with app.router.lifespan_context(app), client_for(app) as client:
        for _ in range(2):
            assert (await login(client, "wrong")).status_code == 401
        assert (await login(client)).status_code == 200
        for _ in range(3):
            assert (await login(client, "wrong")).status_code == 401
        assert (await login(client, "wrong")).status_code == 429


async def test_logins_do_not_wait_for_the_default_thread_pool(home: Path) -> None:
    """Workspace tools run blocking work in threads; a login must not queue behind them."""
    app = create_app(make_settings(home, password=PASSWORD))
    async with app.router.lifespan_context(app), client_for(app) as client:
        loop = asyncio.get_running_loop()
        loop.set_default_executor(ThreadPoolExecutor(max_workers=2))
        release = threading.Event()
        stuck = [loop.run_in_executor(None, release.wait) for _ in range(2)]
        try:
            began = time.monotonic()
            response = await asyncio.wait_for(login(client), timeout=10)
            assert response.status_code == 200
            assert time.monotonic() - began < 5
        finally:
            release.set()
            await asyncio.gather(*stuck)


async def test_the_limit_fails_closed_when_redis_is_down(home: Path) -> None:
    app = create_app(make_settings(home, password=PASSWORD, redis_url="redis://127.0.0.1:1/0"))
    async with app.router.lifespan_context(app), client_for(app) as client:
        response = await login(client)
        assert response.status_code == 502 and "rate limit" in response.json()["error"]
