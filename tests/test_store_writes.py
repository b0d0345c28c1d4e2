"""SQLite's write path (issue 18): inside ``Store.write(inline=True)`` statements run in the calling
thread, not one trip each to SQLite's thread, and still commit and roll back as a transaction; the
writer turn is taken before a run's lock and is re-entrant within a task, so a writer waiting in the
queue never holds a lock a checkpoint needs; writers queued together share one COMMIT, each in a
savepoint, and ``write`` still returns only once its own work has committed."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from threadline.store.engine import Store


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = Store.for_sqlite_path(tmp_path / "inline.db")
    async with store.write() as conn:
        await conn.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"))
    yield store
    await store.close()


async def _threads(store: Store, *, inline: bool) -> set[int]:
    """The threads that ran a transaction's statements (SQLite calls ``thread_id()`` where it runs)."""
    async with store.write(inline=inline) as conn:
        raw = await conn.get_raw_connection()
        raw.driver_connection._conn.create_function("thread_id", 0, threading.get_ident)  # type: ignore[union-attr]
        seen = {int((await conn.execute(text("SELECT thread_id()"))).scalar_one()) for _ in range(3)}
        await conn.execute(text("INSERT INTO notes (body) VALUES (:b)"), {"b": "kept"})
    return seen


async def test_inline_statements_run_in_the_calling_thread_and_others_in_sqlites(store: Store) -> None:
    assert await _threads(store, inline=True) == {threading.get_ident()}
    assert threading.get_ident() not in await _threads(store, inline=False)
    async with store.read() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM notes"))).scalar_one() == 2


async def test_an_inline_transaction_that_fails_rolls_back_and_leaves_the_connection_clean(store: Store) -> None:
    with pytest.raises(RuntimeError):
        async with store.write(inline=True) as conn:
            await conn.execute(text("INSERT INTO notes (body) VALUES ('lost')"))
            raise RuntimeError("the request failed")
    with pytest.raises(Exception, match="NOT NULL"):
        async with store.write(inline=True) as conn:
            await conn.execute(text("INSERT INTO notes (body) VALUES (NULL)"))
    for _ in range(10):  # the pool's connections are back to trips: nothing left marked inline
        assert threading.get_ident() not in await _threads(store, inline=False)
    async with store.read() as conn:
        bodies = (await conn.execute(text("SELECT body FROM notes"))).scalars().all()
    assert "lost" not in bodies and len(bodies) == 10


async def test_the_turn_comes_before_a_runs_lock_and_urgent_writers_find_it_free(store: Store) -> None:
    release = asyncio.Event()
    run_lock = asyncio.Lock()
    order: list[str] = []

    async def long_write() -> None:
        async with store.write():
            await release.wait()

    async def run_write() -> None:  # as a run's rows are written (Recorder.owned)
        async with store.turn(), run_lock, store.write(inline=True) as conn:
            await conn.execute(text("INSERT INTO notes (body) VALUES ('run')"))
            order.append("run")

    async def checkpoint() -> None:  # as Checkpointer.tick
        async with store.turn(urgent=True):
            order.append("checkpoint saw the run " + ("locked" if run_lock.locked() else "free"))
            async with store.write() as conn:  # re-entrant: the same task's turn
                await conn.execute(text("INSERT INTO notes (body) VALUES ('checkpoint')"))

    holder = asyncio.create_task(long_write())
    await asyncio.sleep(0.05)
    runner = asyncio.create_task(run_write())
    await asyncio.sleep(0.05)
    assert not run_lock.locked()  # waiting for the turn, not holding its run's lock meanwhile
    checkpointer = asyncio.create_task(checkpoint())
    await asyncio.sleep(0.05)
    release.set()
    async with asyncio.timeout(5):
        await asyncio.gather(holder, runner, checkpointer)
    assert order == ["checkpoint saw the run free", "run"]


async def test_queued_writers_share_a_commit_and_each_fails_alone(store: Store, tmp_path: Path) -> None:
    release = asyncio.Event()
    seen_committed: dict[int, bool] = {}
    called: list[int] = []

    async def write(n: int) -> None:
        async def after() -> None:
            called.append(n)

        async with store.write(inline=n % 2 == 0) as conn:
            if n == 0:
                await release.wait()  # the others queue meanwhile
            await conn.execute(text("INSERT INTO notes (id, body) VALUES (:n, 'x')"), {"n": n})
            store.after_commit(conn, after)
            if n == 5:
                raise ValueError("this one fails")
        other = sqlite3.connect(tmp_path / "inline.db")  # another connection sees it: committed
        try:
            seen_committed[n] = other.execute("SELECT count(*) FROM notes WHERE id = ?", (n,)).fetchone()[0] == 1
        finally:
            other.close()

    commits = store._groups.commits
    writers = [asyncio.create_task(write(n)) for n in range(10)]
    await asyncio.sleep(0.05)
    release.set()
    results = await asyncio.gather(*writers, return_exceptions=True)
    assert isinstance(results[5], ValueError) and all(r is None for i, r in enumerate(results) if i != 5)
    assert seen_committed == {n: True for n in range(10) if n != 5}
    assert sorted(called) == [n for n in range(10) if n != 5]
    assert store._groups.commits - commits < 5  # ten writers, a few COMMITs
    async with store.read() as conn:
        ids = (await conn.execute(text("SELECT id FROM notes WHERE body = 'x' ORDER BY id"))).scalars().all()
    assert ids == [n for n in range(10) if n != 5]


async def test_a_failed_commit_fails_every_writer_of_its_group(store: Store) -> None:
    async with store.write() as conn:
        await conn.execute(text("CREATE TABLE parents (id INTEGER PRIMARY KEY)"))
        await conn.execute(text(
            "CREATE TABLE children (id INTEGER PRIMARY KEY, parent INTEGER "
            "REFERENCES parents(id) DEFERRABLE INITIALLY DEFERRED)"
        ))
    release = asyncio.Event()

    async def hold() -> None:  # both writers queue behind this turn, then write one after the other
        async with store.turn():
            await release.wait()

    async def valid() -> None:
        async with store.write() as conn:
            await conn.execute(text("INSERT INTO notes (body) VALUES ('lost with its group')"))

    async def violating() -> None:  # checked only at COMMIT
        async with store.write(inline=True) as conn:
            await conn.execute(text("INSERT INTO children (id, parent) VALUES (1, 99)"))

    holder = asyncio.create_task(hold())
    await asyncio.sleep(0.02)
    first = asyncio.create_task(valid())
    await asyncio.sleep(0.02)
    second = asyncio.create_task(violating())
    await asyncio.sleep(0.02)
    release.set()
    results = await asyncio.gather(first, second, return_exceptions=True)
    await holder
    assert all("FOREIGN KEY" in str(r) for r in results), results
    async with store.read() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM notes"))).scalar_one() == 0
        assert (await conn.execute(text("SELECT count(*) FROM children"))).scalar_one() == 0
    assert store.health.problem() is not None  # until a write goes through again
    async with store.write() as conn:
        await conn.execute(text("INSERT INTO notes (body) VALUES ('after')"))
    assert store.health.problem() is None
