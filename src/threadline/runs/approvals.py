"""Consent for tools that write, run or reach the network: one broker for every tool, whoever offers it.

A tool says what a standing approval of a call covers (``Tool.approval_scope``): a list of patterns,
e.g. one per program of a shell command line, or none when no standing approval can cover the call.
A call runs unasked only when *every* pattern is approved, "always" (rows of ``approvals``) or for its
session (the ``approved_patterns`` list kept in the session's ``extra``, so every instance and a
restart see it). Otherwise the call waits in the session's queue of pending approvals until the user
answers once / session / always / deny; "session" and "always" store every pattern of the call, and
act as "once" for a call that cannot be covered. No answer within the timeout is "timed_out".

While a call waits, ``extra.pending_approval`` names its run, so the session list and
``GET /api/session`` say "needs approval" (``sessions.views``) on every instance and after reloads;
the queue, the wait and the mark are ``runs/waiting.py``'s, shared with clarify.
Patterns are stored as they are: an ``approvals`` row (``run_shell``, ``ls``) is the program ``ls``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select

from threadline.agent.runtime import ApprovalOutcome
from threadline.agent.tools.base import ApprovalScope
from threadline.errors import BadRequest, NotFound
from threadline.runs.waiting import Announce, Waiting, WaitingBroker, edit_extra
from threadline.sessions.views import PENDING_APPROVAL
from threadline.store import tables as t
from threadline.store.engine import Store

if TYPE_CHECKING:
    from collections.abc import Callable

    from threadline.runs.relay import OwnerRelay

CHOICES = ("once", "session", "always", "deny")
SESSION_APPROVALS = "approved_patterns"  # in sessions.extra: ["<tool>:<pattern>", ...]
YOLO = "yolo"  # in sessions.extra while approvals are off for the session: {"enabled_at": <time>} (runs/yolo.py)
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


@dataclass(kw_only=True)
class PendingApproval(Waiting):
    tool: str
    scope: ApprovalScope
    command: str
    description: str

    @property
    def approval_id(self) -> str:
        return self.id

    def public(self) -> dict[str, Any]:
        """Hermes WebUI's pending shape, plus what "always" would cover (``covers``: the patterns, or
        null when it cannot be covered, and ``covers_text``: a sentence for people)."""
        patterns = self.scope.patterns or None  # none at all: nothing to store either
        keys = [f"{self.tool}:{p}" for p in patterns or ()]
        return {
            "approval_id": self.id,
            "session_id": self.session_id,
            "stream_id": self.run_id,
            "tool": self.tool,
            "command": self.command,
            "description": self.description,
            "pattern_key": keys[0] if keys else None,
            "pattern_keys": keys,
            "covers": list(patterns) if patterns else None,
            "covers_text": (self.scope.covers if patterns and self.scope.covers
                            else covers_text(self.tool, patterns, self.scope.reason)),
            "reason": self.scope.reason or None,
            "requested_at": self.created_at,
        }


class ApprovalBroker(WaitingBroker[PendingApproval]):
    PENDING_OP = "pending"
    RESPOND_OP = "respond"

    def __init__(self, store: Store, timeout: float, *, relay: OwnerRelay | None = None,
                 on_mark: Callable[[str], object] | None = None) -> None:
        super().__init__(store, PENDING_APPROVAL, relay, on_mark)
        self.timeout = timeout

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
        announce: Announce,
    ) -> ApprovalOutcome:
        if await self._allowed(session_id, tool, scope.patterns):
            return "approved"
        command = arguments.get("command")
        pending = PendingApproval(session_id=session_id, run_id=run_id, tool=tool, scope=scope,
                                  command=command if isinstance(command, str) else "", description=description)
        choice = await self.room.wait(pending, announce, self.timeout)
        if choice is None:
            return "timed_out"
        return "denied" if choice == "deny" else "approved"

    async def _allowed(self, session_id: str, tool: str, patterns: tuple[str, ...] | None) -> bool:
        """The session is in YOLO mode (any call), or every pattern is approved, "always" or for this
        session."""
        a, s = t.approvals, t.sessions
        async with self.store.read() as conn:
            extra = (await conn.execute(select(s.c.extra).where(s.c.id == session_id))).scalar()
            extra = extra if isinstance(extra, dict) else {}
            if extra.get(YOLO):
                return True
            if not patterns:
                return False
            query = select(a.c.pattern).where(a.c.tool == tool, a.c.pattern.in_(sorted(set(patterns))))
            approved = {row.pattern for row in await conn.execute(query)}
        session = set(extra.get(SESSION_APPROVALS) or [])
        return all(p in approved or f"{tool}:{p}" in session for p in patterns)

    def approve_waiting(self, session_id: str) -> int:
        """YOLO mode turned on: approve (once) every call of the session waiting here; how many."""
        return sum(self.room.answer(waiting, "once") for waiting in self.room.queue(session_id))

    def cancel_run(self, run_id: str) -> None:
        """Deny whatever a cancelled run was waiting for."""
        self.room.cancel_run(run_id, "deny")

    async def answer_relayed(self, args: dict[str, Any]) -> dict[str, Any]:
        approval_id = args.get("approval_id")
        return await self.respond(str(args["session_id"]), str(args["choice"]),
                                  str(approval_id) if approval_id else None, relay=False)

    # -- answering -------------------------------------------------------------------------------

    async def respond(self, session_id: str, choice: str, approval_id: str | None, *,
                      relay: bool = True) -> dict[str, Any]:
        """Answer the approval ``approval_id`` (else the oldest) of the session, here or, with
        ``relay``, on the instance that runs the session."""
        if choice not in CHOICES:
            raise BadRequest(f"choice must be one of {', '.join(CHOICES)}")
        target = self.room.find(session_id, approval_id)
        if target is None:
            args = {"session_id": session_id, "choice": choice, "approval_id": approval_id}
            relayed = await self.relay_answer(session_id, args) if relay else None
            return relayed or {"ok": True, "choice": choice, "matched": False}
        patterns = target.scope.patterns
        applied = "once" if choice in ("session", "always") and not patterns else choice
        if applied == "session":
            await self._allow_for_session(session_id, target.tool, patterns or ())
        elif applied == "always":
            async with self.store.write(inline=True) as conn:
                for pattern in patterns or ():
                    values = {"tool": target.tool, "pattern": pattern, "created_at": time.time()}
                    await conn.execute(self.store.dialect.insert_ignore(t.approvals, values))
        self.room.answer(target, choice)
        return {"ok": True, "choice": choice, "applied": applied, "matched": True, "approval_id": target.id,
                "stored": list(patterns or ()) if applied in ("session", "always") else []}

    async def _allow_for_session(self, session_id: str, tool: str, patterns: tuple[str, ...]) -> None:
        def edit(extra: dict[str, Any]) -> bool:
            allowed = list(extra.get(SESSION_APPROVALS) or [])
            added = [key for key in (f"{tool}:{p}" for p in patterns) if key not in allowed]
            extra[SESSION_APPROVALS] = allowed + added
            return bool(added)

        await edit_extra(self.store, session_id, edit)

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
            async with self.store.write(inline=True) as conn:
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

        if not await edit_extra(self.store, session_id, edit):
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
