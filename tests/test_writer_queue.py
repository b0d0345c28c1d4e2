"""SQLite's writer queue: first come first served, urgent writers (checkpoints) first, and a waiter
cancelled at the moment its turn comes passes the turn on instead of wedging every writer."""

from __future__ import annotations

import asyncio

from threadline.store.writers import WriterQueue


async def test_urgent_writers_go_before_the_queue_and_the_rest_keep_their_order() -> None:
    queue = WriterQueue()
    order: list[str] = []
    gate = asyncio.Event()

    async def write(name: str, urgent: bool = False) -> None:
        async with queue.turn(urgent=urgent):
            order.append(name)
            if name == "first":
                await gate.wait()

    first = asyncio.create_task(write("first"))
    await asyncio.sleep(0)
    tasks = [asyncio.create_task(write(f"n{i}")) for i in range(3)]
    await asyncio.sleep(0)
    tasks.append(asyncio.create_task(write("checkpoint", urgent=True)))
    await asyncio.sleep(0)
    assert queue.waiting() == 4
    gate.set()
    await asyncio.gather(first, *tasks)
    assert order == ["first", "checkpoint", "n0", "n1", "n2"]


async def test_a_cancelled_waiter_never_keeps_the_turn() -> None:
    queue = WriterQueue()
    release = asyncio.Event()

    async def hold() -> None:
        async with queue.turn():
            await release.wait()

    holder = asyncio.create_task(hold())
    await asyncio.sleep(0)
    waiting = asyncio.create_task(hold())
    await asyncio.sleep(0)
    release.set()
    await asyncio.sleep(0)  # the holder hands the turn to the waiter...
    waiting.cancel()  # ...which is cancelled before it runs
    await asyncio.gather(holder, waiting, return_exceptions=True)
    async with asyncio.timeout(1):
        async with queue.turn():
            pass
    assert queue.waiting() == 0


async def test_a_runs_bookkeeping_waits_for_what_a_person_waits_for() -> None:
    queue = WriterQueue()
    order: list[str] = []
    gate = asyncio.Event()

    async def write(name: str, *, urgent: bool = False, background: bool = False) -> None:
        async with queue.turn(urgent=urgent, background=background):
            order.append(name)
            if name == "first":
                await gate.wait()

    first = asyncio.create_task(write("first"))
    await asyncio.sleep(0)
    tasks = [asyncio.create_task(write(f"run{i}", background=True)) for i in range(3)]
    await asyncio.sleep(0)
    tasks += [asyncio.create_task(write("rename")), asyncio.create_task(write("checkpoint", urgent=True))]
    await asyncio.sleep(0)
    assert queue.waiting() == 5
    gate.set()
    await asyncio.gather(first, *tasks)
    assert order == ["first", "checkpoint", "rename", "run0", "run1", "run2"]
