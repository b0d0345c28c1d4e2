"""Rows to the JSON shapes of the API (the reference's ``compact()`` row and message dicts). The store
reads JSON columns readable (``jsonvalues.decode_json``: a stored lone surrogate is already U+FFFD), so
a row is shaped without another walk over its values; a message built in memory is made readable by
its caller (``SessionService.append_message``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import RowMapping

from threadline.sessions.drafts import Draft

UNTITLED = "Untitled"
BUILTIN_RUNTIME = "builtin"
HIDDEN_KINDS = ("btw", "background")
PENDING_APPROVAL = "pending_approval"  # in ``extra`` while a run waits for consent: {run_id, id, requested_at}
PENDING_CLARIFY = "pending_clarify"  # in ``extra`` while a run waits for an answer to a question: the same


def _waits(extra: dict[str, Any], mark: str, active: str | None) -> bool:
    """Whether the session's active run waits for the user (a mark of another run is stale)."""
    waiting = extra.pop(mark, None)
    return active is not None and isinstance(waiting, dict) and waiting.get("run_id") == active


def session_public(row: RowMapping | dict[str, Any]) -> dict[str, Any]:
    extra = dict(row["extra"] or {})
    active = row["active_run_id"]
    approval, clarify = _waits(extra, PENDING_APPROVAL, active), _waits(extra, PENDING_CLARIFY, active)
    public = {
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
        "is_draft": False,
    }
    if extra:
        public["extra"] = extra
    return public


def draft_public(draft: Draft) -> dict[str, Any]:
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
        "is_draft": True,
    }


def message_public(row: RowMapping | dict[str, Any]) -> dict[str, Any]:
    status = row["status"]
    out: dict[str, Any] = {
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
    for key, value in (row["meta"] or {}).items():
        out.setdefault(key, value)
    return out
