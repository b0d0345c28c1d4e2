"""Response bodies: the envelopes the session and chat routes answer with, around the shapes of
``sessions/views.py`` and ``runs/views.py``, so ``/openapi.json`` documents each answer.

They document; they do not convert. A route names its envelope as ``response_model`` and returns a
``RedactedJSONResponse`` itself, and FastAPI sends a returned response as it is: no validation and no
copy through pydantic (which would walk a 2,000-message transcript once more before the redaction and
orjson encoding that the response class does anyway, see ``web/responses.py``), and the answer is
redacted by that class whatever FastAPI's default serialization would do. ``tests/test_openapi_answers.py``
keeps the documents honest: it validates real answers against the schemas ``/openapi.json`` serves.
Every shape allows keys it does not name (``extra="allow"``: ``additionalProperties`` in the schema),
so a field added to a view is never stripped and documents itself once it is named here."""

from __future__ import annotations

from pydantic import with_config
from typing_extensions import TypedDict

from threadline.sessions.views import OPEN, SessionDetail, SessionPublic


@with_config(OPEN)
class SessionAnswer(TypedDict):
    """``GET /api/session`` and ``POST /api/session/new``."""

    session: SessionDetail


@with_config(OPEN)
class SessionChanged(TypedDict):
    """A change to a session's metadata: the session as the list shows it."""

    ok: bool
    session: SessionPublic


@with_config(OPEN)
class SessionChangedWithMessages(TypedDict):
    """A change that moves or replaces messages: the session with a page of them."""

    ok: bool
    session: SessionDetail


@with_config(OPEN)
class RunCancelled(TypedDict):
    ok: bool
    cancelled: bool
    stream_id: str


@with_config(OPEN)
class SessionDeleted(TypedDict):
    ok: bool
    deleted: bool


@with_config(OPEN)
class Dequeued(TypedDict):
    ok: bool
    removed: bool


@with_config(OPEN)
class SessionCompressed(TypedDict):
    """``POST /api/session/compress``: the session with its messages (the summary row last), the
    summary's text and the focus it was given."""

    ok: bool
    session: SessionDetail
    summary: str
    focus_topic: str | None
