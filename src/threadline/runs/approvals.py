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

from sqlalchemy import select, update

from threadline.errors import BadRequest
from threadline.store import tables as t
from threadline.store.engine import Store

if TYPE_CHECKING:
    from threadline.runs.relay import ApprovalRelay

CHOICES = ("once", "session", "always", "deny")
SESSION_APPROVALS = "approved_patterns"


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
    def __init__(self, store: Store, timeout: float, *, relay: ApprovalRelay | None = None) -> None:
        self.store = store
        self.timeout = timeout
        self._pending: dict[str, list[PendingApproval]] = {}
        self.relay = relay  # approvals waiting on other instances (threadline.cluster)

    async def _allowed(self, session_id: str, tool: str, pattern: str) -> bool:
        """Allowed "always" (the approvals table) or for this session (kept with the session, in its
        ``extra``, so every instance and a restart see it)."""
        a, s = t.approvals, t.sessions
        async with self.store.read() as conn:
            query = select(a.c.id).where(a.c.tool == tool, a.c.pattern.in_([pattern, "*"])).limit(1)
            if (await conn.execute(query)).first() is not None:
                return True
            extra = (await conn.execute(select(s.c.extra).where(s.c.id == session_id))).scalar()
        return f"{tool}:{pattern}" in ((extra or {}).get(SESSION_APPROVALS) or [])

    async def _allow_for_session(self, session_id: str, tool: str, pattern: str) -> None:
        s = t.sessions
        async with self.store.write() as conn:
            stored = (await conn.execute(select(s.c.extra).where(s.c.id == session_id))).scalar()
            extra: dict[str, Any] = stored if isinstance(stored, dict) else {}
            allowed = list(extra.get(SESSION_APPROVALS) or [])
            key = f"{tool}:{pattern}"
            if key not in allowed:
                allowed.append(key)
                await conn.execute(
                    update(s).where(s.c.id == session_id).values(extra={**extra, SESSION_APPROVALS: allowed})
                )

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
        if await self._allowed(session_id, tool, pattern):
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
            await self._allow_for_session(session_id, target.tool, target.pattern)
        if choice == "always":
            values = {"tool": target.tool, "pattern": target.pattern, "created_at": time.time()}
            async with self.store.write() as conn:
                await conn.execute(self.store.dialect.insert_ignore(t.approvals, values))
        if not target.future.done():
            target.future.set_result(choice)
        return {"ok": True, "choice": choice, "matched": True, "approval_id": target.approval_id}
