"""Session endpoints (reference §2.1): the same paths, parameters and JSON keys."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from threadline.jsonvalues import encode_json, encode_text
from threadline.redact import redact_obj
from threadline.sessions import history, transfer
from threadline.sessions.personas import session_changes
from threadline.sessions.pins import check_room_to_pin, pin_limit
from threadline.sessions.search import search_sessions
from threadline.sessions.views import (
    MessageVersions,
    SearchPublic,
    SessionsPublic,
    TurnRetried,
    TurnUndone,
    session_detail,
)
from threadline.web.answers import (
    SessionAnswer,
    SessionChanged,
    SessionChangedWithMessages,
    SessionCompressed,
    SessionDeleted,
)
from threadline.web.deps import PreferencesDep, RunsDep, RuntimesDep, ServicesDep, SessionsDep, SideDep
from threadline.web.responses import RedactedJSONResponse, SessionResponse, off_loop
from threadline.web.schemas import (
    MESSAGE_ID_MAX,
    SessionArchive,
    SessionBranch,
    SessionCompress,
    SessionCreate,
    SessionImport,
    SessionMove,
    SessionPin,
    SessionRef,
    SessionRename,
    SessionTruncate,
    SessionUpdate,
)
from threadline.workspace.media import remove_attachments

router = APIRouter(prefix="/api", tags=["sessions"])

SessionIdQuery = Annotated[str, Query(min_length=1, max_length=64)]


@router.post("/session/new", response_model=SessionAnswer)
async def new_session(
    sessions: SessionsDep, runtimes: RuntimesDep, body: SessionCreate | None = None
) -> RedactedJSONResponse:
    """Create a draft: findable by id, but no row is written until it has real state. The body is
    optional; ``runtime`` names the runtime the session runs on (default: the built-in one)."""
    body = body or SessionCreate()
    runtime = runtimes.check_name(body.runtime)
    session = session_detail(await sessions.create_draft(workspace=body.workspace, model=body.model, runtime=runtime))
    session["messages"] = []
    return RedactedJSONResponse({"session": session})


@router.get("/session", response_model=SessionAnswer)
async def get_session(
    sessions: SessionsDep,
    runs: RunsDep,
    session_id: SessionIdQuery,
    messages: Annotated[int, Query(ge=0, le=1)] = 1,
    msg_limit: Annotated[int | None, Query(ge=1, le=100_000)] = None,
    msg_before: Annotated[int | None, Query(ge=0)] = None,
) -> RedactedJSONResponse:
    """A session with its messages. The typed routes answer with the response class themselves: given a
    dict, FastAPI would first copy the whole transcript through pydantic (its response model), a walk
    over every value that costs about what redacting and encoding it does (``web/answers.py``)."""
    # The queue is read first: a queued message the server claims between the two reads is then
    # either still in this queue or the session's active run (or done), never in neither, which
    # would leave a client believing nothing more is coming.
    queue = await runs.queued(session_id)
    session = await sessions.get(session_id, messages=bool(messages), msg_limit=msg_limit, msg_before=msg_before)
    session["queue"] = [] if session["is_draft"] else queue
    return SessionResponse({"session": session})


@router.get("/sessions", response_model=SessionsPublic)
async def list_sessions(
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    archived: Literal["0", "1", "all"] = "0",
    project_id: Annotated[str | None, Query(max_length=64)] = None,
) -> RedactedJSONResponse:
    """A page of the list, newest first (pinned ones first), with the server's clock and time zone
    (``server_time``: seconds since the epoch, ``server_tz``: an IANA name), as Hermes WebUI answers."""
    page = await services.sessions.list(limit=limit, cursor=cursor, archived=archived, project_id=project_id)
    page["cli_count"] = 0
    page["server_time"] = time.time()
    page["server_tz"] = services.tasks.timezone
    return RedactedJSONResponse(page)


@router.get("/sessions/search", response_model=SearchPublic)
async def search(
    sessions: SessionsDep,
    q: Annotated[str, Query(max_length=500)] = "",
    content: Annotated[int, Query(ge=0, le=1)] = 1,
    depth: Annotated[int | None, Query(ge=0)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    archived: Literal["0", "1", "all"] = "all",
) -> RedactedJSONResponse:
    """Titles and the full text of every message (``depth`` is accepted and ignored: all messages
    are indexed)."""
    found = await search_sessions(sessions, q, limit=limit, content=bool(content), archived=archived)
    return RedactedJSONResponse(found)


@router.post("/session/rename", response_model=SessionChanged)
async def rename(body: SessionRename, sessions: SessionsDep) -> RedactedJSONResponse:
    return RedactedJSONResponse({"ok": True, "session": await sessions.rename(body.session_id, body.title)})


@router.post("/session/update", response_model=SessionChangedWithMessages)
async def update_session(
    body: SessionUpdate, sessions: SessionsDep, runtimes: RuntimesDep, services: ServicesDep,
) -> RedactedJSONResponse:
    """Change the workspace, model, runtime, ``instructions`` or ``persona`` (a persona's name; ``""``
    clears it); a new runtime takes over at the next turn. Everything is checked before anything changes."""
    runtime = None if body.runtime is None else (runtimes.check_name(body.runtime) or "")
    model, extra = await session_changes(services.personas, instructions=body.instructions, persona=body.persona,
                                         model=body.model)
    session = await sessions.update(body.session_id, workspace=body.workspace, model=model, runtime=runtime,
                                    extra=extra)
    return RedactedJSONResponse({"ok": True, "session": session})


@router.post("/session/delete", response_model=SessionDeleted)
async def delete_session(body: SessionRef, services: ServicesDep, side: SideDep) -> RedactedJSONResponse:
    """Delete the session with its btw and background sessions (their runs are stopped first), and
    its attachment folder (the copies of its uploads; the workspace is not touched)."""
    await side.cancel_children(body.session_id)
    deleted = await services.sessions.delete(body.session_id)
    await services.workspace_pool.run(remove_attachments, services.settings.attachments_dir, body.session_id)
    return RedactedJSONResponse({"ok": True, "deleted": deleted})


@router.post("/session/pin", response_model=SessionChanged)
async def pin(body: SessionPin, sessions: SessionsDep, preferences: PreferencesDep) -> RedactedJSONResponse:
    """Pin or unpin; at most ``pinned_sessions_limit`` (preference, default 3) pinned chats, else 400
    and nothing changes."""
    if body.pinned:
        limit = pin_limit(await preferences.get("pinned_sessions_limit"))
        await check_room_to_pin(sessions.store, body.session_id, limit)
    return RedactedJSONResponse({"ok": True, "session": await sessions.set_pinned(body.session_id, body.pinned)})


@router.post("/session/archive", response_model=SessionChanged)
async def archive(body: SessionArchive, sessions: SessionsDep) -> RedactedJSONResponse:
    return RedactedJSONResponse({"ok": True, "session": await sessions.set_archived(body.session_id, body.archived)})


@router.post("/session/move", response_model=SessionChanged)
async def move(body: SessionMove, sessions: SessionsDep) -> RedactedJSONResponse:
    return RedactedJSONResponse({"ok": True, "session": await sessions.move(body.session_id, body.project_id or None)})


@router.post("/session/clear", response_model=SessionChanged)
async def clear(body: SessionRef, sessions: SessionsDep) -> RedactedJSONResponse:
    return RedactedJSONResponse({"ok": True, "session": await history.clear(sessions, body.session_id)})


@router.post("/session/truncate", response_model=SessionChangedWithMessages)
async def truncate(body: SessionTruncate, sessions: SessionsDep) -> RedactedJSONResponse:
    """Keep the first ``keep_count`` messages on the active path; the others stay as a version."""
    session = await history.truncate(sessions, body.session_id, body.keep_count)
    return RedactedJSONResponse({"ok": True, "session": session})


@router.post("/session/retry", response_model=TurnRetried)
async def retry(body: SessionRef, sessions: SessionsDep) -> RedactedJSONResponse:
    """Move the active path back to before the last user message and return its text; the client sends
    it again, which makes a new version of that turn (the old one stays)."""
    return RedactedJSONResponse(await history.retry(sessions, body.session_id))


@router.post("/session/undo", response_model=TurnUndone)
async def undo(body: SessionRef, sessions: SessionsDep) -> RedactedJSONResponse:
    """Move the active path back to before the last user message; that turn stays as a version."""
    return RedactedJSONResponse(await history.undo(sessions, body.session_id))


@router.post("/session/branch", response_model=SessionChangedWithMessages)
async def branch(body: SessionBranch, sessions: SessionsDep) -> RedactedJSONResponse:
    """Show another version: ``message_id`` joins the active path, followed by the versions below it that
    were shown last; what leaves the path is kept. 409 while a run is live. Returns the session with the
    path's last ``msg_limit`` messages (all without it)."""
    session = await history.switch(sessions, body.session_id, body.message_id, msg_limit=body.msg_limit)
    return RedactedJSONResponse({"ok": True, "session": session})


