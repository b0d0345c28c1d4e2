"""Leases that cannot lapse while their runs are healthy (issue 18 item 2).

Each instance renews the leases of all its live runs in one statement, with its heartbeat, from a
thread of its own with its own event loop and database connection: a busy or briefly blocked event
loop (200 streams, a full garbage collection, a CPU-heavy request) cannot starve the renewal. The
lease is derived from the renewal interval with a wide margin (``RENEWALS_PER_LEASE``).

A loop that has not ticked for ``stall_seconds`` is no longer vouched for: the keeper stops renewing
and stops the instance's heartbeat, so the runs' leases run out and another instance's sweep, which
spares the runs of an instance that still beats, takes them over (recording why). The owner's
ownership token keeps a run that wakes up afterwards from writing over anything.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy import update

from threadline.store import tables as t
from threadline.store.engine import Store

log = logging.getLogger("threadline.runs")

RENEWALS_PER_LEASE = 5  # a lease survives four missed renewals


def renew_interval(lease_seconds: float) -> float:
    return lease_seconds / RENEWALS_PER_LEASE


class LeaseKeeper:
    def __init__(
        self,
        *,
        url: str,
        instance_id: str,
        lease_seconds: float,
        live_ids: Callable[[], tuple[str, ...]],
        loop_ticked: Callable[[], float],
        stall_seconds: float,
    ) -> None:
        self.url = url
        self.instance_id = instance_id
        self.lease_seconds = lease_seconds
        self.live_ids = live_ids
        self.loop_ticked = loop_ticked
        self.stall_seconds = stall_seconds
        self.renewals = 0  # statements that renewed at least one lease (metrics, bench)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._main, name="lease-keeper", daemon=True)
            self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _main(self) -> None:
        asyncio.run(self._renew_forever())

    async def _renew_forever(self) -> None:
        store = Store(self.url, pool_size=1)
        try:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    await self.renew(store)
                except Exception:  # a database hiccup: the next renewal comes well before the lease ends
                    log.exception("renewing the leases of this instance's runs failed")
                deadline = started + renew_interval(self.lease_seconds)
                while not self._stop.is_set() and time.monotonic() < deadline:
                    await asyncio.sleep(min(0.1, max(0.0, deadline - time.monotonic())))
        finally:
            await store.close()

    async def renew(self, store: Store) -> None:
        """One transaction: this instance's heartbeat, and the leases of its live runs."""
        stalled = time.monotonic() - self.loop_ticked()
        ids = list(self.live_ids())
        if ids and stalled > self.stall_seconds:
            log.error("the event loop has not ticked for %.0f s; no longer vouching for its runs", stalled)
            return
        r = t.runs
        now = time.time()
        async with store.write() as conn:
            await conn.execute(store.dialect.upsert(t.instances, {"id": self.instance_id, "heartbeat_at": now}, "id"))
            if ids:
                await conn.execute(
                    update(r).where(r.c.id.in_(ids), r.c.owner == self.instance_id, r.c.status == "running")
                    .values(lease_until=now + self.lease_seconds)
                )
        if ids:
            self.renewals += 1
