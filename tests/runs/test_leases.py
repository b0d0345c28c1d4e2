"""The lease keeper (runs/leases.py) on a real database: one statement renews every live run of the
instance with its heartbeat; a loop that stopped ticking is no longer vouched for, so the sweep of
another instance takes its runs over and records why."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from sqlalchemy import insert, select

from tests.conftest import make_settings
from threadline.runs.leases import LeaseKeeper
from threadline.store import tables as t
from threadline.store.engine import Store


async def _store(home: Path) -> Store:
    store = Store(make_settings(home).resolved_database_url)
    await store.migrate()
    return store


async def _running(store: Store, run_id: str, owner: str, lease_until: float) -> None:
    now = time.time()
    async with store.write() as conn:
        await conn.execute(insert(t.sessions).values(id=run_id[:12], title="t", workspace="/w", created_at=now,
                                                     updated_at=now, sort_at=now, active_run_id=run_id))
        await conn.execute(insert(t.runs).values(id=run_id, session_id=run_id[:12], status="running", owner=owner,
                                                 lease_until=lease_until, created_at=now, started_at=now))


async def _row(store: Store, table: object, key: str) -> dict[str, object]:
    async with store.read() as conn:
        query = select(t.runs).where(t.runs.c.id == key) if table is t.runs else \
            select(t.instances).where(t.instances.c.id == key)
        return dict((await conn.execute(query)).mappings().one())


async def test_one_statement_renews_the_instances_runs_and_its_heartbeat(home: Path) -> None:
    store = await _store(home)
    try:
        await _running(store, "aaaaaaaaaaaa0001", "i1", time.time() + 1)
        await _running(store, "bbbbbbbbbbbb0002", "i2", time.time() + 1)  # another instance's
        keeper = LeaseKeeper(url=store.url, instance_id="i1", lease_seconds=30,
                             live_ids=lambda: ("aaaaaaaaaaaa0001", "bbbbbbbbbbbb0002"),
                             loop_ticked=time.monotonic, stall_seconds=60)
        await keeper.renew(store)
        ours, theirs = await _row(store, t.runs, "aaaaaaaaaaaa0001"), await _row(store, t.runs, "bbbbbbbbbbbb0002")
        assert float(ours["lease_until"]) > time.time() + 25  # type: ignore[arg-type]
        assert float(theirs["lease_until"]) < time.time() + 2  # type: ignore[arg-type]  # not ours to renew
        assert float((await _row(store, t.instances, "i1"))["heartbeat_at"]) > time.time() - 5  # type: ignore[arg-type]
        assert keeper.renewals == 1
    finally:
        await store.close()


async def test_a_stalled_loop_is_no_longer_vouched_for(home: Path) -> None:
    store = await _store(home)
    try:
        await _running(store, "cccccccccccc0003", "i1", time.time() + 1)
        keeper = LeaseKeeper(url=store.url, instance_id="i1", lease_seconds=30, live_ids=lambda: ("cccccccccccc0003",),
                             loop_ticked=lambda: time.monotonic() - 120, stall_seconds=60)
        await keeper.renew(store)
        assert float((await _row(store, t.runs, "cccccccccccc0003"))["lease_until"]) < time.time() + 2  # type: ignore[arg-type]
        async with store.read() as conn:  # no heartbeat either: the sweep of another instance may take over
            beats = (await conn.execute(select(t.instances.c.id))).all()
        assert beats == []
        assert keeper.renewals == 0
    finally:
        await store.close()


async def test_the_keeper_thread_renews_while_the_loop_is_busy(home: Path) -> None:
    """The keeper has its own thread, loop and connection: a loop held by CPU work does not stop it."""
    store = await _store(home)
    try:
        await _running(store, "dddddddddddd0004", "i1", time.time() + 1)
        keeper = LeaseKeeper(url=store.url, instance_id="i1", lease_seconds=0.5,
                             live_ids=lambda: ("dddddddddddd0004",), loop_ticked=time.monotonic, stall_seconds=60)
        keeper.start()
        try:
            until = time.monotonic() + 1.5  # three leases' worth of a loop that never awaits
            while time.monotonic() < until:
                pass
        finally:
            await asyncio.to_thread(keeper.close)
        assert keeper.renewals >= 3
        assert float((await _row(store, t.runs, "dddddddddddd0004"))["lease_until"]) > time.time() - 0.5  # type: ignore[arg-type]
    finally:
        await store.close()
