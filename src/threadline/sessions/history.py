"""Operations on a session's history: truncate, retry, undo and branch move the active path back or
sideways and delete nothing (the rows they take off the path stay as another version, see
``branches.py``); clear deletes every message; duplicate copies the whole tree.

Each is one write transaction, refused with 409 while a run owns the session (it would write after
the move). The responses keep Hermes WebUI's shapes.
"""

from __future__ import annotations

import time

from threadline.errors import BadRequest, Conflict, NotFound
from threadline.sessions import branches
from threadline.sessions.service import TITLE_MAX, SessionService
from threadline.sessions.views import (
    UNTITLED,
    MessageVersions,
    SessionDetail,
    SessionPublic,
    TurnRetried,
    TurnUndone,
    session_public,
)
from threadline.store import tables as t

PREVIEW_CHARS = 40


async def truncate(service: SessionService, session_id: str, keep_count: int) -> SessionDetail:
    """Keep the first ``keep_count`` messages of the active path on it; the rest stay as a version."""
    if keep_count < 0:
        raise BadRequest("keep_count must be >= 0")
    async with service.store.write() as conn:
        row = await service.materialize(conn, session_id)
        service.changed(conn, "updated", row["id"])
        service.require_idle(row)
        if keep_count < row["message_count"]:
            leaf = await branches.last_on_path(conn, row["id"], t.messages.c.position < keep_count)
            await branches.set_leaf(conn, row, leaf["id"] if leaf is not None else None)
    return await service.get(session_id)


async def clear(service: SessionService, session_id: str) -> SessionPublic:
    async with service.store.write() as conn:
        row = await service.materialize(conn, session_id)
        service.changed(conn, "cleared", row["id"])
        service.require_idle(row)
        await branches.clear(conn, row["id"])
        await service.set_row(conn, row["id"], title=UNTITLED, last_message_at=None, sort_at=row["created_at"],
                              updated_at=time.time())
        return session_public(await service.row(conn, row["id"]))


async def _rewind_last_turn(service: SessionService, session_id: str, nothing: str) -> tuple[int, str]:
    """Move the active path back to before its last user message (that turn stays as a version);
    (how many messages left the path, that message's text)."""
    m = t.messages
    async with service.store.write() as conn:
        row = await service.materialize(conn, session_id)
        service.changed(conn, "updated", row["id"])
        service.require_idle(row)
        last = await branches.last_on_path(conn, row["id"], m.c.role == "user", m.c.in_context)
        if last is None:
            raise Conflict(nothing)
        moved = await branches.set_leaf(conn, row, last["parent_id"])
    return moved.left, last["content"]


async def retry(service: SessionService, session_id: str) -> TurnRetried:
    """The client sends the returned text again, which starts a run on a new version of that turn."""
    removed, text = await _rewind_last_turn(service, session_id, "No previous message to retry.")
    return {"ok": True, "last_user_text": text, "removed_count": removed}


async def undo(service: SessionService, session_id: str) -> TurnUndone:
    removed, text = await _rewind_last_turn(service, session_id, "Nothing to undo.")
    preview = text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS] + "..."
    return {"ok": True, "removed_count": removed, "removed_preview": preview}


async def switch(
    service: SessionService, session_id: str, message_id: int, *, msg_limit: int | None = None
) -> SessionDetail:
    """Show the version ``message_id`` is in: it joins the active path with the versions below it that
    were shown last (``POST /api/session/branch``). Returns the session with the path's last
    ``msg_limit`` messages (all without it)."""
    async with service.store.write() as conn:
        row = await service.materialize(conn, session_id)
        service.changed(conn, "updated", row["id"])
        service.require_idle(row)
        await branches.switch(conn, row, message_id)
    return await service.get(session_id, msg_limit=msg_limit)


async def versions(service: SessionService, session_id: str, message_id: int) -> MessageVersions:
    """The versions of one message (``GET /api/session/branches``)."""
    async with service.store.read() as conn:
        row = await service.row(conn, session_id)
        if row is None:
            await service.get(session_id, messages=False)  # unknown: 404; a draft has no messages
            raise NotFound(f"message not found in this session: {message_id}")
        return await branches.versions(conn, row["id"], message_id)


async def duplicate(service: SessionService, session_id: str) -> SessionPublic:
    """A new session with the same settings and a copy of every message, every version included."""
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
        leaf = await branches.copy_tree(conn, row, copy["id"])
        await service.set_row(conn, copy["id"], active_leaf_id=leaf)
        return session_public(await service.row(conn, copy["id"]))
