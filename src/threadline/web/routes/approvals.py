"""Approvals: the pending queue of a session and its answers (reference §2.3), and the standing
approvals shown in Settings, with revoke."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import Field

from threadline.web.deps import JSON, RunsDep, SessionsDep
from threadline.web.schemas import Body, SessionId

router = APIRouter(prefix="/api", tags=["approvals"])

SessionIdQuery = Annotated[str, Query(min_length=1, max_length=64)]


class ApprovalAnswer(Body):
    session_id: str = SessionId
    choice: Literal["once", "session", "always", "deny"]
    approval_id: str | None = Field(default=None, max_length=64)


class ApprovalRevoke(Body):
    """Checked by the broker, so a missing or malformed field is a 400 naming it."""

    tool: Any = None
    pattern: Any = None
    session_id: Any = None


@router.get("/approval/pending")
async def approval_pending(runs: RunsDep, session_id: SessionIdQuery) -> JSON:
    """The oldest waiting approval of the session (``pending``), how many wait, and all of them. Each
    says what "always" would cover: ``covers`` (null when nothing can be stored) and ``covers_text``."""
    pending = await runs.approvals.pending_anywhere(session_id)
    return {"pending": pending[0] if pending else None, "pending_count": len(pending), "all": pending}


@router.post("/approval/respond")
async def approval_respond(body: ApprovalAnswer, runs: RunsDep) -> JSON:
    """Answer an approval (by ``approval_id``, else the oldest). ``applied`` is ``once`` when a
    session/always answer was given to a call that cannot be covered."""
    return await runs.approvals.respond(body.session_id, body.choice, body.approval_id)


@router.get("/approvals")
async def approvals_list(runs: RunsDep, sessions: SessionsDep, session_id: SessionIdQuery | None = None) -> JSON:
    """The standing approvals: every "always" one, then those of ``session_id`` (404 if unknown)."""
    if session_id is not None:
        await sessions.get(session_id, messages=False)
    return {"approvals": await runs.approvals.standing(session_id)}


@router.post("/approvals/revoke")
async def approvals_revoke(body: ApprovalRevoke, runs: RunsDep) -> JSON:
    """Remove an "always" approval ``{tool, pattern}``, or one of a session's with ``session_id``."""
    return await runs.approvals.revoke(body.tool, body.pattern, body.session_id)
