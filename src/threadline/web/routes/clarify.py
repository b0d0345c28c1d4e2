"""Clarify: the questions the agent waits on and their answers (reference §2.3)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from threadline.errors import BadRequest
from threadline.runs.clarify import MAX_RESPONSE
from threadline.web.deps import JSON, RunsDep
from threadline.web.schemas import Body, SessionId

router = APIRouter(prefix="/api", tags=["clarify"])

SessionIdQuery = Annotated[str, Query(min_length=1, max_length=64)]
Answer = Field(default=None, max_length=MAX_RESPONSE)


class ClarifyAnswer(Body):
    """The answer is ``response``, else ``answer``, else ``choice`` (Hermes WebUI's clients send any)."""

    session_id: str = SessionId
    response: str | None = Answer
    answer: str | None = Answer
    choice: str | None = Answer
    clarify_id: str | None = Field(default=None, max_length=64)


@router.get("/clarify/pending")
async def clarify_pending(runs: RunsDep, session_id: SessionIdQuery) -> JSON:
    """The oldest question the session's run waits on (``pending``), how many wait, and all of them."""
    pending = await runs.clarify.pending_anywhere(session_id)
    return {"pending": pending[0] if pending else None, "pending_count": len(pending), "all": pending}


@router.post("/clarify/respond")
async def clarify_respond(body: ClarifyAnswer, runs: RunsDep) -> JSON:
    """Answer a question (by ``clarify_id``, else the oldest); 400 when the answer is empty."""
    response = next((a for a in (body.response, body.answer, body.choice) if a is not None and a.strip()), None)
    if response is None:
        raise BadRequest("response is required: the answer to the question")
    return await runs.clarify.respond(body.session_id, response, body.clarify_id)
