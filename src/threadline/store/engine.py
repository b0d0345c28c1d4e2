"""The database handle: an async engine, one writer at a time on SQLite, migrations at start-up."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from threadline.jsonvalues import decode_json
from threadline.store import sqlite_driver
from threadline.store import tables as t
from threadline.store.connections import configure_pings, configure_sqlite, configure_text
from threadline.store.dialect import Dialect
from threadline.store.groups import GroupCommit
from threadline.store.health import WriteHealth
from threadline.store.revisions import schema_is_current
from threadline.store.steps import begin, commit_and_close, complete, inline_driver, rollback
from threadline.store.writers import WriterQueue

log = logging.getLogger("threadline.store")

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
STATEMENT_CACHE = 1000  # prepared statements kept per PostgreSQL connection (asyncpg's default: 100)
AfterCommit = Callable[[], Awaitable[None]]
_TURN: contextvars.ContextVar[asyncio.Task[Any] | None] = contextvars.ContextVar("writer_turn", default=None)
_CALLBACKS: contextvars.ContextVar[list[AfterCommit] | None] = contextvars.ContextVar("after_commit", default=None)
# The write whose block the current task is in (its task and connection): a write inside it is a savepoint.
_OPEN: contextvars.ContextVar[tuple[asyncio.Task[Any] | None, AsyncConnection] | None] = contextvars.ContextVar(
    "open_write", default=None
)


def _upgrade(connection: Connection) -> None:
    """Alembic's upgrade to head, on ``connection``. Alembic is imported here, only when the schema is
    not current (``store/revisions.py``)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


