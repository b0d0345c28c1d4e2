"""Consent for tools that write, run or reach the network: one broker for every tool, whoever offers it.

A tool says what a standing approval of a call covers (``Tool.approval_scope``): a list of patterns,
e.g. one per program of a shell command line, or none when no standing approval can cover the call.
A call runs unasked only when *every* pattern is approved, "always" (rows of ``approvals``) or for its
session (the ``approved_patterns`` list kept in the session's ``extra``, so every instance and a
restart see it). Otherwise the call waits in the session's queue of pending approvals until the user
answers once / session / always / deny; "session" and "always" store every pattern of the call, and
act as "once" for a call that cannot be covered. No answer within the timeout is "timed_out".

While a call waits, ``extra.pending_approval`` names its run, so the session list and
``GET /api/session`` say "needs approval" (``sessions.views``) on every instance and after reloads.
Patterns are stored as they are: an ``approvals`` row (``run_shell``, ``ls``) is the program ``ls``.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select, update

from threadline.agent.runtime import ApprovalOutcome
from threadline.agent.tools.base import ApprovalScope
from threadline.errors import BadRequest, NotFound
from threadline.sessions.views import PENDING_APPROVAL
from threadline.store import tables as t
from threadline.store.engine import Store

if TYPE_CHECKING:
    from threadline.runs.relay import ApprovalRelay

log = logging.getLogger("threadline.runs")

CHOICES = ("once", "session", "always", "deny")
SESSION_APPROVALS = "approved_patterns"  # in sessions.extra: ["<tool>:<pattern>", ...]
MAX_TOOL = 64
MAX_PATTERN = 1000


def covers_text(tool: str, patterns: tuple[str, ...] | None, reason: str) -> str:
    """One sentence for the approval card: what "always" would allow."""
    if patterns is None:
        return (f"This cannot be approved for later: {reason or 'its effect cannot be worked out'}. "
                "“For this chat” and “Always” allow it this once.")
    if patterns == ("*",):
        return f"“Always” allows every call of {tool}, in every chat."
    names = ", ".join(patterns[:-1]) + (" and " if len(patterns) > 1 else "") + patterns[-1]
    return f"“Always” allows {names}, with any arguments, in every chat; “For this chat” only here."


@dataclass
class PendingApproval:
    approval_id: str
    session_id: str
    run_id: str
    tool: str
    scope: ApprovalScope
    command: str
    description: str
    created_at: float = field(default_factory=time.time)
    future: asyncio.Future[str] = field(default_factory=lambda: asyncio.get_running_loop().create_future())

    def public(self) -> dict[str, Any]:
        """Hermes WebUI's pending shape, plus what "always" would cover (``covers``: the patterns, or
        null when it cannot be covered, and ``covers_text``: a sentence for people)."""
        patterns = self.scope.patterns or None  # none at all: nothing to store either
        keys = [f"{self.tool}:{p}" for p in patterns or ()]
        return {
            "approval_id": self.approval_id,
            "session_id": self.session_id,
            "stream_id": self.run_id,
            "tool": self.tool,
            "command": self.command,
            "description": self.description,
            "pattern_key": keys[0] if keys else None,
            "pattern_keys": keys,
            "covers": list(patterns) if patterns else None,
            "covers_text": covers_text(self.tool, patterns, self.scope.reason),
            "reason": self.scope.reason or None,
            "requested_at": self.created_at,
        }


class ApprovalBroker:
    def __init__(self, store: Store, timeout: float, *, relay: ApprovalRelay | None = None) -> None:
        self.store = store
        self.timeout = timeout
        self._pending: dict[str, list[PendingApproval]] = {}
        self.relay = relay  # approvals waiting on other instances (threadline.cluster)

    # -- asking ----------------------------------------------------------------------------------

    async def request(
        self,
        *,
        session_id: str,
        run_id: str,
        tool: str,
        arguments: dict[str, Any],
        description: str,
        scope: ApprovalScope,
        announce: Callable[[dict[str, Any]], Awaitable[None]],
    ) -> ApprovalOutcome:
        if scope.patterns is not None and await self._allowed(session_id, tool, scope.patterns):
            return "approved"
        command = arguments.get("command")
        pending = PendingApproval(uuid.uuid4().hex[:12], session_id, run_id, tool, scope,
                                  command if isinstance(command, str) else "", description)
        self._pending.setdefault(session_id, []).append(pending)
        try:
            await self._mark_waiting(pending, waiting=True)
            await announce(pending.public())
            choice = await asyncio.wait_for(asyncio.shield(pending.future), timeout=self.timeout)
        except TimeoutError:
            return "timed_out"
        finally:
            self._remove(pending)
            await self._mark_waiting(pending, waiting=False)
        return "denied" if choice == "deny" else "approved"

    async def _allowed(self, session_id: str, tool: str, patterns: tuple[str, ...]) -> bool:
        """Every pattern approved, "always" or for this session."""
        if not patterns:
            return False
        a, s = t.approvals, t.sessions
        async with self.store.read() as conn:
            query = select(a.c.pattern).where(a.c.tool == tool, a.c.pattern.in_(sorted(set(patterns))))
            rows = await conn.execute(query)
            approved = {row.pattern for row in rows}
            if approved.issuperset(patterns):
                return True
            extra = (await conn.execute(select(s.c.extra).where(s.c.id == session_id))).scalar()
        session = set((extra or {}).get(SESSION_APPROVALS) or []) if isinstance(extra, dict) else set()
        return all(p in approved or f"{tool}:{p}" in session for p in patterns)

    async def _edit_extra(self, session_id: str, edit: Callable[[dict[str, Any]], bool]) -> bool:
        """Apply ``edit`` to the session's ``extra`` in one write transaction; False without a row.
        ``edit`` returns whether it changed anything."""
        s = t.sessions
        async with self.store.write() as conn:
            row = (await conn.execute(select(s.c.extra).where(s.c.id == session_id))).first()
            if row is None:
                return False
            extra: dict[str, Any] = dict(row.extra) if isinstance(row.extra, dict) else {}
            if edit(extra):
                await conn.execute(update(s).where(s.c.id == session_id).values(extra=extra))
            return True

    async def _mark_waiting(self, pending: PendingApproval, *, waiting: bool) -> None:
        """Best effort: a mark left behind is ignored, as it names a run that is no longer active."""

        def edit(extra: dict[str, Any]) -> bool:
            mark = extra.get(PENDING_APPROVAL)
            if waiting:
                extra[PENDING_APPROVAL] = {"run_id": pending.run_id, "approval_id": pending.approval_id,
                                           "requested_at": pending.created_at}
                return True
            if isinstance(mark, dict) and mark.get("approval_id") == pending.approval_id:
                del extra[PENDING_APPROVAL]
                return True
            return False

        try:
            await self._edit_extra(pending.session_id, edit)
        except Exception:
            log.warning("could not %s the approval mark of session %s", "set" if waiting else "clear",
                        pending.session_id, exc_info=True)

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

    # -- answering -------------------------------------------------------------------------------

    async def respond(self, session_id: str, choice: str, approval_id: str | None) -> dict[str, Any]:
        if choice not in CHOICES:
            raise BadRequest(f"choice must be one of {', '.join(CHOICES)}")
        queue = self._pending.get(session_id, [])
        target = next((p for p in queue if approval_id is None or p.approval_id == approval_id), None)
        if target is None:
            relayed = await self.relay.respond(session_id, choice, approval_id) if self.relay is not None else None
            return relayed or {"ok": True, "choice": choice, "matched": False}
        patterns = target.scope.patterns
        applied = "once" if choice in ("session", "always") and not patterns else choice
        if applied == "session":
            await self._allow_for_session(session_id, target.tool, patterns or ())
        elif applied == "always":
            async with self.store.write() as conn:
                for pattern in patterns or ():
                    values = {"tool": target.tool, "pattern": pattern, "created_at": time.time()}
                    await conn.execute(self.store.dialect.insert_ignore(t.approvals, values))
        if not target.future.done():
            target.future.set_result(choice)
        return {"ok": True, "choice": choice, "applied": applied, "matched": True, "approval_id": target.approval_id,
                "stored": list(patterns or ()) if applied in ("session", "always") else []}

    async def _allow_for_session(self, session_id: str, tool: str, patterns: tuple[str, ...]) -> None:
        def edit(extra: dict[str, Any]) -> bool:
            allowed = list(extra.get(SESSION_APPROVALS) or [])
            added = [key for key in (f"{tool}:{p}" for p in patterns) if key not in allowed]
            extra[SESSION_APPROVALS] = allowed + added
            return bool(added)

        await self._edit_extra(session_id, edit)

    # -- the standing approvals (Settings) ----------------------------------------------------------

    async def standing(self, session_id: str | None = None) -> list[dict[str, Any]]:
        """Every "always" approval, then ``session_id``'s own, as {tool, pattern, scope, created_at}."""
        a, s = t.approvals, t.sessions
        async with self.store.read() as conn:
            rows = (await conn.execute(select(a.c.tool, a.c.pattern, a.c.created_at)
                                       .order_by(a.c.tool, a.c.pattern))).all()
            extra = None
            if session_id is not None:
                extra = (await conn.execute(select(s.c.extra).where(s.c.id == session_id))).scalar()
        listed = [{"tool": r.tool, "pattern": r.pattern, "scope": "always", "created_at": r.created_at} for r in rows]
        keys = extra.get(SESSION_APPROVALS) if isinstance(extra, dict) else None
        for key in keys if isinstance(keys, list) else []:
            tool, _, pattern = str(key).partition(":")
            listed.append({"tool": tool, "pattern": pattern, "scope": "session", "session_id": session_id,
                           "created_at": None})
        return listed

    async def revoke(self, tool: Any, pattern: Any, session_id: Any = None) -> dict[str, Any]:
        """Remove an "always" approval, or with ``session_id`` one of that session's; 404 when absent."""
        for name, value, limit in (("tool", tool, MAX_TOOL), ("pattern", pattern, MAX_PATTERN)):
            if not isinstance(value, str) or not value.strip() or len(value) > limit or not _encodable(value):
                raise BadRequest(f"{name} must be a non-empty string of at most {limit} characters")
        if session_id is not None and not (isinstance(session_id, str) and 0 < len(session_id) <= 64
                                           and _encodable(session_id)):
            raise BadRequest("session_id must be a session id")
        if session_id is None:
            async with self.store.write() as conn:
                a = t.approvals
                gone = await conn.execute(delete(a).where(a.c.tool == tool, a.c.pattern == pattern))
            if not gone.rowcount:
                raise NotFound(f"no approval for {tool} {pattern!r}")
            return {"ok": True, "revoked": {"tool": tool, "pattern": pattern, "scope": "always"}}
        key = f"{tool}:{pattern}"
        found = False

        def edit(extra: dict[str, Any]) -> bool:
            nonlocal found
            allowed = list(extra.get(SESSION_APPROVALS) or [])
            found = key in allowed
            extra[SESSION_APPROVALS] = [k for k in allowed if k != key]
            return found

        if not await self._edit_extra(session_id, edit):
            raise NotFound(f"session not found: {session_id}")
        if not found:
            raise NotFound(f"no approval for {tool} {pattern!r} in this session")
        return {"ok": True, "revoked": {"tool": tool, "pattern": pattern, "scope": "session",
                                        "session_id": session_id}}


def _encodable(text: str) -> bool:
    """False for text the database cannot store (lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
