"""The pin cap: at most ``pinned_sessions_limit`` chats pinned at once (a preference; 3 by default, as
in Hermes WebUI; 0 means no cap)."""

from __future__ import annotations

from sqlalchemy import func, select

from threadline.errors import BadRequest
from threadline.store import tables as t
from threadline.store.engine import Store

DEFAULT_LIMIT = 3


def pin_limit(preference: object) -> int:
    """The preference's value, or the default when it is unset or not a count."""
    if isinstance(preference, bool) or not isinstance(preference, int) or preference < 0:
        return DEFAULT_LIMIT
    return preference


async def check_room_to_pin(store: Store, session_id: str, limit: int) -> None:
    """400 when ``limit`` other chats (not archived) are pinned already; re-pinning a pinned one is fine."""
    if limit <= 0:
        return
    s = t.sessions
    query = select(func.count()).select_from(s).where(
        s.c.pinned.is_(True), s.c.archived.is_(False), s.c.kind == "chat", s.c.id != session_id)
    async with store.read() as conn:
        pinned = int((await conn.execute(query)).scalar_one())
    if pinned >= limit:
        raise BadRequest(f"at most {limit} chats can be pinned; unpin one first (preference pinned_sessions_limit)",
                         field="pinned", limit=limit)