class Store:
    """Owns the engine. ``read()`` gives a connection in a transaction; ``write()`` a write
    transaction, committed on success. On SQLite writes are serialized, one per process (``turn()``,
    so a waiting writer holds no connection) and one per database (``BEGIN IMMEDIATE``); on PostgreSQL
    each locks only the rows it needs."""

    def __init__(self, url: str, *, echo: bool = False, pool_size: int | None = None) -> None:
        self.url = url
        kwargs: dict[str, Any] = {"echo": echo}
        if url.startswith("sqlite"):
            kwargs.update(pool_size=pool_size or 8, max_overflow=0 if pool_size else 8)
            if url.startswith("sqlite+aiosqlite:"):
                # one trip to SQLite's thread per statement, none inside ``write(inline=True)``
                kwargs.update(module=sqlite_driver.dbapi(), connect_args={"check_same_thread": False})
        else:
            # Opened as needed and kept: overflow connections, opened for a burst and closed after it,
            # took 4% of a busy server's CPU (an SSL attempt, authentication, statements prepared again).
            kwargs.update(pool_size=pool_size or 30, max_overflow=0)
            if url.startswith("postgresql+asyncpg:"):
                # each connection keeps its statements prepared: a statement not in this cache costs a
                # round trip to prepare, and the IN lists of a batch make many shapes of one query
                kwargs.update(connect_args={"prepared_statement_cache_size": STATEMENT_CACHE})
        # JSON columns are read with orjson and come back readable (``jsonvalues.decode_json``): a lone
        # surrogate or a non-finite number written by an older version or another program is repaired
        # once, here, so nothing downstream has to check every value again.
        self.engine: AsyncEngine = create_async_engine(url, json_deserializer=decode_json, **kwargs)
        self.dialect = Dialect(self.engine.dialect.name)
        self.is_sqlite = self.dialect.name == "sqlite"
        if self.is_sqlite:
            configure_sqlite(self.engine)
        else:
            configure_pings(self.engine)
        configure_text(self.engine)
        self.health = WriteHealth()
        self._writers = WriterQueue(on_idle=self._turn_idle)
        self._groups = GroupCommit(lambda: self.engine.connect(), self.health)  # the engine as it is then
        self._idle_commits: set[asyncio.Task[None]] = set()

    @classmethod
    def for_sqlite_path(cls, path: Path) -> Store:
        return cls(f"sqlite+aiosqlite:///{path}")

    async def migrate(self) -> None:
        """Upgrade the schema to the newest revision; a database already there costs one query."""
        if self.is_sqlite:
            self._ensure_sqlite_dir()
        if await schema_is_current(self.engine, MIGRATIONS_DIR / "versions"):
            return
        async with self.engine.connect() as conn:
            conn = await conn.execution_options(sqlite_immediate=True)
            lock = self.dialect.migration_lock()
            if lock is not None:
                await conn.execute(lock)
            await conn.run_sync(_upgrade)
            await conn.commit()

    def _ensure_sqlite_dir(self) -> None:
        database = self.engine.url.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a transaction (a reader that needs one snapshot for several statements asks
        for REPEATABLE READ). Reads in autocommit, sparing BEGIN and ROLLBACK, were tried on PostgreSQL:
        relay p99 across two instances rose in interleaved load runs (issue 18's closing note)."""
        async with self.engine.connect() as conn:
            yield conn

    @contextlib.asynccontextmanager
    async def write(
        self, *, urgent: bool = False, background: bool = False, inline: bool = False
    ) -> AsyncIterator[AsyncConnection]:
        """A write transaction, committed when the block ends without an error. On SQLite one writer
        at a time per process (``turn()``: a waiting writer holds no connection; ``urgent`` ones, the
        checkpoints, go first and a run's ``background`` bookkeeping last, ``store/writers.py``) and
        per database (``BEGIN IMMEDIATE``), and successive writers share one COMMIT, each in a
        savepoint of its own (``store/groups.py``); on PostgreSQL as many as the pool allows, each
        locking only the rows it needs (``SessionService.row(lock=True)``).
        Either way the block's work has committed when ``write`` returns, and rolled back if it raised.

        ``inline``: on SQLite, the block's statements run in the event loop's thread rather than one
        trip each to SQLite's (``store/sqlite_driver.py``). For the short, bounded transactions of the
        hot path (a rename, a run's claim and its rows), which then hold the one writer for their own
        time alone; never for bulk work (an import, a deletion of unbounded size, the checkpoint
        batch), whose statements would stall the loop.

        A ``write`` inside another's block, in the same task, is a savepoint of it: its block's work is
        undone alone if it raises, and kept (its ``after_commit`` callbacks too) only if the outer
        write commits.

        A task cancelled anywhere inside never leaves a connection in a transaction (holding SQLite's
        write lock for good): BEGIN, COMMIT, ROLLBACK and the return to the pool run to their end,
        then the cancel goes on."""
        open_write = _OPEN.get()
        writing: contextlib.AbstractAsyncContextManager[AsyncConnection]
        if open_write is not None and open_write[0] is asyncio.current_task():
            writing = self._savepoint(open_write[1])
        elif self.is_sqlite:
            writing = self._write_grouped(urgent, background, inline)
        else:
            writing = self._write_alone()
        async with writing as conn:
            yield conn

    @contextlib.asynccontextmanager
    async def _savepoint(self, conn: AsyncConnection) -> AsyncIterator[AsyncConnection]:
        """A write inside another: a savepoint, its callbacks handed to the outer write on success."""
        outer = _CALLBACKS.get()
        assert outer is not None
        callbacks: list[AfterCommit] = []
        savepoint = await conn.begin_nested()
        token = _CALLBACKS.set(callbacks)
        try:
            yield conn
        except BaseException:
            await complete(savepoint.rollback())
            raise
        finally:
            _CALLBACKS.reset(token)
        await savepoint.commit()
        outer.extend(callbacks)

    @contextlib.asynccontextmanager
    async def _write_grouped(self, urgent: bool, background: bool, inline: bool) -> AsyncIterator[AsyncConnection]:
        """SQLite: a member of the open group's transaction, committed with the group."""
        outer = _TURN.get() is asyncio.current_task()  # a turn this task holds: commit before returning
        callbacks: list[AfterCommit] = []
        async with self.turn(urgent=urgent, background=background):
            async with self._groups.member(inline=inline) as member:
                token = _CALLBACKS.set(callbacks)
                opened = _OPEN.set((asyncio.current_task(), member.conn))
                try:
                    yield member.conn
                finally:
                    _OPEN.reset(opened)
                    _CALLBACKS.reset(token)
            if outer:
                await self._groups.commit()
        assert member.committed is not None
        await asyncio.shield(member.committed)  # the group's COMMIT (its failure is recorded in health there)
        self.health.write_ok()
        for callback in callbacks:
            await callback()

    @contextlib.contextmanager
    def offloaded(self, conn: AsyncConnection) -> Iterator[None]:
        """Inside ``write(inline=True)``: the block's statements make their trip to SQLite's thread,
        for a bulk statement among small ones (the checkpoint batch's events), whose own time in
        SQLite would stall the loop."""
        driver = inline_driver(conn) if self.is_sqlite else None
        if driver is None or not driver.inline:
            yield
            return
        driver.inline = False
        try:
            yield
        finally:
            driver.inline = True

    @contextlib.asynccontextmanager
    async def _write_alone(self) -> AsyncIterator[AsyncConnection]:
        """PostgreSQL: a transaction of its own."""
        callbacks: list[AfterCommit] = []
        token = self.health.writer_started()
        conn = self.engine.connect()
        try:
            await complete(begin(conn))
            marker = _CALLBACKS.set(callbacks)
            opened = _OPEN.set((asyncio.current_task(), conn))
            try:
                yield conn
            except BaseException:
                await rollback(conn)
                raise
            finally:
                _OPEN.reset(opened)
                _CALLBACKS.reset(marker)
            await complete(commit_and_close(conn))
        except BaseException as exc:
            self.health.write_failed(exc)
            raise
        finally:
            if conn.sync_connection is not None and not conn.closed:
                await complete(conn.close())
            self.health.writer_done(token)
        self.health.write_ok()
        for callback in callbacks:
            await callback()

    @contextlib.asynccontextmanager
    async def turn(self, *, urgent: bool = False, background: bool = False) -> AsyncIterator[None]:
        """SQLite's one writer turn for the current task, for as long as the block lasts; the
        ``write()`` transactions inside use it rather than waiting for another. Take it before a
        lock that a turn holder may want (a run's ``write_lock``): that lock is then never held by a
        task waiting in the writer queue, so the checkpoints, which take the turn first too, never
        find a run locked by a writer still waiting. Nothing on PostgreSQL.

        On leaving, the open group commits unless writers wait to join it (``store/groups.py``)."""
        task = asyncio.current_task()
        if not self.is_sqlite or _TURN.get() is task:
            yield
            return
        async with self._writers.turn(urgent=urgent, background=background):
            token = _TURN.set(task)
            try:
                yield
            finally:
                _TURN.reset(token)
                if self._groups.due(self._writers.waiting()):
                    await self._groups.commit()

    def _turn_idle(self) -> None:
        """The turn went to nobody with a group still open (its next writer was cancelled as the turn
        reached it): a task takes the turn to commit it."""
        if self._groups.group is not None:
            task = asyncio.get_running_loop().create_task(self._commit_idle(), name="group-commit")
            self._idle_commits.add(task)
            task.add_done_callback(self._idle_commits.discard)

    async def _commit_idle(self) -> None:
        async with self.turn():
            pass  # leaving the turn commits the open group

    def after_commit(self, conn: AsyncConnection, callback: AfterCommit) -> None:
        """Run ``callback`` once the write transaction of ``conn`` (the current task's ``write()``)
        has committed; never if it rolls back."""
        callbacks = _CALLBACKS.get()
        if callbacks is None:
            raise RuntimeError("after_commit outside a write() block")
        callbacks.append(callback)

    async def locked_setting(self, conn: AsyncConnection, key: str, empty: Any) -> Any:
        """The value of ``settings[key]``, its row locked until ``conn`` commits. The row is made first
        (holding ``empty``) when missing: FOR UPDATE on no row locks nothing, and two first changes on
        PostgreSQL would each write their own."""
        await conn.execute(self.dialect.insert_ignore(t.settings, {"key": key, "value": empty}))
        query = select(t.settings.c.value).where(t.settings.c.key == key).with_for_update()
        return (await conn.execute(query)).scalar()

    async def probe_write(self, instance_id: str) -> None:
        """A real, tiny write (this instance's heartbeat row): readiness means writes go through."""
        async with self.write() as conn:
            await conn.execute(self.dialect.upsert(t.instances, {"id": instance_id, "heartbeat_at": time.time()}, "id"))

    async def close(self) -> None:
        await self.engine.dispose()
