"""Reading runs: a run's events, live from this process, relayed from the instance that owns it, or
replayed from the database; and its status."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from sqlalchemy import select

from threadline.errors import NotFound
from threadline.runs.live import LiveRun, RunEvent, batches, replay_events, replay_to_end
from threadline.runs.relay import RunRelay
from threadline.runs.views import RunStatus
from threadline.store import tables as t
from threadline.store.engine import Store


class RunReader:
    def __init__(self, store: Store, live: Callable[[str], LiveRun | None], relay: RunRelay | None = None) -> None:
        self.store = store
        self.live = live
        self.relay = relay

    async def run_row(self, run_id: str) -> Any:
        async with self.store.read() as conn:
            return (await conn.execute(select(t.runs).where(t.runs.c.id == run_id))).mappings().first()

    async def events(self, run_id: str, after_seq: int, heartbeat: float) -> AsyncIterator[list[RunEvent] | None]:
        """Every event after ``after_seq``, live or replayed from the store, in batches (``follow``);
        ``None`` is a heartbeat. Raises ``NotFound`` for an unknown run before yielding anything."""
        live = self.live(run_id)
        if live is not None:
            async for batch in live.follow(after_seq, heartbeat):
                yield batch
            return
        if self.relay is not None:
            async for item in self.relay.events(run_id, after_seq, heartbeat):
                yield item
            return
        row = await self.run_row(run_id)
        if row is None:
            raise NotFound(f"stream not found: {run_id}")
        if row["status"] in ("queued", "running"):  # not live here and not ended: a run of a process that died
            events = await replay_events(self.store, run_id, after_seq)
            for batch in batches(events):
                yield batch
            return
        async for batch in replay_to_end(self.store, run_id, after_seq):
            yield batch

    async def status(self, run_id: str) -> RunStatus:
        live = self.live(run_id)
        row = await self.run_row(run_id)
        active = live is not None and not live.ended
        if live is None and self.relay is not None:  # it may be live on another instance
            active = bool(row and row["status"] == "running")
        return {
            "stream_id": run_id,
            "active": active,
            "status": row["status"] if row else None,
            "session_id": row["session_id"] if row else None,
            "replay_available": row is not None,
            "last_seq": len(live.events) if live else None,
        }
