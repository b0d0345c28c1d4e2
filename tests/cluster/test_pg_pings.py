"""PostgreSQL's pooled connections are pinged only after sitting idle (``store/connections.py``): a
connection back in the pool moments ago is handed out as it is, one idle for a while is checked, and
one the server dropped meanwhile is replaced without the caller seeing an error."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select, text

from threadline.store import connections
from threadline.store import tables as t
from threadline.store.engine import Store


@pytest.fixture
def store(pg_stores: Callable[[int], Store]) -> Store:
    return pg_stores(1)


async def _backend_pid(store: Store) -> int:
    async with store.read() as conn:
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def test_only_an_idle_connection_is_pinged(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    pings: list[Any] = []
    dialect = store.engine.sync_engine.dialect
    real_ping = dialect.do_ping

    def counted_ping(dbapi_connection: Any) -> bool:
        pings.append(dbapi_connection)
        return real_ping(dbapi_connection)

    monkeypatch.setattr(dialect, "do_ping", counted_ping)
    first = await _backend_pid(store)
    for _ in range(20):
        async with store.read() as conn:
            await conn.execute(select(t.sessions.c.id).limit(1))
    assert pings == []  # the one connection was always back moments ago
    monkeypatch.setattr(connections, "IDLE_PING_SECONDS", 0.0)
    assert await _backend_pid(store) == first
    assert len(pings) == 1


async def test_a_connection_the_server_dropped_is_replaced(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    dropped = await _backend_pid(store)
    admin = Store(store.url, pool_size=1)
    try:
        async with admin.read() as conn:
            assert (await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": dropped})).scalar()
    finally:
        await admin.close()
    monkeypatch.setattr(connections, "IDLE_PING_SECONDS", 0.0)  # as if it had sat idle since
    replaced = await _backend_pid(store)  # no error: the ping failed, the pool connected again
    assert replaced != dropped
