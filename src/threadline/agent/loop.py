"""The agent loop: model turn, tool calls, tool results, model turn... until a final answer.

``run_agent`` reports everything through an ``AgentSink`` as it happens; it raises ``ProviderError``
when the model fails and lets ``asyncio.CancelledError`` through (a running shell command is killed).
Tool failures never end a run: they go back to the model as error results. Before each model call,
text the user sent meanwhile (``inbox``, steering) joins the conversation as user messages, after the
tool results of the previous step; then, given a ``compactor`` (``agent/compaction.py``), the messages
are fitted to the model's context window and the estimate is reported as a ``context_status`` event.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field, replace
from typing import Any

from threadline.agent.compaction import Compactor
from threadline.agent.events import (
    ProviderError,
    ReasoningDelta,
    TextDelta,
    ToolCallRequest,
    TurnEnd,
    Usage,
)
from threadline.agent.params import ModelParams
from threadline.agent.providers.base import Provider, ToolSpec
from threadline.agent.runtime import RunSink, SteerInbox, StoppedReason
from threadline.agent.tokens import request_tokens
from threadline.agent.tools.base import ApprovalScope, Tool, ToolContext, ToolResult, error, truncate, validate_args
from threadline.agent.tools.registry import ToolRegistry
from threadline.errors import ThreadlineError

log = logging.getLogger("threadline.agent")

DENIED = "denied by user"
TIMED_OUT = "the approval timed out: nobody answered in time, so this did not run"


AgentSink = RunSink  # the loop reports through the run's sink (agent/runtime.py)


@dataclass
class AgentResult:
    final_text: str
    usage_total: Usage
    steps: int
    stopped_reason: StoppedReason
    note: str | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)  # what the run added to the history


@dataclass
class _Turn:
    text: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    signature: str | None = None
    calls: list[ToolCallRequest] = field(default_factory=list)
    usage: Usage | None = None
    stop_reason: str = "stop"

    def message(self) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": "".join(self.text)}
        if self.reasoning:
            message["reasoning"] = "".join(self.reasoning)
        if self.signature:
            message["reasoning_signature"] = self.signature
        if self.calls:
            message["tool_calls"] = [call.to_message() for call in self.calls]
        return message


async def run_agent(
    *,
    provider: Provider,
    model: str,
    history: list[dict[str, Any]],
    tools: ToolRegistry,
    ctx: ToolContext,
    sink: AgentSink,
    max_steps: int = 25,
    system: str | None = None,
    inbox: SteerInbox | None = None,
    params: ModelParams | None = None,
    compactor: Compactor | None = None,
) -> AgentResult:
    """Run one agent turn on top of ``history`` (which is not modified); ``params`` go with every
    model call."""
    messages = list(history)
    added: list[dict[str, Any]] = []
    total = Usage()
    last_text = ""
    specs = tools.specs()
    for step in range(1, max_steps + 1):
        for text in inbox.take() if inbox is not None else ():
            await sink.on_steer(text)
            steer = {"role": "user", "content": text}
            messages.append(steer)
            added.append(steer)
        if compactor is not None:
            messages = await compactor.fit(provider, model, messages, system=system, specs=specs,
                                           on_summary=sink.on_summary, on_event=sink.on_event)
            await sink.on_event("context_status", compactor.limits.public(request_tokens(system, messages, specs)))
        turn = await _model_turn(provider, model, messages, specs, system, sink, params)
        if turn.usage is not None:
            total += turn.usage
        if not turn.calls and not turn.text and not turn.reasoning:
            raise ProviderError("no_response", f"{provider.name}: the model {model!r} returned an empty answer")
        assistant = turn.message()
        last_text = assistant["content"]
        await sink.on_assistant_message(assistant)
        messages.append(assistant)
        added.append(assistant)
        if not turn.calls:
            reason: StoppedReason = "length" if turn.stop_reason == "length" else "stop"
            return AgentResult(last_text, total, step, reason, messages=added)
        for call in turn.calls:
            tool_message = await _run_tool(call, tools, ctx, sink)
            messages.append(tool_message)
            added.append(tool_message)
    note = f"Stopped after {max_steps} model calls (the step limit) before a final answer."
    return AgentResult(last_text, total, max_steps, "max_steps", note=note, messages=added)


async def _model_turn(
    provider: Provider,
    model: str,
    messages: list[dict[str, Any]],
    specs: list[ToolSpec],
    system: str | None,
    sink: AgentSink,
    params: ModelParams | None = None,
) -> _Turn:
    turn = _Turn()
    events = provider.stream(model=model, messages=messages, tools=specs, system=system, params=params)
    try:
        async for event in events:
            if isinstance(event, TextDelta):
                if event.text:
                    turn.text.append(event.text)
                    await sink.on_text(event.text)
            elif isinstance(event, ReasoningDelta):
                if event.signature:
                    turn.signature = event.signature
                if event.text:
                    turn.reasoning.append(event.text)
                    await sink.on_reasoning(event.text)
            elif isinstance(event, ToolCallRequest):
                turn.calls.append(event)
            elif isinstance(event, Usage):
                turn.usage = event
                await sink.on_usage(event)
            elif isinstance(event, TurnEnd):
                turn.stop_reason = event.stop_reason
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:  # close the HTTP stream now, also on cancel or error
            await aclose()
    return turn


async def _run_tool(call: ToolCallRequest, tools: ToolRegistry, ctx: ToolContext, sink: AgentSink) -> dict[str, Any]:
    await sink.on_tool_start(call)
    started = time.monotonic()
    result = await _execute(call, tools, ctx, sink)
    result = replace(result, text=truncate(result.text, ctx.output_cap))
    await sink.on_tool_end(call, result, time.monotonic() - started)
    message = {
        "role": "tool",
        "tool_call_id": call.id,
        "name": call.name,
        "content": result.text,
        "is_error": result.is_error,
    }
    if result.approval:
        message["approval"] = result.approval
    await sink.on_tool_message(message)
    return message


async def _execute(call: ToolCallRequest, tools: ToolRegistry, ctx: ToolContext, sink: AgentSink) -> ToolResult:
    tool = tools.get(call.name)
    if tool is None:
        return error(f"unknown tool {call.name!r}; available tools: {', '.join(tools.names())}")
    args = call.arguments
    if not args and call.raw_arguments.strip() not in ("", "{}"):
        try:
            json.loads(call.raw_arguments)
        except ValueError as exc:
            return error(f"the arguments are not valid JSON ({exc}): {call.raw_arguments[:500]}")
        return error("the arguments must be a JSON object")
    problem = validate_args(tool.parameters, args)
    if problem:
        return error(f"{call.name}: {problem}")
    if tool.dangerous:
        outcome = await sink.request_approval(call, tool.describe(args), await approval_scope(tool, args, ctx))
        if outcome != "approved":
            return ToolResult(TIMED_OUT if outcome == "timed_out" else DENIED, is_error=True, approval=outcome)
    try:
        return await tool.run(args, ctx)
    except ThreadlineError as exc:  # the path escapes, the file is missing, binary, a FIFO...
        return error(f"{call.name}: {exc.message}")
    except Exception as exc:  # a tool's failure is the model's information, not the run's end
        return error(f"{call.name} failed: {type(exc).__name__}: {exc}")


async def approval_scope(tool: Tool, args: dict[str, Any], ctx: ToolContext) -> ApprovalScope:
    """``tool.approval_scope`` off the event loop (reading a long command line takes a while); a tool
    that fails to say is asked every time."""
    try:
        return await asyncio.to_thread(tool.approval_scope, args, ctx)
    except Exception:
        log.exception("%s: approval_scope failed", tool.name)
        return ApprovalScope(None, "what it would do could not be worked out")
