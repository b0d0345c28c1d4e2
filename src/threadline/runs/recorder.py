"""The agent sink of one run: turns agent callbacks into stream events and stored rows.

Every write checks ownership in the same transaction: the session's ``active_run_id`` must still be
this run. A cancelled or stale worker finds it changed and raises ``NotOwner``, so it can never write
over a newer turn (reference §7 item 14).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from threadline.agent.events import ToolCallRequest, Usage
from threadline.agent.runtime import ApprovalOutcome
from threadline.agent.tools.base import ApprovalScope, ToolResult
from threadline.runs.approvals import ApprovalBroker
from threadline.runs.clarify import ClarifyBroker
from threadline.runs.live import TERMINAL_EVENTS, LiveRun, flush_events
from threadline.sessions.context import save_contexts
from threadline.sessions.rows import NewMessage
from threadline.sessions.service import SessionService
from threadline.sessions.views import MessagePublic
from threadline.store import tables as t

PREVIEW = 120


class NotOwner(Exception):
    """The run no longer owns its session; it must stop without writing."""


def _preview(arguments: dict[str, Any]) -> dict[str, str]:
    return {k: (str(v) if not isinstance(v, str) else v)[:PREVIEW] for k, v in list(arguments.items())[:4]}


@dataclass
class CheckpointBatch:
    """What one checkpoint transaction writes for its due runs (``Recorder.write_checkpoint``)."""

    updates: list[dict[str, Any]] = field(default_factory=list)  # stored rows' new text
    contexts: dict[str, dict[str, Any]] = field(default_factory=dict)  # gauges, by session
    # new rows: (session_id, message, run_id, [id, seq] once inserted)
    appends: list[tuple[str, NewMessage, str, list[int]]] = field(default_factory=list)


class Recorder:
    def __init__(
        self,
        run: LiveRun,
        sessions: SessionService,
        approvals: ApprovalBroker,
        *,
        clarify: ClarifyBroker,
        runtime: str | None = None,
        message_meta: dict[str, Any] | None = None,
    ) -> None:
        self.run = run
        self.runtime = runtime
        self.sessions = sessions
        self.store = sessions.store
        self.approvals = approvals
        self.clarify = clarify
        self.message_meta = message_meta or {}
        self.text = ""
        self.reasoning = ""
        self.row_id: int | None = None  # the assistant row being streamed, once checkpointed
        self.row_seq: int | None = None  # and its seq
        self.checkpointed = ("", "")
        self.checkpointed_at = time.monotonic()  # the last checkpoint (or the start), for metrics
        self.usage = Usage()
        self.answer_parts: list[str] = []
        self.plan: dict[str, Any] | None = None  # an agent's latest plan (the ``plan`` event)
        self.context: dict[str, Any] | None = None  # the gauge not stored yet (the ``context_status`` event)
        self.settled = False  # the run's success is stored
        self.lost = False  # another run took the session over

    @contextlib.asynccontextmanager
    async def owned(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction of this run, which still owns its session (the session row locked).
        The writer turn comes before the run's lock (``Store.turn``)."""
        async with self.store.turn(background=True), self.run.write_lock, self.store.write(inline=True) as conn:
            owners = await self.sessions.owners(conn, [self.run.session_id])
            if owners.get(self.run.session_id) != self.run.id:
                self.lost = True
                raise NotOwner(self.run.id)
            context = self.context
            if context is not None:  # the gauge goes with any of the run's writes
                await save_contexts(conn, {self.run.session_id: context})
            yield conn
        if context is not None and self.context is context:
            self.context = None

    async def _append(self, conn: AsyncConnection, message: NewMessage) -> MessagePublic:
        message.meta = {**self.message_meta, **message.meta}
        return await self.sessions.append_message(conn, self.run.session_id, message, run_id=self.run.id)

    def _check_cancelled(self) -> None:
        """A cancel is final even if a library below swallowed the task's CancelledError; a run that
        lost its session stops at its next event."""
        if self.run.cancel_requested:
            raise asyncio.CancelledError
        if self.lost:
            raise NotOwner(self.run.id)

    # -- AgentSink -----------------------------------------------------------------------------

    async def on_text(self, text: str) -> None:
        self._check_cancelled()
        self.text += text
        self.run.emit("token", {"text": text})

    async def on_reasoning(self, text: str) -> None:
        self._check_cancelled()
        self.reasoning += text
        self.run.emit("reasoning", {"text": text})

    async def on_assistant_message(self, message: dict[str, Any]) -> None:
        self._check_cancelled()
        content = message.get("content") or ""
        tool_calls = message.get("tool_calls") or None
        reasoning = message.get("reasoning") or None
        meta = {"reasoning_signature": message["reasoning_signature"]} if message.get("reasoning_signature") else {}
        meta |= self._plan_meta()
        async with self.owned() as conn:
            if self.row_id is not None:
                values: dict[str, Any] = {"content": content, "tool_calls": tool_calls, "reasoning": reasoning,
                                          "status": "complete"}
                if meta:
                    values["meta"] = {**self.message_meta, **meta}
                await self.sessions.update_message(conn, self.row_id, **values)
                message["seq"] = self.row_seq
            elif content or tool_calls or reasoning:
                row = await self._append(
                    conn,
                    NewMessage(role="assistant", content=content, tool_calls=tool_calls, reasoning=reasoning,
                               meta=meta),
                )
                message["seq"] = row["seq"]
        if content:
            self.answer_parts.append(content)
        self.text, self.reasoning, self.row_id, self.row_seq, self.checkpointed = "", "", None, None, ("", "")

    async def on_tool_start(self, call: ToolCallRequest) -> None:
        self._check_cancelled()
        self.run.emit(
            "tool",
            {"event_type": "tool.started", "name": call.name, "tool_call_id": call.id,
             "args": _preview(call.arguments), "preview": str(call.arguments)[:PREVIEW]},
        )

    async def on_tool_end(self, call: ToolCallRequest, result: ToolResult, duration: float) -> None:
        self.run.emit(
            "tool_complete",
            {"event_type": "tool.completed", "name": call.name, "tool_call_id": call.id,
             "args": _preview(call.arguments), "preview": result.text[:PREVIEW], "result": result.text[:4000],
             "duration": round(duration, 3), "is_error": result.is_error,
             **({"approval": result.approval} if result.approval else {})},
        )

    async def on_tool_message(self, message: dict[str, Any]) -> None:
        self._check_cancelled()
        meta: dict[str, Any] = {"is_error": True} if message.get("is_error") else {}
        if message.get("approval"):
            meta["approval"] = message["approval"]  # "denied" or "timed_out"
        tool = NewMessage(role="tool", content=message.get("content") or "",
                          tool_call_id=message.get("tool_call_id"), meta=meta)
        async with self.owned() as conn:
            if self.row_id is not None:
                message["seq"] = await self._result_before_text(conn, tool)
                return
            row = await self._append(conn, tool)
        message["seq"] = row["seq"]

    async def _result_before_text(self, conn: AsyncConnection, tool: NewMessage) -> int:
        """An agent went on talking before it reported a tool's end (ACP agents may), and that text is
        already checkpointed as the path's last row. The result belongs before the text it led to (a
        model's history needs a call's result right after the call): the checkpointed row becomes the
        result, in place, and the text streamed so far is stored anew after it."""
        assert self.row_id is not None and self.row_seq is not None
        seq = self.row_seq
        await self.sessions.update_message(
            conn, self.row_id, role="tool", content=tool.content, tool_call_id=tool.tool_call_id, reasoning=None,
            tool_calls=None, status="complete", meta={**self.message_meta, **tool.meta} or None,
        )
        self.row_id, self.row_seq, self.checkpointed = None, None, ("", "")
        return seq

    async def on_summary(self, message: dict[str, Any]) -> None:
        self._check_cancelled()
        summary = message["summary"]
        async with self.owned() as conn:
            row = await self._append(conn, NewMessage(role="assistant", content=message["content"],
                                                      meta={"summary": summary}))
        self.run.emit("compressed", {
            "message": f"Compacted {summary['count']} earlier messages into a summary to fit the context window.",
            "session_id": self.run.session_id, "seq": row["seq"], "summary": summary,
        })

    def _announcer(self, event: str) -> Callable[[dict[str, Any]], Any]:
        """Emit a question as ``event`` and store it at once, so a reload shows it again."""

        async def announce(pending: dict[str, Any]) -> None:
            self.run.emit(event, pending)
            await flush_events(self.store, self.run)

        return announce

    async def request_approval(self, call: ToolCallRequest, description: str, scope: ApprovalScope) -> ApprovalOutcome:
        return await self.approvals.request(
            session_id=self.run.session_id, run_id=self.run.id, tool=call.name, arguments=call.arguments,
            description=description, scope=scope, announce=self._announcer("approval"),
        )

    async def ask_user(self, question: str, choices: Sequence[str]) -> str | None:
        self._check_cancelled()
        return await self.clarify.ask(session_id=self.run.session_id, run_id=self.run.id, question=question,
                                      choices=choices, announce=self._announcer("clarify"))

    async def on_steer(self, text: str) -> None:
        self._check_cancelled()
        async with self.owned() as conn:
            row = await self._append(conn, NewMessage(role="user", content=text, meta={"steer": True}))
        self.run.emit("steer", {"session_id": self.run.session_id, "text": text, "seq": row["seq"]})

    async def on_usage(self, usage: Usage) -> None:
        self.usage = self.usage + usage

    async def on_event(self, type_: str, data: dict[str, Any]) -> None:
        self._check_cancelled()
        if type_ in TERMINAL_EVENTS:
            raise ValueError(f"a runtime cannot send the terminal event {type_!r}; the run ends itself")
        if type_ == "plan":
            self.plan = data  # kept with the turn's assistant rows, so a reload shows it too
        if type_ == "context_status":  # the gauge, kept with the session by the next checkpoint or write
            self.context = {**data, "at": time.time()}
        self.run.emit(type_, data)

    def _plan_meta(self) -> dict[str, Any]:
        return {"plan": self.plan} if self.plan is not None else {}

    async def save_state(self, state: dict[str, Any]) -> None:
        async with self.owned() as conn:
            await self.sessions.save_runtime_state(conn, self.run.session_id, self.runtime, state)

    # -- checkpoints and endings ---------------------------------------------------------------

    def needs_checkpoint(self) -> bool:
        return bool(self.run.unflushed()) or self.context is not None or (
            (self.text, self.reasoning) != self.checkpointed and bool(self.text or self.reasoning)
        )

    def write_checkpoint(self, batch: CheckpointBatch) -> Callable[[], None]:
        """Add the text streamed so far, as a ``streaming`` assistant row, to ``batch``
        (``runs/checkpoints.py`` writes every live run's in one transaction, one statement per kind):
        a new row to ``batch.appends``, a row already stored to ``batch.updates`` (``message_id``,
        ``content``, ``reasoning``), a gauge not stored yet to ``batch.contexts``. The caller holds
        ``run.write_lock``, has checked ownership, stores the events, and calls the result once the
        transaction has committed."""
        text, reasoning, context = self.text, self.reasoning, self.context
        if context is not None:
            batch.contexts[self.run.session_id] = context
        row_id = self.row_id
        new_row: list[int] = []  # the new row's id and seq, once the batch has inserted it
        if (text, reasoning) != self.checkpointed and (text or reasoning):
            if row_id is None:
                message = NewMessage(role="assistant", content=text, reasoning=reasoning or None, status="streaming",
                                     meta={**self.message_meta, **self._plan_meta()})
                batch.appends.append((self.run.session_id, message, self.run.id, new_row))
            else:
                batch.updates.append({"message_id": row_id, "content": text, "reasoning": reasoning or None})

        def committed() -> None:
            if context is not None and self.context is context:
                self.context = None
            if new_row:
                self.row_id, self.row_seq = new_row
            else:
                self.row_id = row_id
            self.checkpointed = (text, reasoning)
            self.checkpointed_at = time.monotonic()

        return committed

    async def save_partial(self, conn: AsyncConnection, status: str) -> None:
        """Keep whatever text was streamed but not completed, marked ``partial`` (cancel) or
        ``interrupted``/``error``; partial text stays in the model's context, as in the reference."""
        if not (self.text or self.reasoning):
            return
        if self.row_id is not None:
            await self.sessions.update_message(
                conn, self.row_id, content=self.text, reasoning=self.reasoning or None, status=status
            )
        else:
            await self._append(
                conn, NewMessage(role="assistant", content=self.text, reasoning=self.reasoning or None, status=status,
                                 meta=self._plan_meta())
            )
        self.text, self.reasoning, self.row_id = "", "", None

    async def add_marker(self, conn: AsyncConnection, content: str, status: str, **meta: Any) -> None:
        """An error or cancel row: shown to the user, never sent to the model."""
        await self._append(conn, NewMessage(role="assistant", content=content, status=status, in_context=False,
                                            meta=meta))

    async def release(self, conn: AsyncConnection, **values: Any) -> None:
        """Free the session and add this run's usage to its totals."""
        s = t.sessions
        await conn.execute(
            update(s)
            .where(s.c.id == self.run.session_id, s.c.active_run_id == self.run.id)
            .values(
                active_run_id=None,
                input_tokens=s.c.input_tokens + self.usage.input_tokens,
                output_tokens=s.c.output_tokens + self.usage.output_tokens,
                updated_at=time.time(),
                **values,
            )
        )
