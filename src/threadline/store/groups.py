"""SQLite's group commit: successive write transactions of one process share one database
transaction, each in a savepoint of its own, and one COMMIT (issue 18).

SQLite takes one writer at a time, and under load each write's BEGIN and COMMIT wait for the busy event
loop to come round, several times over (a trip to SQLite's thread, a task that shields it), while the
writer is held. At 200 streams a ``chat/start`` held it for 11 ms of which its own statements took a
fraction, and a burst of them queued for seconds. Here a writer that finds the transaction of the
writer before it still open writes in it: its statements go in a savepoint (``SAVEPOINT`` ...
``RELEASE``, or ``ROLLBACK TO`` when its block fails, which undoes its work alone), and the last of the
group commits for everyone. The group stays open only while writers wait for the turn, and at most
``GROUP_MEMBERS`` writers or ``GROUP_SECONDS``.

The contract of ``Store.write`` is unchanged: it returns once its work has committed, and raises if
it did not (a failed COMMIT fails every member of the group). A writer's ``after_commit`` callbacks
run after the group's COMMIT, in its own task. ``Store.turn`` commits the open group before it lets
the turn go to nobody, and a turn left idle by a cancelled waiter gets a task that commits it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncTransaction

from threadline.store.health import WriteHealth
from threadline.store.steps import begin, commit_and_close, complete, direct, inline_driver, rollback

log = logging.getLogger("threadline.store")

GROUP_MEMBERS = 32  # writers that share one COMMIT at most
GROUP_SECONDS = 0.025  # how long the first of them may wait for the others' work, at most


class GroupFailed(Exception):
    """The shared transaction was rolled back: a member's work did not commit."""


class Group:
    def __init__(self, conn: AsyncConnection, opened: float, token: int) -> None:
        self.conn = conn
        self.opened = opened
        self.token = token  # WriteHealth's, while the transaction is open
        self.members: list[asyncio.Future[None]] = []  # each settled when the group has committed
        self.committing = False  # the COMMIT was sent (its failure is every member's own)

    def join(self) -> asyncio.Future[None]:
        committed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.members.append(committed)
        return committed

    def settle(self, error: BaseException | None) -> None:
        for committed in self.members:
            if committed.done():
                continue
            if error is None:
                committed.set_result(None)
            elif isinstance(error, Exception) and self.committing:
                committed.set_exception(error)  # the COMMIT failed: each member's own error, as it was
            else:
                failed = GroupFailed(f"the write did not commit: another write of its group failed: {error!r}")
                failed.__cause__ = error
                committed.set_exception(failed)


@dataclass
class Membership:
    """A writer's place in a group: its connection, and once its block has succeeded, the future that
    the group's COMMIT settles."""

    conn: AsyncConnection
    committed: asyncio.Future[None] | None = None


class GroupCommit:
    """The open group of a SQLite store, touched only by the task that holds the writer turn."""

    def __init__(self, connect: Callable[[], AsyncConnection], health: WriteHealth) -> None:
        self._connect = connect
        self._health = health
        self.group: Group | None = None
        self.commits = 0  # COMMITs written (metrics, tests)

    @contextlib.asynccontextmanager
    async def member(self, *, inline: bool) -> AsyncIterator[Membership]:
        """A writer's block in the open group (a new one if none is open). The block's work goes in a
        savepoint of its own (the first writer of a group needs none: the group is its alone so far);
        if the block raises, its work alone is undone. ``inline``: its statements run in the loop's
        thread (``Store.write``)."""
        first = self.group is None
        group = await self._current()
        driver = inline_driver(group.conn) if inline else None
        if driver is not None:
            driver.inline = True
        try:
            savepoint = None if first else await self._savepoint(group, inline)
            membership = Membership(group.conn)
            try:
                yield membership
            except BaseException as exc:
                self._health.write_failed(exc)
                if savepoint is None:
                    await self.abort(exc)
                else:
                    await self.undo(savepoint, exc)
                raise
            if savepoint is not None:
                try:
                    await (direct if inline else complete)(savepoint.commit())
                except BaseException as exc:
                    self._health.write_failed(exc)
                    await self.abort(exc)
                    raise
            membership.committed = group.join()
        finally:
            if driver is not None:
                driver.inline = False

    async def _current(self) -> Group:
        """The open group, or a new one (a connection checked out and BEGIN IMMEDIATE)."""
        if self.group is None:
            conn = self._connect()
            try:
                await complete(begin(conn))
            except BaseException:
                if conn.sync_connection is not None and not conn.closed:
                    await complete(conn.close())
                raise
            self.group = Group(conn, asyncio.get_running_loop().time(), self._health.writer_started())
        return self.group

    async def _savepoint(self, group: Group, inline: bool) -> AsyncTransaction:
        """A savepoint for a member that joins ``group``; inline it never waits, so no cancel can land
        in it, and otherwise it is run to its end."""
        savepoint = group.conn.begin_nested()
        try:
            await (direct if inline else complete)(savepoint.start())
        except asyncio.CancelledError as exc:
            if savepoint.is_active:
                await self.undo(savepoint, exc)
            raise
        except BaseException as exc:
            self._health.write_failed(exc)
            await self.abort(exc)
            raise
        return savepoint

    def due(self, waiting: int) -> bool:
        """Whether the open group should commit now, with ``waiting`` writers in the queue."""
        group = self.group
        if group is None:
            return False
        full = len(group.members) >= GROUP_MEMBERS
        old = asyncio.get_running_loop().time() - group.opened >= GROUP_SECONDS
        return not waiting or full or old

    async def undo(self, savepoint: AsyncTransaction, error: BaseException) -> None:
        """A member's block failed: roll its savepoint back (to its end, even if the member is
        cancelled meanwhile). If that fails, the whole group is rolled back and every member hears it."""
        task = asyncio.ensure_future(savepoint.rollback())
        cancelled = await _run(task)
        if task.cancelled() or task.exception() is not None:
            log.warning("rolling a savepoint back failed; rolling the group back: %r",
                        None if task.cancelled() else task.exception())
            await self.abort(error)
        if cancelled:
            raise asyncio.CancelledError

    async def abort(self, error: BaseException) -> None:
        """Roll the open group back and return its connection; every member raises."""
        group, self.group = self.group, None
        if group is None:
            return
        try:
            await rollback(group.conn)
        finally:
            try:
                if group.conn.sync_connection is not None and not group.conn.closed:
                    with contextlib.suppress(Exception):
                        await complete(group.conn.close())
            finally:
                self._health.writer_done(group.token)
                group.settle(error)

    async def commit(self) -> None:
        """COMMIT the open group and settle its members; a failed COMMIT rolls it back and every
        member raises. Never raises itself, except a cancel (once the COMMIT has run)."""
        group, self.group = self.group, None
        if group is None:
            return
        group.committing = True
        task = asyncio.ensure_future(commit_and_close(group.conn))
        cancelled = await _run(task)
        error = asyncio.CancelledError() if task.cancelled() else task.exception()
        if error is None:
            self.commits += 1
            self._health.writer_done(group.token)
            group.settle(None)
        else:
            self._health.write_failed(error)
            log.warning("group commit failed: %r", error)
            self.group = group
            await self.abort(error)
        if cancelled:
            raise asyncio.CancelledError


async def _run(task: asyncio.Future[None]) -> bool:
    """Await ``task`` to its end; whether the awaiting task was cancelled meanwhile (the task's own
    outcome is read from it)."""
    try:
        await complete(task)
    except asyncio.CancelledError:
        return True
    except Exception:  # noqa: BLE001, S110 - the caller reads the outcome from the task
        pass
    return False
