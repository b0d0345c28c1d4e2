"""What the model is sent: the stored transcript made safe for strict providers. The instructions are
assembled in ``runs/instructions.py``; the automatic title is ``runs/titles.py``'s."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from threadline.agent.providers.base import arguments_of, repair_tool_pairs
from threadline.sessions.content import text_of


def compacted(rows: Sequence[Mapping[str, Any]]) -> tuple[Mapping[str, Any] | None, list[Mapping[str, Any]]]:
    """(the newest summary row, the rows it leaves in context). A summary (``agent/compaction.py``)
    stands for every row up to its ``through_seq``: those, and every other summary row, are not sent.
    A summary on another version of the conversation is not on this path, so it changes nothing here."""
    summary = next((r for r in reversed(rows) if isinstance(r.get("summary"), dict)), None)
    if summary is None:
        return None, list(rows)
    through = summary["summary"].get("through_seq")
    through = through if isinstance(through, int) else -1
    return summary, [r for r in rows if r["seq"] > through and not isinstance(r.get("summary"), dict)]


def model_history(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """In-context rows as provider messages, the tool calls paired with their results by the providers'
    one rule (``repair_tool_pairs``: an orphan result is dropped, a call whose result never arrived
    gets a placeholder), so providers that check the pairing accept the history. The newest summary
    comes first, in place of the rows it covers; each message carries its row's ``seq``."""
    summary, rows = compacted(rows)
    messages: list[dict[str, Any]] = []
    if summary is not None:
        messages.append({"role": "user", "content": text_of(summary.get("content")), "summary": summary["summary"]})
    for row in rows:
        role = row["role"]
        if role == "tool":
            messages.append({"role": "tool", "tool_call_id": row.get("tool_call_id"), "seq": row["seq"],
                             "content": text_of(row.get("content")), "is_error": bool(row.get("is_error"))})
            continue
        message: dict[str, Any] = {"role": role, "content": text_of(row.get("content")), "seq": row["seq"]}
        if role == "user" and row.get("attachments"):
            names = ", ".join(row["attachments"])
            message["content"] += f"\n\n[Attached files: {names}]"
            message["attachments"] = [str(name) for name in row["attachments"]]  # for runtimes that send files
        if role == "assistant":
            calls = [c for c in row.get("tool_calls") or [] if isinstance(c, dict) and c.get("id")]
            if calls:
                message["tool_calls"] = [
                    {"id": c["id"], "name": c.get("name", ""), "arguments": arguments_of(c.get("arguments"))}
                    for c in calls
                ]
            if row.get("reasoning"):
                message["reasoning"] = row["reasoning"]
            if row.get("reasoning_signature"):
                message["reasoning_signature"] = row["reasoning_signature"]
            if not message["content"] and not calls:
                continue
        messages.append(message)
    return repair_tool_pairs(messages)
