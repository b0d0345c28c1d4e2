"""SQLite through aiosqlite with one trip to its thread per statement.

SQLAlchemy's aiosqlite adapter makes four trips per statement (make a cursor, execute, fetch the rows,
close the cursor), each a wake-up of the event loop. Under load the loop is busy, every trip waits for
it, and a write transaction of ten statements holds SQLite's one writer for forty waits: a rename behind
a queue of such transactions took seconds. Here a statement runs whole in aiosqlite's thread (cursor,
execute, rows, close) and comes back in one trip; commit, rollback and server-side cursors are
aiosqlite's own. Built on SQLAlchemy 2.1's adapter classes (``sqlalchemy.connectors.asyncio``).

Inside a write transaction even one trip per statement was too many: each waits for the event loop to
come round (1-2 ms under load against 0.1 ms idle), so a ten-statement ``chat/start`` held SQLite's one
writer for 16 ms and 200 of them queued for seconds. Once ``BEGIN IMMEDIATE`` holds the write lock,
SQLite never waits for another connection until COMMIT (WAL: readers never block the writer), so a
statement there is CPU work of microseconds. ``Store.write(inline=True)`` (short transactions of bounded
size) marks the connection ``inline`` between BEGIN and COMMIT, and its statements then run in the
calling thread with no trip at all; BEGIN and COMMIT, which may wait, still go to SQLite's thread."""

from __future__ import annotations

import collections
import sqlite3
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT

Outcome = tuple[Any, list[Any], int, int | None]  # description, rows, rowcount, lastrowid


def _run(connection: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> Outcome:
    """One statement, whole, in the connection's thread."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A buffered cursor whose results arrive with its ``execute``: nothing to open or close."""

    __slots__ = ("_arraysize", "_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: Any) -> None:  # no driver cursor: no trip to make one
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self._arraysize = 1

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        await self._trip(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        await self._trip(operation, seq_of_parameters, many=True)

    async def _trip(self, operation: Any, parameters: Any, *, many: bool) -> None:
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        adapted: OneTripConnection = self._adapt_connection  # type: ignore[assignment]
        mutex = adapted._execute_mutex
        outcome: Outcome
        if adapted.inline and not mutex.locked():  # nothing else on the connection: run it here
            outcome = _run(connection._conn, operation, parameters, many)
        else:
            async with mutex:
                outcome = await connection._execute(  # type: ignore[no-untyped-call]
                    _run, connection._conn, operation, parameters, many
                )
        self._description, rows, self._rowcount, self._lastrowid = outcome
        self._rows = collections.deque(rows)

    async def _async_soft_close(self) -> None:
        return None  # nothing is open

    def close(self) -> None:
        self._rows.clear()

    def setinputsizes(self, *inputsizes: Any) -> None:
        return None


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("inline",)
    _cursor_cls = OneTripCursor

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self.inline = False  # statements run in the caller's thread (set by Store.write, see above)


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The DB-API module given to the engine (``create_async_engine(module=...)``)."""

    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        adapted = super().connect(*arg, **kw)
        return OneTripConnection(self, adapted._connection)


def dbapi() -> OneTripDBAPI:
    return OneTripDBAPI(aiosqlite, sqlite3)
