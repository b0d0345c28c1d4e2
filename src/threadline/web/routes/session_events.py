"""``GET /api/sessions/events``: the session list's changes as server-sent events, so every open tab
and client sees a rename, a new chat or a deletion at once (``sessions/feed.py``; across instances
through Redis, ``cluster/feed.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from threadline.web import sse
from threadline.web.deps import SessionsDep, SettingsDep

router = APIRouter(prefix="/api", tags=["sessions"])

EVENT = "sessions_changed"


@router.get("/sessions/events", response_class=StreamingResponse)
async def session_events(sessions: SessionsDep, settings: SettingsDep) -> StreamingResponse:
    """First ``ready``, then one ``sessions_changed`` event per change: ``{reason, session_id, at,
    origin, ...}``, where ``reason`` is created, renamed, updated, pinned, archived, moved, deleted,
    cleared, yolo, run_started, run_ended, or ``reset`` (changes were missed: read the list again).
    A ``: heartbeat`` comment keeps idle connections open. Changes made while a client is away are
    not replayed: a client that reconnects reads the list again."""
    feed = sessions.feed

    async def body() -> AsyncIterator[bytes]:
        async with feed.subscribe() as sub:
            yield b"retry: 2000\n\n"
            yield sse.frame("ready", {"origin": feed.origin})
            while True:
                event = await feed.next(sub, settings.heartbeat_seconds)
                yield sse.HEARTBEAT if event is None else sse.frame(EVENT, event)

    return StreamingResponse(
        body(), media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
