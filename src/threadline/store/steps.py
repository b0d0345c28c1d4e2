"""The steps that open and close a write transaction, each run to its end even if the task that
awaits it is cancelled meanwhile (``Store.write``, ``store/groups.py``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from threadline.store import sqlite_driver

log = logging.getLogger("threadline.store")
T = TypeVar("T")


def inline_driver(conn: AsyncConnection) -> sqlite_driver.OneTripConnection | None:
    """The driver connection under ``conn`` when it can run statements inline (aiosqlite through
    ``sqlite_driver``; another SQLite driver runs them as it does)."""
    assert conn.sync_connection is not None
    driver = conn.sync_connection.connection.dbapi_connection
    return driver if isinstance(driver, sqlite_driver.OneTripConnection) else None


async def begin(conn: AsyncConnection) -> None:
    """Check a connection out and begin, on SQLite with the write lock taken up front (``BEGIN
    IMMEDIATE``, ``store/connections.py``): one step for ``complete`` (each step it shields is a task,
    and under load every task start and end waits for the busy event loop to come round)."""
    await conn.start()
    if conn.dialect.name == "sqlite":
        await conn.execution_options(sqlite_immediate=True)
    await conn.begin()


async def commit_and_close(conn: AsyncConnection) -> None:
    await conn.commit()
    await conn.close()


async def direct(work: Awaitable[T]) -> T:
    return await work


async def complete(work: Awaitable[T]) -> T:
    """Await ``work`` to its end even if the awaiting task is cancelled meanwhile; the cancel is
    passed on afterwards. Used for the steps that open and close a transaction."""
    task = asyncio.ensure_future(work)
    cancelled = False
    while True:
        try:
            result = await asyncio.shield(task)
            break
        except asyncio.CancelledError:
            if task.done():
                raise
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError
    return result


async def rollback(conn: AsyncConnection) -> None:
    """Roll back; a connection that cannot is thrown away rather than returned to the pool."""
    try:
        await complete(conn.rollback())
    except asyncio.CancelledError:
        raise
    except Exception:  # noqa: BLE001 - the original error is what the caller must see
        log.warning("rollback failed; discarding the connection", exc_info=True)
        with contextlib.suppress(Exception):
            await complete(conn.invalidate())
