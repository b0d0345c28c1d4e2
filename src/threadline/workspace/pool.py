"""A bounded thread pool for blocking workspace work, apart from the event loop's default executor.

File listing, reading, writing and searching block; they run here, so a slow or stuck disk can use
at most ``THREADLINE_WORKSPACE_THREADS`` threads, and never the ones login's password hashing and
the rest of the app use (``asyncio.to_thread``).

Cancelling the task that awaits ``run`` does not stop a thread by itself: it sets the job's cancel
flag, and long work (walks, searches, reading line by line) calls ``checkpoint()`` between steps,
which raises ``WorkCancelled`` so the thread is free again within a step. A job not started yet is
dropped.

There is one pool per event loop: ``acquire(threads)`` when a process (``Services``) opens,
``release`` when it closes; ``current()`` is the pool of the running loop (a default-sized one when
nothing acquired it, e.g. a tool called from a script).
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

DEFAULT_THREADS = 8

P = ParamSpec("P")
T = TypeVar("T")


class WorkCancelled(Exception):
    """Raised inside a job whose awaiting task was cancelled; nobody is waiting for its result."""


_flag: contextvars.ContextVar[threading.Event | None] = contextvars.ContextVar("workspace_cancel", default=None)


def checkpoint() -> None:
    """Raise ``WorkCancelled`` if the job running on this thread was cancelled; free to call often."""
    flag = _flag.get()
    if flag is not None and flag.is_set():
        raise WorkCancelled


class WorkspacePool:
    def __init__(self, threads: int = DEFAULT_THREADS) -> None:
        self.threads = threads
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="threadline-workspace")
        self._users = 0

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(*args, **kwargs)`` on a pool thread; cancelling the caller cancels the job."""
        flag = threading.Event()
        context = contextvars.copy_context()

        def job() -> T:
            context.run(_flag.set, flag)
            return context.run(fn, *args, **kwargs)

        future = asyncio.get_running_loop().run_in_executor(self._executor, job)
        try:
            return await future
        except asyncio.CancelledError:
            flag.set()
            raise

    def close(self) -> None:
        """Stop taking jobs; drop the queued ones. Running jobs end at their next checkpoint."""
        self._executor.shutdown(wait=False, cancel_futures=True)


_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, WorkspacePool] = weakref.WeakKeyDictionary()


def acquire(threads: int) -> WorkspacePool:
    """The running loop's pool, made with ``threads`` threads if there is none; pair with ``release``."""
    loop = asyncio.get_running_loop()
    pool = _pools.get(loop)
    if pool is None or pool._users == 0:
        if pool is not None:
            pool.close()
        pool = _pools[loop] = WorkspacePool(threads)
    pool._users += 1
    return pool


def release(pool: WorkspacePool) -> None:
    pool._users -= 1
    if pool._users <= 0:
        pool.close()
        for loop, installed in list(_pools.items()):
            if installed is pool:
                del _pools[loop]


def current() -> WorkspacePool:
    loop = asyncio.get_running_loop()
    pool = _pools.get(loop)
    if pool is None:
        pool = _pools[loop] = WorkspacePool(DEFAULT_THREADS)
    return pool


async def run(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """``current().run(...)``: blocking workspace work from code that has no ``Services`` at hand."""
    return await current().run(fn, *args, **kwargs)
