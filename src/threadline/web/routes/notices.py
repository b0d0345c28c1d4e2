"""Notices: what the sidebar lists with an unread badge (a scheduled task finished, failed, was missed)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from threadline.web.deps import JSON, NoticesDep
from threadline.web.schemas import Body

router = APIRouter(prefix="/api", tags=["notices"])


class NoticesRead(Body):
    notice_id: int | None = Field(default=None, ge=1)
    session_id: str | None = Field(default=None, min_length=1, max_length=64)


@router.get("/notices")
async def list_notices(
    notices: NoticesDep, unread: Annotated[int, Query(ge=0, le=1)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> JSON:
    """``{notices: [{notice_id, kind, title, body, session_id, job_id, created_at, read}], unread}``."""
    return await notices.list(unread_only=bool(unread), limit=limit)


@router.post("/notices/read")
async def read_notices(body: NoticesRead, notices: NoticesDep) -> JSON:
    """Mark one notice read (``notice_id``), those of a session (``session_id``), or all (neither)."""
    marked = await notices.mark_read(body.notice_id, session_id=body.session_id)
    return {"ok": True, "marked": marked} | await notices.list(unread_only=True, limit=1)
