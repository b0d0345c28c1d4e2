"""A new message's row: what ``SessionService`` and the run layer append (roles and statuses checked)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from threadline.errors import BadRequest

VALID_ROLES = ("user", "assistant", "tool", "system")
VALID_STATUSES = ("complete", "partial", "error", "interrupted", "cancelled", "streaming")
# ``streaming``: a live run's checkpointed answer, not in the full-text index until it ends (migration
# 0007); the API shows it as ``partial`` (``views.public_status``).


@dataclass
class NewMessage:
    role: str
    content: str = ""
    parts: list[Any] | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    reasoning: str | None = None
    status: str = "complete"
    in_context: bool = True
    meta: dict[str, Any] = field(default_factory=dict)
    created_at: float | None = None

    def values(
        self, session_id: str, seq: int, run_id: str | None, now: float, parent_id: int | None = None
    ) -> dict[str, Any]:
        """The row of a message at depth ``seq`` on the active path, after ``parent_id``."""
        if self.role not in VALID_ROLES:
            raise BadRequest(f"invalid role: {self.role!r}")
        if self.status not in VALID_STATUSES:
            raise BadRequest(f"invalid status: {self.status!r}")
        return {
            "session_id": session_id,
            "seq": seq,
            "parent_id": parent_id,
            "position": seq,
            "active_at": self.created_at or now,
            "role": self.role,
            "content": self.content,
            "parts": self.parts,
            "tool_calls": self.tool_calls or None,
            "tool_call_id": self.tool_call_id,
            "reasoning": self.reasoning,
            "status": self.status,
            "in_context": self.in_context,
            "meta": self.meta or None,
            "run_id": run_id,
            "created_at": self.created_at or now,
        }
