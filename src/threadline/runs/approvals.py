"""Consent for dangerous tools: a queue of pending approvals per session, answered once, for the
session, always (stored) or denied; no answer within the timeout means deny."""

from __future__ import annotations

import asyncio
import shlex
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from threadline.errors import BadRequest
from threadline.store import tables as t
from threadline.store.engine import Store

if TYPE_CHECKING:
    from threadline.cluster.relay import ApprovalRelay

CHOICES = ("once", "session", "always", "deny")


def pattern_for(tool: str, arguments: dict[str, Any]) -> str:
    """What an approval covers: for shell commands the program name, else the tool itself."""
    command = arguments.get("command")
    if isinstance(command, str) and command.strip():
        try:
            words = shlex.split(command)
        except ValueError:
            words = command.split()
        if words:
            return words[0][:200]
    return "*"


@dataclass
class PendingApproval:
    approval_id: str
    session_id: str
    run_id: str
    tool: str
    pattern: str
    command: str
    description: str
    created_at: float = field(default_factory=time.time)
    future: asyncio.Future[str] = field(default_factory=lambda: asyncio.get_running_loop().create_future())

    def public(self) -> dict[str, Any]:
        return {
            "approval_id": self.approval_id,
            "session_id": self.session_id,
            "stream_id": self.run_id,
            "tool": self.tool,
            "command": self.command,
            "description": self.description,
            "pattern_key": f"{self.tool}:{self.pattern}",
            "pattern_keys": [f"{self.tool}:{self.pattern}"],
            "requested_at": self.created_at,
        }


class ApprovalBroker:
    def __init__(self, store: Store, timeout: float) -> None:
        self.store = store
        self.timeout = timeout
        self._pending: dict[str, list[PendingApproval]] = {}
        self._session_allow: dict[str, set[tuple[str, str]]] = {}
        self.relay: ApprovalRelay | None = None  # approvals waiting on other instances (threadline.cluster)

    async def _always_allowed(self, tool: str, pattern: str) -> bool:
        a = t.approvals
        async with self.store.read() as conn:
            query = select(a.c.id).where(a.c.tool == tool, a.c.pattern.in_([pattern, "*"])).limit(1)
            return (await conn.execute(query)).first() is not None

    async def request(
        self,
        *,
        session_id: str,
        run_id: str,
        tool: str,
        arguments: dict[str, Any],
        description: str,
        announce: Callable[[dict[str, Any]], Awaitable[None]],
    ) -> bool:
        pattern = pattern_for(tool, arguments)
        if (tool, pattern) in self._session_allow.get(session_id, set()) or await self._always_allowed(tool, pattern):
            return True
        raw_command = arguments.get("command")
        command = raw_command if isinstance(raw_command, str) else ""
        pending = PendingApproval(uuid.uuid4().hex[:12], session_id, run_id, tool, pattern, command, description)
        self._pending.setdefault(session_id, []).append(pending)
        try:
            await announce(pending.public())
            choice = await asyncio.wait_for(asyncio.shield(pending.future), timeout=self.timeout)
        except TimeoutError:
            choice = "deny"
        finally:
            self._remove(pending)
        return choice != "deny"

    def _remove(self, pending: PendingApproval) -> None:
        queue = self._pending.get(pending.session_id, [])
        if pending in queue:
            queue.remove(pending)
        if not queue:
            self._pending.pop(pending.session_id, None)

    def pending(self, session_id: str) -> list[dict[str, Any]]:
        return [p.public() for p in self._pending.get(session_id, [])]

    async def pending_anywhere(self, session_id: str) -> list[dict[str, Any]]:
        """``pending``, asking the instance that runs the session when it is not this one."""
        local = self.pending(session_id)
        if local or self.relay is None:
            return local
        return await self.relay.pending(session_id)

    def cancel_run(self, run_id: str) -> None:
        """Deny whatever a cancelled run was waiting for."""
        for queue in list(self._pending.values()):
            for pending in list(queue):
                if pending.run_id == run_id and not pending.future.done():
                    pending.future.set_result("deny")

    async def respond(self, session_id: str, choice: str, approval_id: str | None) -> dict[str, Any]:
        if choice not in CHOICES:
            raise BadRequest(f"choice must be one of {', '.join(CHOICES)}")
        queue = self._pending.get(session_id, [])
        target = next((p for p in queue if approval_id is None or p.approval_id == approval_id), None)
        if target is None:
            relayed = await self.relay.respond(session_id, choice, approval_id) if self.relay is not None else None
            return relayed or {"ok": True, "choice": choice, "matched": False}
        if choice in ("session", "always"):
            self._session_allow.setdefault(session_id, set()).add((target.tool, target.pattern))
        if choice == "always":
            values = {"tool": target.tool, "pattern": target.pattern, "created_at": time.time()}
            async with self.store.write() as conn:
                await conn.execute(self.store.dialect.insert_ignore(t.approvals, values))
        if not target.future.done():
            target.future.set_result(choice)
        return {"ok": True, "choice": choice, "matched": True, "approval_id": target.approval_id}

    def forget_session(self, session_id: str) -> None:
        self._session_allow.pop(session_id, None)
