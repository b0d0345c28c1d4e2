"""How PostgreSQL's connections are used (``store/engine.py``): a reader that asks for one snapshot gets
it, and a connection keeps the statements it prepared."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, insert, select, text

from threadline.store import tables as t
from threadline.store.engine import Store


@pytest.fixture
def store(pg_stores: Callable[[int], Store]) -> Store:
    return pg_stores(2)


async def _in_transaction(conn: object) -> bool:
    raw = await conn.get_raw_connection()  # type: ignore[attr-defined]
    return bool(raw.driver_connection.is_in_transaction())


async def test_a_reader_can_still_ask_for_one_snapshot(store: Store) -> None:
    """``copy-store`` reads every table at REPEATABLE READ: a row committed meanwhile stays unseen."""
    async with store.read() as reader:
        await reader.execution_options(isolation_level="REPEATABLE READ")
        before = (await reader.execute(select(func.count()).select_from(t.sessions))).scalar_one()
        async with store.write() as conn:
            row = {"id": "s1", "title": "t", "workspace": "/w", "created_at": 1.0, "updated_at": 1.0, "sort_at": 1.0}
            await conn.execute(insert(t.sessions).values(**row))
        after = (await reader.execute(select(func.count()).select_from(t.sessions))).scalar_one()
        assert await _in_transaction(reader)
    assert before == after == 0
    async with store.read() as conn:  # the connection went back to the pool at READ COMMITTED again
        assert (await conn.execute(select(func.count()).select_from(t.sessions))).scalar_one() == 1
        level = (await conn.execute(text("SHOW transaction_isolation"))).scalar_one()
        assert level == "read committed"


async def test_a_connection_keeps_its_prepared_statements(store: Store) -> None:
    """A batch's ``IN`` lists make a shape of statement per length: with asyncpg's default of 100 kept,
    each new shape evicted one in use and cost a round trip to prepare again."""
    async with store.read() as conn:
        for n in range(1, 301):
            await conn.execute(select(t.sessions.c.id).where(t.sessions.c.id.in_([f"s{i}" for i in range(n)])))
        raw = await conn.get_raw_connection()
        assert len(raw.dbapi_connection._prepared_statement_cache) >= 300  # type: ignore[union-attr]
