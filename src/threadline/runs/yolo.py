"""YOLO mode: approvals off for one session (``POST /api/session/yolo``).

The approval policy (``runs/approvals.py``) reads the session's ``extra.yolo`` and lets every call of
that session run unasked, whatever it is; nothing else bypasses it. Turning it on also lets through
the calls already waiting there for an answer on this instance. Each change is recorded: the mark in
``extra`` (``{"enabled_at": <time>}``), a notice, and an event on the session list's feed.

It does not survive a restart unless the setting ``yolo_survives_restart`` is on: the ids of the
sessions that have it are kept in the settings table (``yolo_sessions``), and start-up turns each off
again (with a notice). In a deployment of several instances, any instance's start does this.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from sqlalchemy import select

from threadline.errors import NotFound
from threadline.runs.approvals import YOLO, ApprovalBroker
from threadline.runs.waiting import edit_extra
from threadline.sessions.notices import NoticeService
from threadline.sessions.service import SessionService
from threadline.store import tables as t

SESSIONS_KEY = "yolo_sessions"  # in the settings table: ids of the sessions with approvals off


class Yolo:
    def __init__(self, sessions: SessionService, approvals: ApprovalBroker, notices: NoticeService) -> None:
        self.sessions = sessions
        self.approvals = approvals
        self.notices = notices
        self.store = sessions.store

    async def set(self, session_id: str, enabled: bool) -> dict[str, Any]:
        """Turn approvals off (``enabled``) or on again for a session; a draft becomes a row."""
        async with self.store.write() as conn:
            await self.sessions.materialize(conn, session_id)
        since: float | None = time.time() if enabled else None
        changed = False

        def edit(extra: dict[str, Any]) -> bool:
            nonlocal changed, since
            current = extra.get(YOLO)
            if enabled and isinstance(current, dict):
                since = current.get("enabled_at", since)
                return False
            if not enabled and current is None:
                return False
            changed = True
            if enabled:
                extra[YOLO] = {"enabled_at": since}
            else:
                extra.pop(YOLO, None)
            return True

        if not await edit_extra(self.store, session_id, edit):
            raise NotFound(f"session not found: {session_id}")
        released = self.approvals.approve_waiting(session_id) if enabled else 0
        if changed:
            await self._record(session_id, enabled, "Approvals are off in this chat" if enabled
                               else "Approvals are back on in this chat")
        return {"ok": True, "session_id": session_id, "yolo": enabled, "enabled": enabled,
                "enabled_at": since, "released": released}

    async def _record(self, session_id: str, enabled: bool, title: str, body: str = "") -> None:
        s = t.settings
        async with self.store.write() as conn:
            stored = await self.store.locked_setting(conn, SESSIONS_KEY, [])
            ids = [i for i in (stored if isinstance(stored, list) else []) if i != session_id]
            ids += [session_id] if enabled else []
            await conn.execute(self.store.dialect.upsert(s, {"key": SESSIONS_KEY, "value": ids}, "key"))
            await self.notices.add(conn, source=f"yolo:{session_id}:{uuid.uuid4().hex[:8]}", kind="yolo",
                                   title=title, body=body, session_id=session_id)
        self.sessions.feed.publish("yolo", session_id, yolo=enabled)

    async def reset_after_restart(self) -> int:
        """Start-up: approvals back on in every session that had them off; how many."""
        async with self.store.read() as conn:
            stored = (await conn.execute(select(t.settings.c.value).where(t.settings.c.key == SESSIONS_KEY))).scalar()
        count = 0
        for session_id in [str(i) for i in stored] if isinstance(stored, list) else []:
            removed = False

            def edit(extra: dict[str, Any]) -> bool:
                nonlocal removed
                removed = extra.pop(YOLO, None) is not None
                return removed

            await edit_extra(self.store, session_id, edit)
            if removed:
                count += 1
                await self._record(session_id, False, "Approvals are back on in this chat",
                                   "The server restarted: YOLO mode ends then (setting yolo_survives_restart).")
        if stored:
            async with self.store.write() as conn:
                await conn.execute(self.store.dialect.upsert(t.settings, {"key": SESSIONS_KEY, "value": []}, "key"))
        return count