@router.get("/session/branches", response_model=MessageVersions)
async def branches(
    sessions: SessionsDep,
    session_id: SessionIdQuery,
    message_id: Annotated[int, Query(ge=1, le=MESSAGE_ID_MAX)],
) -> RedactedJSONResponse:
    """Every version of a message (its siblings, itself included), oldest first."""
    return RedactedJSONResponse(await history.versions(sessions, session_id, message_id))


@router.post("/session/compress", response_model=SessionCompressed)
async def compress(body: SessionCompress, services: ServicesDep) -> RedactedJSONResponse:
    """Summarise the session's context now (``/compress``): every message but the newest becomes one
    summary row the model is sent instead of them; they stay stored and shown. ``{ok, session, summary,
    focus_topic}``; 409 while a run is live or if the session changed meanwhile; 400 with fewer than 4
    messages, no provider, or a session on an ACP agent."""
    assert services.compression is not None
    result = await services.compression.compress(body.session_id, body.focus_topic)
    return RedactedJSONResponse(result)


@router.post("/session/duplicate", response_model=SessionChanged)
async def duplicate(body: SessionRef, sessions: SessionsDep) -> RedactedJSONResponse:
    return RedactedJSONResponse({"ok": True, "session": await history.duplicate(sessions, body.session_id)})


@router.get("/session/export")
async def export(
    sessions: SessionsDep, session_id: SessionIdQuery, format: Literal["json", "md"] = "json"
) -> Response:
    """The whole session as a file, secrets redacted (in a worker thread when it is large)."""
    data = await transfer.export_json(sessions, session_id)

    def render(session: dict[str, Any]) -> bytes:
        redacted = redact_obj(session)
        return encode_text(transfer.to_markdown(redacted)) if format == "md" else encode_json(redacted, indent=2)

    body = await off_loop(render, data)
    media, suffix = ("text/markdown; charset=utf-8", "md") if format == "md" else ("application/json", "json")
    filename = f"threadline-{data['session_id']}.{suffix}"
    return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.post("/session/import", response_model=SessionChangedWithMessages)
async def import_session(body: SessionImport, sessions: SessionsDep) -> RedactedJSONResponse:
    """Import a session exported by Threadline or Hermes WebUI; always under a new id."""
    session = await transfer.import_session(sessions, body.model_dump())
    return RedactedJSONResponse({"ok": True, "session": session})
