"""Chat runs, the resumable event stream, cancel and steer (reference §2.2, §3); approvals are in
approvals.py, clarify in clarify.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse
from pydantic import Field

from threadline.errors import BadRequest
from threadline.runs.starts import MAX_MESSAGE_CHARS
from threadline.runs.views import RunQueued, RunStarted, RunStatus, SteerAnswer
from threadline.web import sse
from threadline.web.answers import Dequeued, RunCancelled
from threadline.web.deps import RunsDep, SettingsDep
from threadline.web.responses import RedactedJSONResponse
from threadline.web.schemas import MESSAGE_ID_MAX, Body, SessionId

router = APIRouter(prefix="/api", tags=["chat"])

_END = object()
StreamIdQuery = Annotated[str, Query(min_length=1, max_length=64)]


class ChatStart(Body):
    session_id: str = SessionId
    message: str = Field(min_length=1, max_length=1_000_000)
    model: str | None = Field(default=None, max_length=300)
    attachments: list[str] | None = Field(default=None, max_length=20)
    queue: bool = False
    edit_of: int | None = Field(default=None, ge=1, le=MESSAGE_ID_MAX)


class ChatRegenerate(Body):
    session_id: str = SessionId
    message_id: int | None = Field(default=None, ge=1, le=MESSAGE_ID_MAX)
    model: str | None = Field(default=None, max_length=300)


class ChatSteer(Body):
    """Both optional here so that a missing one is Hermes WebUI's 400, not a validation 422."""

    session_id: str | None = Field(default=None, max_length=64)
    text: str | None = Field(default=None, max_length=MAX_MESSAGE_CHARS)


class StreamRef(Body):
    stream_id: str = Field(min_length=1, max_length=64)


class Dequeue(Body):
    session_id: str = SessionId
    queue_id: str = Field(min_length=1, max_length=64)


@router.post("/chat/start", response_model=RunStarted | RunQueued)
async def chat_start(body: ChatStart, runs: RunsDep) -> RedactedJSONResponse:
    """Store the user message (a draft becomes a session) and start the run; 409 while another run is
    live, unless ``queue`` is true. ``edit_of`` (a user message's id) makes the message a new version
    of that one: the old one and what followed it stay, off the active path."""
    return RedactedJSONResponse(await runs.start(
        body.session_id, body.message, model=body.model, attachments=body.attachments, queue=body.queue,
        edit_of=body.edit_of,
    ))


@router.post("/chat/steer", response_model=SteerAnswer)
async def chat_steer(body: ChatSteer, runs: RunsDep) -> RedactedJSONResponse:
    """Send ``text`` into the session's live run, taken at its next step. Always 200
    ``{accepted, fallback, stream_id}`` (``streaming.md``, Steering); 400 without an id or text."""
    if not body.session_id:
        raise BadRequest("session_id is required")
    if body.text is None or not body.text.strip():
        raise BadRequest("text is required")
    return RedactedJSONResponse(await runs.steering.steer(body.session_id, body.text))


@router.post("/chat/regenerate", response_model=RunStarted)
async def chat_regenerate(body: ChatRegenerate, runs: RunsDep) -> RedactedJSONResponse:
    """A new answer to a user message (``message_id``, default the last one), as a new version beside
    the earlier answers; 409 while a run is live. Answers like ``chat/start``."""
    return RedactedJSONResponse(await runs.regenerate(body.session_id, body.message_id, model=body.model))


@router.get("/chat/stream", response_class=StreamingResponse)
async def chat_stream(
    runs: RunsDep,
    settings: SettingsDep,
    stream_id: StreamIdQuery,
    after_seq: Annotated[int | None, Query(ge=0)] = None,
    last_event_id: Annotated[str | None, Header(max_length=200)] = None,
) -> StreamingResponse:
    """SSE. Each event has ``id: <stream_id>:<seq>``; reconnecting with ``Last-Event-ID`` (or
    ``after_seq``) yields exactly the events after it, also once the run has ended."""
    start = sse.resume_after(last_event_id, after_seq, stream_id)
    events = runs.events(stream_id, start, settings.heartbeat_seconds)
    first = await anext(events, _END)  # an unknown stream raises NotFound (404) before the response starts

    async def body() -> AsyncIterator[bytes]:
        yield b"retry: 1500\n\n"
        item = first
        while isinstance(item, list) or item is None:  # a batch: what came while the client was written to
            if item is None:
                yield sse.HEARTBEAT
            else:
                yield await sse.encode_batch([(e.type, e.data, f"{stream_id}:{e.seq}") for e in item])
            item = await anext(events, _END)

    return StreamingResponse(
        body(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )




@router.get("/chat/stream/status", response_model=RunStatus)
async def stream_status(runs: RunsDep, stream_id: StreamIdQuery) -> RedactedJSONResponse:
    return RedactedJSONResponse(await runs.status(stream_id))


@router.post("/chat/cancel", response_model=RunCancelled)
async def cancel(body: StreamRef, runs: RunsDep) -> RedactedJSONResponse:
    """Stop the run; when this returns the partial text is stored and the session is free."""
    answer: RunCancelled = {"ok": True, "cancelled": await runs.cancel(body.stream_id), "stream_id": body.stream_id}
    return RedactedJSONResponse(answer)


@router.get("/chat/cancel", response_model=RunCancelled)
async def cancel_compat(runs: RunsDep, stream_id: StreamIdQuery) -> RedactedJSONResponse:
    """The reference's GET form, kept for its clients (same origin checks as the POST)."""
    answer: RunCancelled = {"ok": True, "cancelled": await runs.cancel(stream_id), "stream_id": stream_id}
    return RedactedJSONResponse(answer)


@router.post("/chat/dequeue", response_model=Dequeued)
async def dequeue(body: Dequeue, runs: RunsDep) -> RedactedJSONResponse:
    """Remove a queued message before it runs."""
    answer: Dequeued = {"ok": True, "removed": await runs.dequeue(body.session_id, body.queue_id)}
    return RedactedJSONResponse(answer)
