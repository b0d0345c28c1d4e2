"""Hermes WebUI's files (reference §1.1, §1.3, §1.4), read and translated into import payloads.

A Hermes ``sessions/`` directory holds one ``<id>.json`` per session; ``_index.json``, leftover
``*.json.tmp.*`` files and ``.bak`` copies are not sessions. ``projects.json`` lies beside the directory.
Nothing here touches the database: ``sessions/hermes_import.py`` writes what this module reads.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from threadline.sessions.content import text_of
from threadline.sessions.rows import VALID_ROLES
from threadline.sessions.views import UNTITLED

PLACEHOLDER_TITLES = ("", UNTITLED, "New Chat")
AUTO_TITLE_CHARS = 64


def session_files(directory: Path) -> list[Path]:
    """Session files only: ``<id>.json``, not ``_index.json`` nor ``<id>.json.tmp.<pid>.<tid>``."""
    return sorted(
        p for p in directory.glob("*.json") if p.is_file() and not p.name.startswith(("_", "."))
    )


def epoch(value: Any) -> float | None:
    """Seconds since the epoch from a number, a numeric string or an ISO date; milliseconds are scaled."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            try:
                value = datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
            except ValueError:
                return None
    if not isinstance(value, int | float) or value <= 0:
        return None
    return float(value) / 1000 if value > 1e11 else float(value)


@dataclass
class _Messages:
    kept: list[dict[str, Any]]
    dropped: int  # not an object, or an unknown role
    last_said: float | None  # Hermes' ``last_message_at``: the own stamp of the last message not from a tool


def _messages(raw: Any) -> _Messages:
    """Messages fit for ``prepare_import``."""
    if not isinstance(raw, list):
        return _Messages([], 0, None)
    kept: list[dict[str, Any]] = []
    previous: float | None = None
    last_said: float | None = None
    for item in raw:
        if not isinstance(item, dict) or item.get("role") not in VALID_ROLES:
            continue
        message = dict(item)
        own = epoch(item.get("timestamp")) or epoch(item.get("_ts"))
        if item["role"] != "tool":
            last_said = own
        # Hermes stamps most rows; tool rows often have none: they happened right after the row before.
        stamp = own or previous
        previous = stamp
        message.pop("_ts", None)
        message["timestamp"] = stamp
        if message.get("content") is None:
            message["content"] = ""
        kept.append(message)
    return _Messages(kept, len(raw) - len(kept), last_said)


def hermes_payload(data: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Translate one Hermes session into the payload ``import_session`` takes (plus dropped messages)."""
    read = _messages(data.get("messages"))
    messages, last_said = read.kept, read.last_said
    pending = data.get("pending_user_message")
    if isinstance(pending, str) and pending.strip():
        # The turn was submitted but never finished: in Hermes the prompt lived only here (§7 item 8).
        last_user = next((m for m in reversed(messages) if m["role"] == "user"), None)
        if last_user is None or text_of(last_user.get("content")) != pending:
            last_said = epoch(data.get("pending_started_at"))
            messages.append({
                "role": "user",
                "content": pending,
                "timestamp": last_said,
                "attachments": data.get("pending_attachments") or None,
            })
    created = epoch(data.get("created_at"))
    updated = epoch(data.get("updated_at"))
    stamps = [m["timestamp"] for m in messages if m.get("timestamp")]
    created = created or (min(stamps) if stamps else None) or updated or time.time()
    updated = updated or (max(stamps) if stamps else None) or created
    raw_title = data.get("title")
    title = raw_title if isinstance(raw_title, str) else ""
    if title.strip() in PLACEHOLDER_TITLES:
        first_user = next((m for m in messages if m["role"] == "user"), None)
        title = text_of(first_user.get("content")).strip()[:AUTO_TITLE_CHARS] if first_user else ""
    extra: dict[str, Any] = {"hermes_id": str(data.get("session_id") or "")}
    for key in ("profile", "personality", "llm_title_generated"):
        if data.get(key) not in (None, ""):
            extra[key] = data[key]
    workspace = data.get("workspace")
    model = data.get("model")
    payload = {
        "messages": messages,
        "title": title or UNTITLED,
        "workspace": workspace if isinstance(workspace, str) and workspace else None,
        "model": model if isinstance(model, str) and model else None,
        "pinned": data.get("pinned") is True,
        "archived": data.get("archived") is True,
        "created_at": created,
        "updated_at": updated,
        # Hermes lists by (pinned, last_message_at or updated_at), descending (reference §1.7).
        "last_message_at": last_said or updated,
        "input_tokens": data.get("input_tokens"),
        "output_tokens": data.get("output_tokens"),
        "estimated_cost": data.get("estimated_cost"),
        "extra": extra,
    }
    return payload, read.dropped


@dataclass
class HermesFile:
    """One session file, read: ``payload`` for ``prepare_import``, or ``error`` when it cannot be used."""

    name: str
    hermes_id: str = ""
    payload: dict[str, Any] | None = None
    project_id: str | None = None
    dropped: int = 0
    error: str | None = None


def read_session_file(path: Path) -> HermesFile:
    """Read and translate one file; never raises for a bad file (the error is in the result)."""
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        return HermesFile(path.name, error=f"not valid JSON: {exc}")
    if not isinstance(data, dict):
        return HermesFile(path.name, error="not a session object")
    hermes_id = data.get("session_id")
    if not isinstance(hermes_id, str) or not hermes_id:
        hermes_id = path.stem
    data["session_id"] = hermes_id
    payload, dropped = hermes_payload(data)
    project_id = data.get("project_id")
    return HermesFile(
        path.name, hermes_id, payload, project_id if isinstance(project_id, str) else None, dropped
    )


def read_projects(path: Path) -> tuple[list[dict[str, Any]], str | None]:
    """The entries of ``projects.json`` (a list, or ``{"projects": [...]}``), or why it cannot be used."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return [], f"unreadable projects file: {exc}"
    if isinstance(raw, dict):
        raw = raw.get("projects", [])
    if not isinstance(raw, list):
        return [], "projects file is not a list"
    return [e for e in raw if isinstance(e, dict) and isinstance(e.get("project_id"), str)], None
