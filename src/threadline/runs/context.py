"""What the model is sent: the stored transcript made safe for strict providers. The instructions are
assembled in ``runs/instructions.py``; the automatic title is ``runs/titles.py``'s."""

from __future__ import annotations

import json
from typing import Any


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("text"))
    return ""


def model_history(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """In-context rows as provider messages. Tool results without a matching call are dropped, and a
    call whose result never arrived (a cancel mid-tool) gets a placeholder result, so providers that
    check the pairing accept the history."""
    history: list[dict[str, Any]] = []
    open_calls: dict[str, str] = {}

    def close_open_calls() -> None:
        for call_id, name in open_calls.items():
            history.append({"role": "tool", "tool_call_id": call_id, "content": f"({name} did not finish)",
                            "is_error": True})
        open_calls.clear()

    for row in rows:
        role = row["role"]
        if role == "tool":
            call_id = row.get("tool_call_id")
            if call_id not in open_calls:
                continue
            open_calls.pop(call_id)
            history.append({"role": "tool", "tool_call_id": call_id, "content": _text(row.get("content")),
                            "is_error": bool(row.get("is_error"))})
            continue
        close_open_calls()
        message: dict[str, Any] = {"role": role, "content": _text(row.get("content"))}
        if role == "user" and row.get("attachments"):
            names = ", ".join(row["attachments"])
            message["content"] += f"\n\n[Attached files: {names}]"
            message["attachments"] = [str(name) for name in row["attachments"]]  # for runtimes that send files
        if role == "assistant":
            calls = [c for c in row.get("tool_calls") or [] if isinstance(c, dict) and c.get("id")]
            if calls:
                message["tool_calls"] = [
                    {"id": c["id"], "name": c.get("name", ""), "arguments": _arguments(c.get("arguments"))}
                    for c in calls
                ]
                open_calls.update({c["id"]: c.get("name", "tool") for c in calls})
            if row.get("reasoning"):
                message["reasoning"] = row["reasoning"]
            if row.get("reasoning_signature"):
                message["reasoning_signature"] = row["reasoning_signature"]
            if not message["content"] and not calls:
                continue
        history.append(message)
    close_open_calls()
    return history


def _arguments(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}
