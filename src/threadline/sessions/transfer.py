"""Export (JSON, Markdown) and import of whole sessions, every version of their messages included
(``branch_transfer.py``)."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from threadline.errors import BadRequest
from threadline.jsonvalues import require_storable
from threadline.sessions import branches
from threadline.sessions.branch_transfer import ROLE_NAMES, insert_tree, parse_tree, version_chains
from threadline.sessions.content import text_of
from threadline.sessions.personas import INSTRUCTIONS_MAX
from threadline.sessions.rows import VALID_ROLES, NewMessage
from threadline.sessions.service import SessionService, clean_title, new_session_id
from threadline.sessions.views import INSTRUCTIONS, PERSONA, SessionDetail
from threadline.store import tables as t
from threadline.store.bulk import insert_rows

EXPORT_FORMAT = "threadline.session.v1"
MAX_IMPORT_MESSAGES = 100_000
MAX_COUNT = 2**53 - 1  # token totals: exact in JavaScript and in a 64-bit column


async def export_json(service: SessionService, session_id: str) -> dict[str, Any]:
    """The session with its active path as ``messages`` and every other kept version as ``branches``."""
    session: dict[str, Any] = {**await service.get(session_id)}
    session.pop("branches_after", None)
    session["format"] = EXPORT_FORMAT
    async with service.store.read() as conn:
        session["branches"] = await branches.off_path(conn, session["session_id"])
    return session


def _markdown_tool_call(call: Any) -> str:
    """A tool call as a line naming the tool and its arguments as JSON in a fenced block (stored calls
    are ``{id, name, arguments}``; imported ones may be OpenAI's ``{function: {name, arguments}}``, with
    the arguments as a JSON string)."""
    call = call if isinstance(call, dict) else {}
    function = call.get("function") if isinstance(call.get("function"), dict) else {}
    name = call.get("name") or function.get("name") or "tool"
    arguments = call.get("arguments", function.get("arguments"))
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            pass  # not JSON: shown as the text it is
    if isinstance(arguments, str):
        body, lang = arguments, ""
    else:
        body, lang = json.dumps(arguments if arguments is not None else {}, indent=2, ensure_ascii=False), "json"
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"\n**Tool call** `{name}`:\n\n{fence}{lang}\n{body}\n{fence}"


def _utc(stamp: Any) -> str:
    try:
        return time.strftime("%Y-%m-%d %H:%M", time.gmtime(stamp or 0))
    except (TypeError, ValueError, OverflowError, OSError):  # a stored time that is no time
        return "?"


def _markdown_message(message: dict[str, Any], level: str) -> list[str]:
    role = message["role"]
    heading = ROLE_NAMES[role]
    if message.get("side") == "btw":
        heading += " (btw)"
    lines = [f"{level} {heading} · {_utc(message.get('timestamp'))} UTC", ""]
    if message.get("reasoning"):
        lines.append("<details><summary>Thinking</summary>\n")
        lines.append(message["reasoning"])
        lines.append("\n</details>\n")
    text = text_of(message.get("content"))
    if role == "tool":
        lines.append("```\n" + text.replace("```", "ˋˋˋ") + "\n```")
    else:
        lines.append(text)
    for call in message.get("tool_calls") or []:
        lines.append(_markdown_tool_call(call))
    if message.get("status") not in (None, "complete"):
        lines.append(f"\n*({message['status']})*")
    lines.append("")
    return lines


def to_markdown(session: dict[str, Any]) -> str:
    """The active path, then every other kept version, each labelled with where it leaves it."""
    lines = [f"# {session['title']}", ""]
    lines.append(f"- Session: `{session['session_id']}`")
    if session.get("model"):
        lines.append(f"- Model: `{session['model']}`")
    lines.append(f"- Workspace: `{session['workspace']}`")
    lines.append(f"- Messages: {session['message_count']}")
    lines.append("")
    for message in session.get("messages", []):
        lines.extend(_markdown_message(message, "##"))
    chains = version_chains(session, text_of)
    if chains:
        lines.extend(["---", "", "# Other versions", "",
                      "Kept when a message was edited, an answer regenerated or a turn undone; "
                      "the conversation above is the one the model sees.", ""])
        for number, (label, chain) in enumerate(chains, start=1):
            lines.extend([f"## Version {number}: {label}", ""])
            for message in chain:
                lines.extend(_markdown_message(message, "###"))
    return "\n".join(lines)


def parse_import_messages(raw: Any, now: float | None = None) -> list[NewMessage]:
    """Validate imported messages (reference format: OpenAI-style dicts with optional markers)."""
    if not isinstance(raw, list):
        raise BadRequest("messages must be a list")
    if len(raw) > MAX_IMPORT_MESSAGES:
        raise BadRequest(f"at most {MAX_IMPORT_MESSAGES} messages can be imported")
    now = time.time() if now is None else now
    parsed = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            raise BadRequest(f"messages[{index}] must be an object")
        role = item.get("role")
        if role not in VALID_ROLES:
            raise BadRequest(f"messages[{index}].role must be one of {', '.join(VALID_ROLES)}")
        content = item.get("content")
        parts = content if isinstance(content, list) else None
        status = item.get("status") or (
            "partial" if item.get("_partial") else "error" if item.get("_error") else "complete"
        )
        if status not in ("complete", "partial", "error", "interrupted", "cancelled"):
            status = "complete"
        stamp = item.get("timestamp") or item.get("_ts")
        tool_calls = item.get("tool_calls") if isinstance(item.get("tool_calls"), list) else None
        meta: dict[str, Any] = {}
        if isinstance(item.get("attachments"), list):
            meta["attachments"] = [str(a) for a in item["attachments"]][:20]
        if item.get("side") == "btw":
            meta["side"] = "btw"
        parsed.append(
            NewMessage(
                role=role,
                content=text_of(content),
                parts=parts,
                tool_calls=tool_calls,
                tool_call_id=str(item["tool_call_id"]) if item.get("tool_call_id") else None,
                reasoning=item.get("reasoning") if isinstance(item.get("reasoning"), str) else None,
                status=status,
                in_context=not (status in ("error", "cancelled") or meta.get("side") == "btw"),
                meta=meta,
                created_at=_timestamp(stamp, now),
            )
        )
    return parsed


@dataclass
class PreparedSession:
    """A session ready to be written: its row (id included) and its message rows: its active path, or
    with ``parents`` (the index of each row's parent) a tree whose first ``message_count`` rows are the
    path."""

    row: dict[str, Any]
    messages: list[dict[str, Any]]
    parents: list[int | None] | None = None

    @property
    def id(self) -> str:
        return str(self.row["id"])


def prepare_import(
    service: SessionService,
    payload: dict[str, Any],
    *,
    session_id: str | None = None,
    project_id: str | None = None,
    trust_workspace: bool = False,
) -> PreparedSession:
    """Validate an imported session and build its rows, without touching the database. A new id unless
    ``session_id`` is given (the Hermes importer keeps ids that are free). Refused (400) when any value
    could not be stored and read back (``jsonvalues``) or a count is out of range; timestamps in the
    future are taken as now, so an import cannot pin itself to the top of the list. ``messages`` become
    the active path; a Threadline export's ``branches`` become the other versions."""
    require_storable(payload)
    now = time.time()
    raw, raw_branches = payload.get("messages"), payload.get("branches")
    if isinstance(raw, list) and isinstance(raw_branches, list) and raw_branches:
        messages = parse_import_messages([*raw, *raw_branches], now)
    else:
        messages = parse_import_messages(raw, now)
    tree = parse_tree(raw, raw_branches, messages)
    path_length = tree.path_length if tree is not None else len(messages)
    title = clean_title(payload.get("title") or "Untitled")
    raw_workspace = payload.get("workspace")
    if raw_workspace is not None and not isinstance(raw_workspace, str):
        raise BadRequest("workspace must be a string")
    if trust_workspace and raw_workspace:
        workspace = raw_workspace
    else:
        workspace = service.resolve_workspace(raw_workspace)
    model = payload.get("model")
    if model is not None and not isinstance(model, str):
        raise BadRequest("model must be a string")
    created_at = _timestamp(payload.get("created_at"), now) or now
    updated_at = _timestamp(payload.get("updated_at"), now) or created_at
    row_id = session_id or new_session_id()
    rows = []
    last_at = None
    for index, message in enumerate(messages):
        stamp = message.created_at or created_at
        seq = tree.depths[index] if tree is not None else index
        rows.append(message.values(row_id, seq, None, stamp))
        if index >= path_length:
            rows[-1]["position"] = None  # another version, off the active path
        elif message.role != "tool":
            last_at = stamp
    stated = payload.get("last_message_at")  # what the source system lists by, when it says
    if isinstance(stated, int | float) and not isinstance(stated, bool) and stated > 0:
        last_at = float(stated)
    cost = payload.get("estimated_cost")
    row: dict[str, Any] = {
        "id": row_id,
        "title": title,
        "workspace": workspace,
        "model": model,
        "pinned": bool(payload.get("pinned")),
        "archived": bool(payload.get("archived")),
        "project_id": project_id,
        "created_at": created_at,
        "updated_at": updated_at,
        "last_message_at": last_at,
        # The list's order, as Hermes WebUI's: the last message not from a tool, else the last update.
        "sort_at": updated_at if last_at is None else last_at,
        "message_count": path_length,
        "input_tokens": _count(payload, "input_tokens"),
        "output_tokens": _count(payload, "output_tokens"),
        "estimated_cost": None if cost is None else _cost(cost),  # None: unknown, not free
        "extra": _extra(payload),
    }
    return PreparedSession(row, rows, tree.parents if tree is not None else None)


def _extra(payload: dict[str, Any]) -> dict[str, Any]:
    """``extra`` with the session's ``instructions`` and ``persona`` (Hermes WebUI's ``personality``),
    which an export shows beside it."""
    extra = dict(payload["extra"]) if isinstance(payload.get("extra"), dict) else {}
    for key in (INSTRUCTIONS, PERSONA):
        value = payload.get(key) or (payload.get("personality") if key == PERSONA else None)
        if isinstance(value, str) and value:
            extra[key] = value[:INSTRUCTIONS_MAX]
    return extra


async def write_imports(conn: AsyncConnection, sessions: list[PreparedSession]) -> None:
    """Insert prepared sessions and their messages: a few multi-row statements, whatever their number;
    then each transcript becomes a path (each message follows the one before it). A session with other
    versions is written as its tree."""
    await insert_rows(conn, t.sessions, [s.row for s in sessions])
    linear = [s for s in sessions if s.parents is None]
    await insert_rows(conn, t.messages, [m for s in linear for m in s.messages])
    await branches.link_paths(conn, [s.id for s in linear if s.messages])
    for tree in (s for s in sessions if s.parents is not None):
        await insert_tree(conn, tree.id, tree.messages, tree.parents or [], tree.row["message_count"])


async def import_session(
    service: SessionService,
    payload: dict[str, Any],
    *,
    session_id: str | None = None,
    project_id: str | None = None,
    trust_workspace: bool = False,
) -> SessionDetail:
    """Write one session with its messages in one transaction."""
    prepared = prepare_import(
        service, payload, session_id=session_id, project_id=project_id, trust_workspace=trust_workspace
    )
    async with service.store.write() as conn:
        await write_imports(conn, [prepared])
        service.changed(conn, "created", prepared.id)
    return await service.get(prepared.id)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _count(payload: dict[str, Any], key: str) -> int:
    """A token total: 0 when absent or not a number; 400 when out of range."""
    value: Any = payload.get(key)
    if not _number(value) or value < 0:
        return 0
    if value > MAX_COUNT:
        raise BadRequest(f"{key} must be at most {MAX_COUNT}")
    return int(value)


def _cost(value: Any) -> float:
    if not _number(value) or value < 0:
        return 0.0
    if value > MAX_COUNT:
        raise BadRequest(f"estimated_cost must be at most {MAX_COUNT}")
    return float(value)


def _timestamp(value: Any, now: float) -> float | None:
    """Epoch seconds: None when absent, not a number or not positive; a time after ``now`` is ``now``."""
    if not _number(value) or value <= 0:
        return None
    return now if value > now else float(value)
