"""The JSON shapes of a run's answers (``chat/start``, ``chat/regenerate``, ``chat/stream/status``,
``chat/steer``),
typed like the session shapes (``sessions/views.py``): plain dicts at run time, checked keys for mypy, a
schema in ``/openapi.json``; keys they do not name are allowed."""

from __future__ import annotations

from typing import NotRequired

from pydantic import with_config
from typing_extensions import TypedDict

from threadline.sessions.views import OPEN


@with_config(OPEN)
class RunStarted(TypedDict):
    """A run that started: ``stream_id`` names its event stream (``GET /api/chat/stream``);
    ``message_id`` (regenerate) is the user message it answers."""

    stream_id: str
    session_id: str
    effective_model: str | None
    message_id: NotRequired[int]


@with_config(OPEN)
class RunQueued(TypedDict):
    """A message queued behind the session's live run (``queue``); it starts when that run ends."""

    queued: bool
    queue_id: str
    session_id: str
    active_stream_id: str | None


@with_config(OPEN)
class RunStatus(TypedDict):
    """Whether a run is live and whether its events can be replayed (``last_seq``: the events so far,
    when it is live here)."""

    stream_id: str
    active: bool
    status: str | None
    session_id: str | None
    replay_available: bool
    last_seq: int | None


@with_config(OPEN)
class SteerAnswer(TypedDict):
    """Whether text sent into a live run was taken; ``fallback`` says why not (``streaming.md``)."""

    accepted: bool
    fallback: str | None
    stream_id: str | None
