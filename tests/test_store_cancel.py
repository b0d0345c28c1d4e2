"""A task cancelled inside ``Store.write`` never leaves a connection checked out or in a transaction
(issue 10 item 10: the SQLite write lock stayed held for 16 minutes after a cancel race): cancels land
at random points of concurrent write transactions (while BEGIN IMMEDIATE waits for the lock, in the
body, during COMMIT, during the clean-up), several per transaction."""

from __future__ import annotations

import asyncio
import gc
import random
import sqlite3
import warnings
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import SAWarning

from threadline.store.engine import Store


def _lock_is_free(path: Path) -> bool:
    probe = sqlite3.connect(path, timeout=0.5, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        probe.close()


async def test_cancelled_writers_leave_no_connection_behind(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    store = Store.for_sqlite_path(path)
    await store.migrate()
    rng = random.Random(1)
    problems: list[str] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SAWarning)
            for trial in range(300):
                async def write(n: int, trial: int = trial) -> None:
                    async with store.write() as conn:
                        for i in range(3):
                            await conn.execute(
                                text("INSERT INTO settings (key, value) VALUES (:k, '1') ON CONFLICT DO NOTHING"),
                                {"k": f"k{trial}-{n}-{i}"},
                            )

                tasks = [asyncio.create_task(write(n)) for n in range(6)]
                await asyncio.sleep(rng.random() * 0.004)
                victim = rng.choice(tasks)
                while not victim.done():  # a storm of cancels: one lands in every step of the clean-up
                    victim.cancel()
                    await asyncio.sleep(rng.random() * 0.001)
                await asyncio.gather(*tasks, return_exceptions=True)
                if store.engine.pool.checkedout():
                    problems.append(f"trial {trial}: {store.engine.pool.checkedout()} connection(s) not returned")
                if not _lock_is_free(path):
                    problems.append(f"trial {trial}: the write lock is still held")
                if len(problems) > 3:
                    break
            gc.collect()
        leaked = [w for w in caught if "non-checked-in connection" in str(w.message)]
        assert not problems, problems
        assert not leaked, f"{len(leaked)} connection(s) were only cleaned up by the garbage collector"
        async with store.write() as conn:  # the store still writes
            await conn.execute(text("INSERT INTO settings (key, value) VALUES ('after', '1')"))
    finally:
        await store.close()
