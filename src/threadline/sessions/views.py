"""Rows to the JSON shapes of the API (the reference's ``compact()`` row and message dicts). The store
reads JSON columns readable (``jsonvalues.decode_json``: a stored lone surrogate is already U+FFFD), so
a row is shaped without another walk over its values; a message built in memory is made readable by
its caller (``SessionService.append_message``).

Each shape is a ``TypedDict``: at run time a plain dict built from a literal (no copy, no validation:
opening a 2,000-message session costs what it did), for mypy a checked set of keys, and for
``/openapi.json`` a schema (``web/answers.py``). Every shape allows keys it does not name
(``extra="allow"``): a message carries its ``meta`` keys, a session its stored ``extra``, and fields
added later are documented, never stripped. ``tests/test_openapi_answers.py`` validates real answers
against the documented schemas."""

from __future__ import annotations

from typing import Any, Literal, NotRequired, cast

from pydantic import ConfigDict, with_config
from sqlalchemy import RowMapping
from typing_extensions import TypedDict

from threadline.sessions.drafts import Draft

UNTITLED = "Untitled"
BUILTIN_RUNTIME = "builtin"
HIDDEN_KINDS = ("btw", "background")
PENDING_APPROVAL = "pending_approval"  # in ``extra`` while a run waits for consent: {run_id, id, requested_at}
PENDING_CLARIFY = "pending_clarify"  # in ``extra`` while a run waits for an answer to a question: the same
INSTRUCTIONS = "instructions"  # in ``extra``: the session's own instructions for the model
PERSONA = "persona"  # in ``extra``: the name of the persona the session runs with

OPEN = ConfigDict(extra="allow")  # every shape: keys it does not name are kept (and documented as allowed)
MessageStatus = Literal["complete", "partial", "error", "interrupted", "cancelled"]


@with_config(OPEN)
class MessagePublic(TypedDict):
    """A message. ``content`` is the text, or the original list of parts; the keys of its ``meta``
    (attachments, markers) are merged in; ``sibling_*`` only when it has other versions."""

    id: int
    parent_id: int | None
    seq: int
    role: str
    content: Any
    status: MessageStatus
    timestamp: float
    tool_calls: NotRequired[list[Any]]
    tool_call_id: NotRequired[str]
    reasoning: NotRequired[str]
    run_id: NotRequired[str]
    _partial: NotRequired[bool]  # the status, as Hermes WebUI's flags
    _error: NotRequired[bool]
    _interrupted: NotRequired[bool]
    in_context: NotRequired[bool]
    summary: NotRequired[dict[str, Any]]  # a summary row: {count, through_seq} (agent/compaction.py)
    sibling_ids: NotRequired[list[int]]
    sibling_index: NotRequired[int]
    sibling_count: NotRequired[int]


@with_config(OPEN)
class BranchesAfter(TypedDict):
    """Kept messages after the path's last one (after an undo or a truncate)."""

    count: int
    message_id: int


@with_config(OPEN)
class MessageWindow(TypedDict):
    """A page of the active path: ``_messages_offset`` is the first message's position,
    ``_messages_truncated`` whether earlier ones exist; ``branches_after`` on the last page only."""

    messages: list[MessagePublic]
    _messages_offset: int
    _messages_truncated: bool
    branches_after: NotRequired[BranchesAfter | None]


@with_config(OPEN)
class MessageVersion(TypedDict):
    message_id: int
    role: str
    preview: str
    status: MessageStatus
    timestamp: float
    active: bool


@with_config(OPEN)
class MessageVersions(TypedDict):
    """Every version of a message (its siblings, itself included), oldest first; ``index`` is its own."""

    session_id: str
    message_id: int
    parent_id: int | None
    seq: int
    index: int
    count: int
    versions: list[MessageVersion]


@with_config(OPEN)
class TurnRetried(TypedDict):
    """The active path moved back before the last user message, whose text the client sends again."""

    ok: bool
    last_user_text: str
    removed_count: int


@with_config(OPEN)
class TurnUndone(TypedDict):
    ok: bool
    removed_count: int
    removed_preview: str


@with_config(OPEN)
class SessionPublic(TypedDict):
    """A session as the list, the sidebar and every change answer it (the reference's ``compact()``)."""

    session_id: str
    title: str
    workspace: str
    model: str | None
    runtime: str
    project_id: str | None
    pinned: bool
    archived: bool
    kind: str
    parent_id: str | None
    created_at: float
    updated_at: float
    last_message_at: float
    message_count: int
    input_tokens: int
    output_tokens: int
    estimated_cost: float | None
    active_stream_id: str | None
    is_streaming: bool
    pending_approval: bool
    pending_clarify: bool
    yolo: bool  # approvals off for this session (runs/yolo.py)
    is_draft: bool
    instructions: str  # the session's own instructions for the model ("" without)
    persona: str | None  # the persona it runs with
    personality: str | None  # the same, under Hermes WebUI's name
    extra: NotRequired[dict[str, Any]]
    context: NotRequired[dict[str, Any]]  # the gauge: {used, limit, budget, model, source, vision, at}


@with_config(OPEN)
class QueuedMessage(TypedDict):
    """A message waiting for the session's live run to end (``chat/start`` with ``queue``)."""

    id: str
    message: str
    created_at: float


@with_config(OPEN)
class SessionDetail(SessionPublic, total=False):
    """A session with a page of its messages (``GET /api/session``; without ``messages=0``), and its
    queued messages there."""

    messages: list[MessagePublic]
    _messages_offset: int
    _messages_truncated: bool
    branches_after: BranchesAfter | None
    queue: list[QueuedMessage]


