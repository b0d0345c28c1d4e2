"""``/compress`` on demand (``POST /api/session/compress``, Hermes WebUI's shape): summarise a session's
context now, whether or not it fits, with the session's model through the built-in runtime's provider
(``agent/compaction.py`` with ``force``). Only the newest message stays as it is; the rest is one
summary row, stored like the one a run writes when the context is full. The originals stay stored.

The model call runs outside any transaction; the summary is stored only if the session is still idle
and its active path did not change meanwhile (else 409).
"""

from __future__ import annotations

from typing import Any

from threadline.agent.builtin import BuiltinRuntime
from threadline.agent.compaction import Compactor
from threadline.agent.events import ProviderError
from threadline.agent.tokens import request_tokens
from threadline.errors import BadRequest, Conflict
from threadline.runs.context import model_history
from threadline.runs.instructions import Instructions, RunTarget
from threadline.sessions.context import save_context
from threadline.sessions.rows import NewMessage
from threadline.sessions.service import SessionService

MIN_MESSAGES = 4
FOCUS_MAX = 500


class Compression:
    def __init__(self, sessions: SessionService, builtin: BuiltinRuntime, instructions: Instructions) -> None:
        self.sessions = sessions
        self.builtin = builtin
        self.instructions = instructions

    async def compress(self, session_id: str, focus: str | None = None) -> dict[str, Any]:
        if focus is not None and (not isinstance(focus, str) or len(focus) > FOCUS_MAX):
            raise BadRequest(f"focus_topic must be a string of at most {FOCUS_MAX} characters")
        focus = (focus or "").strip() or None
        session = await self.sessions.get(session_id, messages=False)
        if session.get("is_draft"):
            raise BadRequest(f"nothing to compress: a session needs at least {MIN_MESSAGES} messages")
        if session["active_stream_id"]:
            raise Conflict("session has an active run", active_stream_id=session["active_stream_id"])
        if session["runtime"] != "builtin":
            raise BadRequest("this session runs on an agent that keeps its own context; /compress is for the "
                             "built-in agent")
        async with self.sessions.store.read() as conn:
            row = await self.sessions.row(conn, session_id)
        assert row is not None
        history = model_history(await self.sessions.context_messages(session_id))
        if len(history) < MIN_MESSAGES:
            raise BadRequest(f"nothing to compress: a session needs at least {MIN_MESSAGES} messages")
        ref = await self.builtin.check(row["model"])
        await self.builtin.providers.load_sdks()
        try:
            provider, model = self.builtin.providers.resolve(ref)
        except ProviderError as exc:
            raise BadRequest(exc.message, type=exc.kind, hint=exc.hint) from None
        if self.builtin.limits is None:
            raise BadRequest("context compaction is not set up in this process")
        limits = await self.builtin.limits.of(ref)
        system = await self.instructions.compose(RunTarget(
            session_id, row["kind"], row["workspace"], row["project_id"], dict(row["extra"] or {})))
        specs = (await self.builtin.default_tools(clarify=True)).specs()
        stored: dict[str, Any] = {}

        async def store(summary: dict[str, Any]) -> None:
            stored.update(summary)

        try:
            fitted = await Compactor(limits).fit(provider, model, history, system=system, specs=specs,
                                                 on_summary=store, force=True, focus=focus)
        except ProviderError as exc:
            raise BadRequest(exc.message, type=exc.kind, hint=exc.hint) from None
        if not stored:
            raise BadRequest("nothing to compress: the newest message is all the context there is")
        async with self.sessions.store.write() as conn:
            now = await self.sessions.materialize(conn, session_id)
            self.sessions.require_idle(now)
            if now["active_leaf_id"] != row["active_leaf_id"]:
                raise Conflict("the session changed while it was being compressed; try again")
            await self.sessions.append_message(
                conn, session_id, NewMessage(role="assistant", content=stored["content"],
                                             meta={"summary": stored["summary"]}))
            await save_context(conn, session_id, limits.public(request_tokens(system, fitted, specs)))
        text = str(stored["content"]).split("\n\n", 1)[-1]
        return {"ok": True, "session": await self.sessions.get(session_id), "summary": text, "focus_topic": focus}
