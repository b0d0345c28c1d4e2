"""One turn of an ACP agent, reported through the run's sink.

Everything the agent sends during ``session/prompt`` (updates, permission and terminal requests) and
the prompt's answer go through one queue and are handled here, on the run's task, in the order they
came: the stream keeps the agent's order, and a cancel stops all of it at once.

    agent_message_chunk          -> sink.on_text
    agent_thought_chunk          -> sink.on_reasoning
    tool_call, tool_call_update  -> the text so far stored with the call (on_assistant_message), then
                                    on_tool_start; on completed/failed on_tool_end and on_tool_message
    plan                         -> sink.on_event("plan", {"entries": [...]})
    session/request_permission   -> sink.request_approval; the agent's options map to once/always/deny
    terminal/create              -> sink.request_approval as the shell tool (``run_shell``)
    the prompt's usage           -> sink.on_usage

A cancel sends ``session/cancel``, answers pending permission requests ``cancelled`` and kills the
turn's terminals; the agent's answer to the cancelled prompt is awaited by the next turn. An agent that
exits fails the turn with how it ended; one that sends nothing for ``silence`` seconds (time spent
waiting for the user not counted) is hung: the turn fails and the process is stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from acp import RequestError
from acp.schema import (
    AgentMessageChunk,
    AgentPlanUpdate,
    AgentThoughtChunk,
    AllowedOutcome,
    PermissionOption,
    PromptResponse,
    RequestPermissionResponse,
    ToolCallProgress,
    ToolCallStart,
    ToolCallUpdate,
)

from threadline.agent.acp.client import cancelled
from threadline.agent.acp.toolcalls import AgentToolCall, block_text
from threadline.agent.events import ProviderError, ToolCallRequest, Usage
from threadline.agent.loop import approval_scope
from threadline.agent.runtime import ApprovalOutcome, RunSink, RuntimeResult, StoppedReason
from threadline.agent.tools.base import ApprovalScope, ToolContext, ToolResult, truncate
from threadline.agent.tools.shell import RunShell

if TYPE_CHECKING:
    from threadline.agent.acp.process import AgentProcess
    from threadline.agent.acp.prompt import Block

CANCEL_SEND_SECONDS = 2.0
ALLOW = ("allow_once", "allow_always")
REJECT = ("reject_once", "reject_always")
STOPS: dict[str, tuple[StoppedReason, str | None]] = {
    "end_turn": ("stop", None),
    "max_tokens": ("length", None),
    "max_turn_requests": ("max_steps", "The agent stopped: it reached its own limit of model requests."),
    "refusal": ("stop", "The agent refused to go on with this request."),
    "cancelled": ("stop", "The agent cancelled the turn."),
}


@dataclass
class _Permission:
    tool_call: ToolCallUpdate
    options: list[PermissionOption]
    answer: asyncio.Future[RequestPermissionResponse]


@dataclass
class _Terminal:
    line: str
    cwd: str | None
    answer: asyncio.Future[bool]


@dataclass
class _Answered:
    task: asyncio.Task[PromptResponse]


def choose(options: list[PermissionOption], outcome: ApprovalOutcome) -> RequestPermissionResponse:
    """The agent's option for the user's answer: allow once (else always), reject once (else always),
    or ``cancelled`` when nobody answered in time or the agent offered no such option.

    Allowed "for this chat" or "always" is still answered "allow once": the standing approval is
    Threadline's (kept with the session or in the approvals table, shown and revoked in Settings),
    and it answers the agent's next request itself, so revoking it takes effect."""
    if outcome == "timed_out":
        return cancelled()
    for kind in ALLOW if outcome == "approved" else REJECT:
        option = next((o for o in options if o.kind == kind), None)
        if option is not None:
            return RequestPermissionResponse(outcome=AllowedOutcome(option_id=option.option_id, outcome="selected"))
    return cancelled()


