"""Side questions (btw) and background tasks (reference §2.4)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from threadline.web.deps import JSON, SideDep
from threadline.web.schemas import Body, SessionId

router = APIRouter(prefix="/api", tags=["btw and background"])


class BtwStart(Body):
    session_id: str = SessionId
    question: str = Field(min_length=1, max_length=100_000)


class BackgroundStart(Body):
    session_id: str = SessionId
    prompt: str = Field(min_length=1, max_length=100_000)


class TaskRef(Body):
    task_id: str = Field(min_length=1, max_length=32)


@router.post("/btw")
async def btw(body: BtwStart, side: SideDep) -> JSON:
    """Ask a side question; allowed while the parent has a live run (it answers from a snapshot)."""
    return await side.btw(body.session_id, body.question)


@router.post("/background")
async def background(body: BackgroundStart, side: SideDep) -> JSON:
    return await side.background(body.session_id, body.prompt)


@router.get("/background/status")
async def background_status(side: SideDep, session_id: Annotated[str, Query(min_length=1, max_length=64)]) -> JSON:
    """The parent's tasks. Polling changes nothing: results are delivered into the parent by the server."""
    return await side.status(session_id)


@router.post("/background/cancel")
async def background_cancel(body: TaskRef, side: SideDep) -> JSON:
    return await side.cancel_task(body.task_id)
