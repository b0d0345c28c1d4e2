"""The runtime seam: what produces a run's events (DESIGN §8).

A *run* is durable and owned by ``threadline.runs``: the user message is stored before it starts, its
events are numbered and replayable, it checkpoints, it can be cancelled, it asks for approvals, and it
always ends. A *runtime* is what produces the events: the built-in provider loop (``builtin``), an ACP
agent process (``acp``), or anything else that implements ``Runtime``.

    Runtime.check(model)      before anything is stored: the effective model reference, or
                              ``BadRequest`` (an unknown model, an agent that is not configured...)
    Runtime.run(ctx, sink)    produce the turn through ``sink``; return how it stopped. Raise
                              ``ProviderError`` for a failure the user should see; let
                              ``asyncio.CancelledError`` through (cancel), stopping all work first.
    Runtime.steerable         optional, False when absent: the runtime reads ``ctx.inbox`` at each
                              step, so text the user sends while it runs can steer the turn
                              (``POST /api/chat/steer``); others answer ``agent_lacks_steer``.

The sink (``RunSink``) is the run's recorder: every call is numbered, stored and broadcast by the run.
A runtime never writes to the database itself.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from threadline.agent.events import ToolCallRequest, Usage
from threadline.agent.params import ModelParams
from threadline.agent.tools.base import ApprovalScope, ToolResult
from threadline.agent.tools.registry import ToolRegistry
from threadline.errors import BadRequest

StoppedReason = Literal["stop", "length", "max_steps"]
ApprovalOutcome = Literal["approved", "denied", "timed_out"]  # "timed_out": nobody answered in time
BUILTIN = "builtin"


class RunSink(Protocol):
    """Where a runtime reports a turn as it happens."""

    async def on_text(self, text: str) -> None: ...

    async def on_reasoning(self, text: str) -> None: ...

    async def on_assistant_message(self, message: dict[str, Any]) -> None:
        """A complete assistant message (``content``, optional ``tool_calls`` and ``reasoning``):
        the text streamed since the previous one is stored as this message. The sink sets
        ``message["seq"]`` to the stored row's (as ``on_tool_message`` does), which a summary uses to
        say what it covers."""
        ...

    async def on_tool_start(self, call: ToolCallRequest) -> None: ...

    async def on_tool_end(self, call: ToolCallRequest, result: ToolResult, duration: float) -> None: ...

    async def on_tool_message(self, message: dict[str, Any]) -> None:
        """The tool result as the model will see it next turn (``role: tool``)."""
        ...

    async def request_approval(self, call: ToolCallRequest, description: str, scope: ApprovalScope) -> ApprovalOutcome:
        """Whether a tool that writes, runs or reaches the network may run; ``scope`` is what a standing
        approval of it covers (``Tool.approval_scope``). The run owns the policy and the timeout."""
        ...

    async def ask_user(self, question: str, choices: Sequence[str]) -> str | None:
        """Ask the user ``question`` (with ``choices`` to pick from, or an answer in their own words)
        and wait. The run owns the timeout: ``None`` means nobody answered in time."""
        ...

    async def on_steer(self, text: str) -> None:
        """Text the user sent while the run was live, taken from ``RunContext.inbox`` at this point of
        the turn: stored in the transcript here as a user message marked ``steer``."""
        ...

    async def on_summary(self, message: dict[str, Any]) -> None:
        """A summary that stands for the oldest messages from now on (``agent/compaction.py``): stored
        as a row marked ``summary``, and announced as ``compressed``."""
        ...

    async def on_usage(self, usage: Usage) -> None: ...

    async def on_event(self, type_: str, data: dict[str, Any]) -> None:
        """Any other event the stream protocol knows (``plan``...), numbered and stored as it is."""
        ...

    async def save_state(self, state: dict[str, Any]) -> None:
        """Keep runtime-private state with the session (an agent's own session id...); the next run
        of the session gets it back as ``RunContext.state``."""
        ...


class SteerInbox:
    """Text the user sends to a live run, waiting for the runtime's next step. Closed when the run
    stops taking it; what is still there then comes back to the user (``pending_steer_leftover``)."""

    def __init__(self) -> None:
        self._texts: list[str] = []
        self.closed = False

    def put(self, text: str) -> bool:
        """False once the run no longer takes steer text (it is finishing)."""
        if self.closed:
            return False
        self._texts.append(text)
        return True

    def take(self) -> list[str]:
        """Everything sent since the last call, oldest first."""
        texts, self._texts = self._texts, []
        return texts

    def close(self) -> list[str]:
        """Stop taking text; returns what was never taken."""
        self.closed = True
        return self.take()


@dataclass(frozen=True)
class RunContext:
    """Everything a runtime gets for one turn. ``history`` is the session's context as provider
    messages, the new user message last; ``system`` the assembled instructions."""

    run_id: str
    session_id: str
    kind: str
    model: str | None
    workspace: Path
    history: list[dict[str, Any]]
    system: str
    tools: ToolRegistry | None = None  # None: the runtime's own defaults; empty: no tools
    state: dict[str, Any] = field(default_factory=dict)
    inbox: SteerInbox | None = None  # set for a runtime that is ``steerable``
    params: ModelParams = field(default_factory=ModelParams)  # the persona's model parameters
    tool_names: frozenset[str] | None = None  # the persona's tools: only these of the run's tools

    @property
    def prompt(self) -> str:
        """The text of the new user message."""
        for message in reversed(self.history):
            if message.get("role") == "user":
                content = message.get("content")
                return content if isinstance(content, str) else ""
        return ""


@dataclass(frozen=True)
class RuntimeResult:
    stopped_reason: StoppedReason = "stop"
    note: str | None = None  # shown as a marker when the turn stopped short
    final_text: str = ""


@runtime_checkable
class Runtime(Protocol):
    name: str
    kind: str  # "builtin", "acp"...

    async def check(self, model: str | None) -> str | None: ...

    async def run(self, ctx: RunContext, sink: RunSink) -> RuntimeResult: ...

    async def close(self) -> None: ...


def can_steer(runtime: Runtime) -> bool:
    """Whether ``runtime`` declares that it reads steer text (``steerable = True``)."""
    return getattr(runtime, "steerable", False) is True


class RuntimeRegistry:
    """The runtimes a process offers, by name. ``builtin`` is always there."""

    def __init__(self) -> None:
        self._runtimes: dict[str, Runtime] = {}

    def register(self, runtime: Runtime) -> None:
        self._runtimes[runtime.name] = runtime

    def unregister(self, name: str) -> Runtime | None:
        if name == BUILTIN:
            raise BadRequest("the built-in runtime cannot be removed")
        return self._runtimes.pop(name, None)

    def get(self, name: str | None) -> Runtime:
        runtime = self._runtimes.get(name or BUILTIN)
        if runtime is None:
            raise BadRequest(f"unknown runtime {name!r}; available: {', '.join(self._runtimes)}",
                             type="runtime_not_found")
        return runtime

    def check_name(self, name: object) -> str | None:
        """A runtime name from a request: ``None`` or empty means the built-in one."""
        if name is None or name == "" or name == BUILTIN:
            return None
        if not isinstance(name, str):
            raise BadRequest("runtime must be a string")
        self.get(name)
        return name

    def __iter__(self) -> Iterator[Runtime]:
        return iter(self._runtimes.values())

    def __contains__(self, name: object) -> bool:
        return name in self._runtimes

    async def close(self) -> None:
        for runtime in self._runtimes.values():
            await runtime.close()