class Turn:
    def __init__(self, proc: AgentProcess, sink: RunSink, *, silence: float, output_cap: int) -> None:
        self.proc = proc
        self.sink = sink
        self.silence = silence
        self.output_cap = output_cap
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.calls: dict[str, AgentToolCall] = {}
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.said = False
        self._permissions: set[asyncio.Future[RequestPermissionResponse]] = set()
        self._terminal_asks: set[asyncio.Future[bool]] = set()
        self._quiet_from = time.monotonic()
        self._terminals = 0

    # -- what the client hands over (ThreadlineClient's TurnLink) ---------------------------------

    def offer(self, update: Any) -> None:
        self.queue.put_nowait(update)

    async def ask_permission(self, tool_call: ToolCallUpdate,
                             options: list[PermissionOption]) -> RequestPermissionResponse:
        answer: asyncio.Future[RequestPermissionResponse] = asyncio.get_running_loop().create_future()
        self._permissions.add(answer)
        self.queue.put_nowait(_Permission(tool_call, options, answer))
        return await answer

    async def ask_terminal(self, line: str, cwd: str | None) -> bool:
        answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._terminal_asks.add(answer)
        self.queue.put_nowait(_Terminal(line, cwd, answer))
        return await answer

    # -- the turn --------------------------------------------------------------------------------

    async def run(self, session_id: str, blocks: list[Block]) -> RuntimeResult:
        conn = self.proc.conn
        if conn is None:
            raise await self.proc.died("the turn")
        self.proc.client.turn = self
        prompt = asyncio.create_task(conn.prompt(session_id=session_id, prompt=blocks))
        prompt.add_done_callback(lambda task: self.queue.put_nowait(_Answered(task)))
        try:
            while True:
                item = await self._next(prompt)
                if isinstance(item, _Answered):
                    return await self._finish(await self._response(item.task))
                await self._handle(item)
                self._quiet_from = time.monotonic()
        except asyncio.CancelledError:
            self._close_asks()
            self.proc.unfinished = prompt
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.cancel(session_id=session_id), CANCEL_SEND_SECONDS)
            await self.proc.client.terminals.close()
            raise
        except BaseException:
            prompt.cancel()
            raise
        finally:
            self.proc.client.turn = None
            self._close_asks()

    async def _next(self, prompt: asyncio.Task[PromptResponse]) -> Any:
        while True:
            quiet = time.monotonic() - max(self.proc.watch.last_heard, self._quiet_from)
            if quiet >= self.silence:
                prompt.cancel()
                await self.proc.stop()
                raise ProviderError("stream_cut", f"{self.proc.label} sent nothing for {self.silence:g} s "
                                    "and was stopped", hint=self.proc.hint(
                                        "Send the message again; raise THREADLINE_ACP_SILENCE_SECONDS if the "
                                        "agent needs longer."))
            with contextlib.suppress(TimeoutError):
                return await asyncio.wait_for(self.queue.get(), self.silence - quiet)

    async def _response(self, task: asyncio.Task[PromptResponse]) -> PromptResponse:
        try:
            return task.result()
        except RequestError as exc:
            raise self.proc.refused("the prompt", exc) from None
        except (ConnectionError, OSError):
            raise await self.proc.died("the turn") from None

    def _close_asks(self) -> None:
        """Answer what is still pending: a permission ``cancelled``, a terminal no."""
        for permission in self._permissions:
            if not permission.done():
                permission.set_result(cancelled())
        for terminal in self._terminal_asks:
            if not terminal.done():
                terminal.set_result(False)
        self._permissions.clear()
        self._terminal_asks.clear()

    async def _handle(self, item: Any) -> None:
        if isinstance(item, AgentMessageChunk):
            text = block_text(item.content)
            if text:
                self.said = True
                self.text.append(text)
                await self.sink.on_text(text)
        elif isinstance(item, AgentThoughtChunk):
            text = block_text(item.content)
            if text:
                self.said = True
                self.reasoning.append(text)
                await self.sink.on_reasoning(text)
        elif isinstance(item, ToolCallStart | ToolCallProgress):
            await self._tool_call(item)
        elif isinstance(item, AgentPlanUpdate):
            entries = [{"content": e.content, "priority": e.priority, "status": e.status} for e in item.entries]
            await self.sink.on_event("plan", {"entries": entries})
        elif isinstance(item, _Permission):
            await self._permission(item)
        elif isinstance(item, _Terminal):
            await self._terminal(item)

    async def _tool_call(self, update: ToolCallStart | ToolCallProgress) -> None:
        call = self.calls.get(update.tool_call_id)
        if call is None:
            call = self.calls[update.tool_call_id] = AgentToolCall.from_update(update)
            self.said = True
            await self._store_text(tool_calls=[call.request().to_message()])
            await self.sink.on_tool_start(call.request())
        else:
            call.apply(update)
        if call.done and not call.ended:
            await self._end_call(call)

    async def _end_call(self, call: AgentToolCall, note: str | None = None) -> None:
        call.ended = True
        text = note or call.result_text(self.proc.client.terminals.output)
        result = ToolResult(truncate(text, self.output_cap), is_error=call.status == "failed")
        request = call.request()
        await self.sink.on_tool_end(request, result, time.monotonic() - call.started)
        await self.sink.on_tool_message({"role": "tool", "tool_call_id": call.id, "name": request.name,
                                         "content": result.text, "is_error": result.is_error})

    async def _store_text(self, tool_calls: list[dict[str, Any]] | None = None) -> None:
        message: dict[str, Any] = {"role": "assistant", "content": "".join(self.text)}
        if self.reasoning:
            message["reasoning"] = "".join(self.reasoning)
        if tool_calls:
            message["tool_calls"] = tool_calls
        self.text, self.reasoning = [], []
        if message["content"] or tool_calls or "reasoning" in message:
            await self.sink.on_assistant_message(message)

    async def _permission(self, item: _Permission) -> None:
        if item.answer.done():
            return
        update = item.tool_call
        known = self.calls.get(update.tool_call_id)
        call = AgentToolCall(update.tool_call_id, known.title if known else "tool call",
                             known.kind if known else "other", raw_input=known.raw_input if known else None,
                             content=list(known.content) if known else [])
        call.apply(update)
        shown = call.request()
        request = ToolCallRequest(call.id, f"{self.proc.config.name}.{call.kind}", shown.arguments,
                                  shown.raw_arguments)
        command = shown.arguments.get("command")
        if call.kind == "execute" and isinstance(command, str):  # covered as the shell tool covers it
            scope = await approval_scope(RunShell(), {"command": command}, self._tool_context())
        else:
            scope = ApprovalScope(("*",))
        outcome = await self.sink.request_approval(request, call.describe(), scope)
        if not item.answer.done():
            item.answer.set_result(choose(item.options, outcome))

    async def _terminal(self, item: _Terminal) -> None:
        if item.answer.done():
            return
        self._terminals += 1
        args = {"command": item.line}
        request = ToolCallRequest(f"terminal-{self._terminals}", RunShell.name, args, item.line)
        where = f" (in {item.cwd})" if item.cwd else ""
        scope = await approval_scope(RunShell(), args, self._tool_context())
        outcome = await self.sink.request_approval(request, RunShell().describe(args) + where, scope)
        if not item.answer.done():
            item.answer.set_result(outcome == "approved")

    def _tool_context(self) -> ToolContext:
        return ToolContext(jail=self.proc.client.jail, output_cap=self.output_cap)

    async def _finish(self, response: PromptResponse) -> RuntimeResult:
        for call in self.calls.values():
            if not call.ended:
                await self._end_call(call, "(the agent reported no result)")
        await self._store_text()
        if response.usage is not None:
            await self.sink.on_usage(Usage(response.usage.input_tokens, response.usage.output_tokens))
        if not self.said and response.stop_reason == "end_turn":
            raise ProviderError("no_response", f"{self.proc.label} ended its turn without an answer",
                                hint="Send the message again, or check the agent's own configuration.")
        reason, note = STOPS.get(response.stop_reason, ("stop", None))
        return RuntimeResult(reason, note)
