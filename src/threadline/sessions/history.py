"""Operations that rewrite a session's history: truncate, clear, retry, undo, and duplicate.

Each is one write transaction, refused with 409 while a run owns the session (it would write after
the cut). Messages are cut from the tail, so sequence numbers stay dense.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import delete, func, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from threadline.errors import BadRequest, Conflict
from threadline.sessions.service import TITLE_MAX, SessionService
from threadline.sessions.views import UNTITLED, session_public
from threadline.store import tables as t

PREVIEW_CHARS = 40


async def _cut(conn: AsyncConnection, row: Any, keep: int, **values: Any) -> None:
    """Keep the first ``keep`` messages and bring the session's counters in line."""
    m = t.messages
    keep = min(keep, row["message_count"])
    await conn.execute(delete(m).where(m.c.session_id == row["id"], m.c.seq >= keep))
    last = await conn.execute(
        select(func.max(m.c.created_at)).where(m.c.session_id == row["id"], m.c.role != "tool")
    )
    last_at = last.scalar()
    await conn.execute(
        update(t.sessions)
        .where(t.sessions.c.id == row["id"])
        .values(
            message_count=keep,
            last_message_at=last_at,
            sort_at=last_at or row["created_at"],
            updated_at=time.time(),
            **values,
        )
    )


async def _last_user_message(conn: AsyncConnection, session_id: str) -> Any:
    m = t.messages
    query = (
        select(m.c.seq, m.c.content)
        .where(m.c.session_id == session_id, m.c.role == "user", m.c.in_context)
        .order_by(m.c.seq.desc())
        .limit(1)
    )
    return (await conn.execute(query)).first()


async def truncate(service: SessionService, session_id: str, keep_count: int) -> dict[str, Any]:
    if keep_count < 0:
        raise BadRequest("keep_count must be >= 0")
    async with service.store.write() as conn:
        row = await service.materialize(conn, session_id)
        service.require_idle(row)
        await _cut(conn, row, keep_count)
    return await service.get(session_id)


async def clear(service: SessionService, session_id: str) -> dict[str, Any]:
    async with service.store.write() as conn:
        row = await service.materialize(conn, session_id)
        service.require_idle(row)
        await _cut(conn, row, 0, title=UNTITLED)
        return session_public(await service.row(conn, row["id"]))


async def _cut_last_turn(service: SessionService, session_id: str, nothing: str) -> tuple[Any, Any]:
    """Remove the last user message and everything after it; (session row before, that message)."""
    async with service.store.write() as conn:
        row = await service.materialize(conn, session_id)
        service.require_idle(row)
        last = await _last_user_message(conn, row["id"])
        if last is None:
            raise Conflict(nothing)
        await _cut(conn, row, last.seq)
    return row, last


async def retry(service: SessionService, session_id: str) -> dict[str, Any]:
    """The client sends the returned text again."""
    row, last = await _cut_last_turn(service, session_id, "No previous message to retry.")
    return {"ok": True, "last_user_text": last.content, "removed_count": row["message_count"] - last.seq}


async def undo(service: SessionService, session_id: str) -> dict[str, Any]:
    row, last = await _cut_last_turn(service, session_id, "Nothing to undo.")
    text = last.content
    preview = text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS] + "..."
    return {"ok": True, "removed_count": row["message_count"] - last.seq, "removed_preview": preview}


async def duplicate(service: SessionService, session_id: str) -> dict[str, Any]:
    """A new session with the same settings and a copy of every message."""
    async with service.store.write() as conn:
        row = await service.materialize(conn, session_id)
        copy = await service.create_row(
            conn,
            title=f"{row['title']} (copy)"[: TITLE_MAX + 7],
            workspace=row["workspace"],
            model=row["model"],
            project_id=row["project_id"],
            message_count=row["message_count"],
            last_message_at=row["last_message_at"],
            sort_at=time.time(),
            extra=row["extra"] or {},
        )
        m = t.messages
        columns = [c.name for c in m.c if c.name not in ("id", "session_id")]
        source = select(*[m.c[name] for name in columns], literal(copy["id"])).where(m.c.session_id == row["id"])
        await conn.execute(insert(m).from_select([*columns, "session_id"], source))
        return session_public(await service.row(conn, copy["id"]))
