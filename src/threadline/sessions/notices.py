"""Notices: what the user is told outside a chat (a scheduled task finished, failed or was missed),
listed in the sidebar with an unread badge. Each has a ``source`` that makes it unique, so whatever
path reports an event (the run's end here, a sweep on another instance, start-up reconciliation) the
user hears of it once."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from threadline.errors import BadRequest
from threadline.store import tables as t
from threadline.store.engine import Store

MAX_LISTED = 200
BODY_CHARS = 500


def _public(row: Any) -> dict[str, Any]:
    return {"notice_id": row["id"], "kind": row["kind"], "title": row["title"], "body": row["body"],
            "session_id": row["session_id"], "job_id": row["job_id"], "created_at": row["created_at"],
            "read": row["read_at"] is not None}


class NoticeService:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def add(
        self, conn: AsyncConnection, *, source: str, kind: str, title: str, body: str = "",
        session_id: str | None = None, job_id: str | None = None,
    ) -> bool:
        """Record a notice in the caller's write transaction; False when ``source`` was noticed before."""
        result = await conn.execute(self.store.dialect.insert_ignore(t.notices, {
            "source": source[:128], "kind": kind[:32], "title": title[:300], "body": body[:BODY_CHARS],
            "session_id": session_id, "job_id": job_id, "created_at": time.time(),
        }))
        return bool(result.rowcount)

    async def list(self, *, unread_only: bool = False, limit: int = 50) -> dict[str, Any]:
        n = t.notices
        query = select(n).order_by(n.c.id.desc()).limit(max(1, min(limit, MAX_LISTED)))
        if unread_only:
            query = query.where(n.c.read_at.is_(None))
        async with self.store.read() as conn:
            rows = [_public(r) for r in (await conn.execute(query)).mappings()]
            unread = (await conn.execute(select(func.count()).select_from(n).where(n.c.read_at.is_(None)))).scalar()
        return {"notices": rows, "unread": int(unread or 0)}

    async def mark_read(self, notice_id: object = None, *, session_id: object = None) -> int:
        """Mark one notice read, the notices of a session (opening it), or all of them."""
        n = t.notices
        query = update(n).where(n.c.read_at.is_(None)).values(read_at=time.time())
        if notice_id is not None:
            if isinstance(notice_id, bool) or not isinstance(notice_id, int) or notice_id < 1:
                raise BadRequest("notice_id must be a notice's id")
            query = query.where(n.c.id == notice_id)
        elif session_id is not None:
            if not isinstance(session_id, str) or not 0 < len(session_id) <= 64:
                raise BadRequest("session_id must be a session id")
            query = query.where(n.c.session_id == session_id)
        async with self.store.write() as conn:
            result = await conn.execute(query)
        return int(result.rowcount or 0)
