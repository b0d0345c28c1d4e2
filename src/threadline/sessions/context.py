"""The gauge of a session's context: how full the model's window was at its last model call (or
``/compress``), kept in ``sessions.extra["context"]`` and returned as the session's ``context``:
``{used, limit, budget, model, source, vision, at}`` (``agent/budget.py``'s ``Limits.public``)."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from threadline.store import tables as t

CONTEXT = "context"
_s = t.sessions
_EXTRAS = select(_s.c.id, _s.c.extra).where(_s.c.id.in_(bindparam("session_ids", expanding=True)))
_SET_EXTRA = update(_s).where(_s.c.id == bindparam("sid")).values(extra=bindparam("new_extra"))


async def save_context(conn: AsyncConnection, session_id: str, record: dict[str, Any]) -> None:
    s = t.sessions
    extra = dict((await conn.execute(select(s.c.extra).where(s.c.id == session_id))).scalar() or {})
    extra[CONTEXT] = {**record, "at": time.time()}
    await conn.execute(update(s).where(s.c.id == session_id).values(extra=extra))


async def save_contexts(conn: AsyncConnection, records: dict[str, dict[str, Any]]) -> None:
    """Several sessions' gauges (each record with its ``at``) in one read and one write: the
    checkpoint batch stores every live run's this way (``runs/checkpoints.py``)."""
    if not records:
        return
    rows = await conn.execute(_EXTRAS, {"session_ids": sorted(records)})
    updates = [{"sid": row.id, "new_extra": {**(row.extra or {}), CONTEXT: records[row.id]}} for row in rows]
    if updates:
        await conn.execute(_SET_EXTRA, updates)