@with_config(OPEN)
class SearchHit(SessionPublic):
    """A session found by ``/api/sessions/search``: by its title, or by a message (``message_id``, and
    whether that message is on the active path)."""

    match_type: NotRequired[Literal["title", "content"]]
    snippet: NotRequired[str]
    message_id: NotRequired[int]
    on_active_path: NotRequired[bool]


@with_config(OPEN)
class SearchPublic(TypedDict):
    sessions: list[SearchHit]
    query: str
    count: int


@with_config(OPEN)
class SessionsPublic(TypedDict):
    """A page of the list, newest activity first (pinned ones first); ``next_cursor`` asks for the next."""

    sessions: list[SessionPublic]
    next_cursor: str | None
    cli_count: NotRequired[int]
    server_time: NotRequired[float]  # the server's clock, seconds since the epoch
    server_tz: NotRequired[str]  # its IANA time zone


def _waits(extra: dict[str, Any], mark: str, active: str | None) -> bool:
    """Whether the session's active run waits for the user (a mark of another run is stale)."""
    waiting = extra.pop(mark, None)
    return active is not None and isinstance(waiting, dict) and waiting.get("run_id") == active


def session_public(row: RowMapping | dict[str, Any]) -> SessionPublic:
    extra = dict(row["extra"] or {})
    active = row["active_run_id"]
    approval, clarify = _waits(extra, PENDING_APPROVAL, active), _waits(extra, PENDING_CLARIFY, active)
    instructions, persona = _instructions(extra)
    public: SessionPublic = {
        "session_id": row["id"],
        "title": row["title"],
        "workspace": row["workspace"],
        "model": row["model"],
        "runtime": row["runtime"] or BUILTIN_RUNTIME,
        "project_id": row["project_id"],
        "pinned": bool(row["pinned"]),
        "archived": bool(row["archived"]),
        "kind": row["kind"],
        "parent_id": row["parent_id"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "last_message_at": row["last_message_at"] or row["updated_at"],
        "message_count": row["message_count"],
        "input_tokens": row["input_tokens"],
        "output_tokens": row["output_tokens"],
        "estimated_cost": row["estimated_cost"],
        "active_stream_id": active,
        "is_streaming": active is not None,
        "pending_approval": approval,
        "pending_clarify": clarify,
        "yolo": bool(extra.get("yolo")),  # approvals off for this session (runs/yolo.py)
        "is_draft": False,
        "instructions": instructions,
        "persona": persona,
        "personality": persona,
    }
    context = extra.pop("context", None)  # the gauge (``sessions/context.py``)
    if isinstance(context, dict):
        public["context"] = context
    if extra:
        public["extra"] = extra
    return public


def draft_public(draft: Draft) -> SessionPublic:
    instructions, persona = _instructions(dict(draft.extra))
    return {
        "session_id": draft.id,
        "title": UNTITLED,
        "workspace": draft.workspace,
        "model": draft.model,
        "runtime": draft.runtime or BUILTIN_RUNTIME,
        "project_id": None,
        "pinned": False,
        "archived": False,
        "kind": "chat",
        "parent_id": None,
        "created_at": draft.created_at,
        "updated_at": draft.created_at,
        "last_message_at": draft.created_at,
        "message_count": 0,
        "input_tokens": 0,
        "output_tokens": 0,
        "estimated_cost": 0.0,
        "active_stream_id": None,
        "is_streaming": False,
        "pending_approval": False,
        "pending_clarify": False,
        "yolo": False,
        "is_draft": True,
        "instructions": instructions,
        "persona": persona,
        "personality": persona,
    }


def _instructions(extra: dict[str, Any]) -> tuple[str, str | None]:
    """The session's instructions and persona, taken out of ``extra``."""
    persona = extra.pop(PERSONA, None)
    return extra.pop(INSTRUCTIONS, None) or "", persona if isinstance(persona, str) else None


def public_status(status: str) -> MessageStatus:
    """A row's status as the API shows it: a live run's checkpointed answer (``streaming``, kept out
    of the full-text index until it ends) is ``partial``, as it would be if the run stopped now."""
    return "partial" if status == "streaming" else cast(MessageStatus, status)


def message_public(row: RowMapping | dict[str, Any]) -> MessagePublic:
    status = public_status(row["status"])
    out: MessagePublic = {
        "id": row["id"],
        "parent_id": row["parent_id"],
        "seq": row["seq"],
        "role": row["role"],
        "content": row["parts"] if row["parts"] is not None else row["content"],
        "status": status,
        "timestamp": row["created_at"],
    }
    if row["tool_calls"]:
        out["tool_calls"] = row["tool_calls"]
    if row["tool_call_id"]:
        out["tool_call_id"] = row["tool_call_id"]
    if row["reasoning"]:
        out["reasoning"] = row["reasoning"]
    if row["run_id"]:
        out["run_id"] = row["run_id"]
    if status == "partial":
        out["_partial"] = True
    if status in ("error", "cancelled"):
        out["_error"] = True
    if status == "interrupted":
        out["_interrupted"] = True
    if not row["in_context"]:
        out["in_context"] = False
    meta = row["meta"]
    if meta:
        loose = cast(dict[str, Any], out)  # meta's keys are the shape's extra keys
        for key, value in meta.items():
            loose.setdefault(key, value)
    return out


def session_detail(public: SessionPublic, page: MessageWindow | None = None) -> SessionDetail:
    """``public`` with ``page`` (a page of its messages) merged in: the same dict, not a copy."""
    detail = cast(SessionDetail, public)
    if page is not None:
        cast(dict[str, Any], detail).update(page)
    return detail


def empty_window() -> MessageWindow:
    """The page of a session without messages (a draft)."""
    return {"messages": [], "_messages_offset": 0, "_messages_truncated": False}
