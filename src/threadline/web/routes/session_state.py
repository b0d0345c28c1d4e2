"""One session's state at a glance (reference §2.1 ``/api/session/status`` and ``/usage``) and YOLO mode
(``/api/session/yolo``: approvals off for one session, ``runs/yolo.py``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import with_config
from typing_extensions import TypedDict

from threadline.sessions.views import OPEN, SessionPublic
from threadline.web.deps import JSON, ServicesDep, SessionsDep
from threadline.web.schemas import SessionRef

router = APIRouter(prefix="/api", tags=["sessions"])

SessionIdQuery = Annotated[str, Query(min_length=1, max_length=64)]


class SessionYolo(SessionRef):
    enabled: bool


@with_config(OPEN)
class SessionUsage(TypedDict):
    """``GET /api/session/usage``: the totals over all the session's runs (a null cost: not reported)."""

    ok: bool
    session_id: str
    input_tokens: int
    output_tokens: int
    total_tokens: int
    estimated_cost: float | None


@with_config(OPEN)
class SessionStatus(SessionUsage):
    """``GET /api/session/status``: Hermes WebUI's fields, then Threadline's."""

    title: str
    model: str | None
    workspace: str
    personality: str | None  # the persona the session runs with (Hermes WebUI's name)
    message_count: int
    agent_running: bool
    runtime: str
    active_stream_id: str | None
    pending_approval: bool
    pending_clarify: bool
    yolo: bool
    created_at: float
    last_message_at: float


@with_config(OPEN)
class YoloAnswer(TypedDict):
    ok: bool
    session_id: str
    yolo: bool
    enabled: bool
    enabled_at: float | None
    released: int


def _usage(session: SessionPublic) -> dict[str, Any]:
    tokens_in, tokens_out = int(session["input_tokens"] or 0), int(session["output_tokens"] or 0)
    return {"input_tokens": tokens_in, "output_tokens": tokens_out, "total_tokens": tokens_in + tokens_out,
            "estimated_cost": session["estimated_cost"]}


@router.get("/session/status", response_model=SessionStatus)
async def status(sessions: SessionsDep, session_id: SessionIdQuery) -> JSON:
    """Title, model, workspace, personality, message count, whether the agent runs, and the token and
    cost totals (Hermes WebUI's fields), plus what waits for the user and YOLO mode."""
    session = await sessions.get(session_id, messages=False)
    return {
        "ok": True,
        "session_id": session["session_id"],
        "title": session["title"],
        "model": session["model"],
        "workspace": session["workspace"],
        "runtime": session["runtime"],
        "personality": session["personality"],
        "message_count": session["message_count"],
        "agent_running": session["is_streaming"],
        "active_stream_id": session["active_stream_id"],
        "pending_approval": session["pending_approval"],
        "pending_clarify": session["pending_clarify"],
        "yolo": session["yolo"],
        "created_at": session["created_at"],
        "last_message_at": session["last_message_at"],
        **_usage(session),
    }


@router.get("/session/usage", response_model=SessionUsage)
async def usage(sessions: SessionsDep, session_id: SessionIdQuery) -> JSON:
    """The session's token and cost totals over all its runs (``estimated_cost`` is null when no
    provider reported a price)."""
    session = await sessions.get(session_id, messages=False)
    return {"ok": True, "session_id": session["session_id"], **_usage(session)}


@router.post("/session/yolo", response_model=YoloAnswer)
async def yolo(body: SessionYolo, services: ServicesDep) -> JSON:
    """``enabled: true`` turns approvals off for this session (every tool call runs unasked, the calls
    waiting now included) until ``enabled: false`` or the server restarts (unless the setting
    ``yolo_survives_restart`` is on). Recorded in the session, as a notice and on the list's feed."""
    return await services.yolo.set(body.session_id, body.enabled)
