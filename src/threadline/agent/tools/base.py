"""The tool contract: a name, a JSON schema, ``run(args, ctx) -> ToolResult``.

Tools report failures as ``ToolResult(..., is_error=True)``; anything they raise is turned into one
by the agent loop, so a tool's problem goes back to the model instead of ending the run.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from threadline.agent.providers.base import ToolSpec
from threadline.workspace.jail import Jail

DEFAULT_OUTPUT_CAP = 50_000
AskUser = Callable[[str, Sequence[str]], Awaitable[str | None]]  # (question, choices) -> answer | None


@dataclass(frozen=True, slots=True)
class ToolContext:
    jail: Jail
    output_cap: int = DEFAULT_OUTPUT_CAP
    shell_timeout: float = 120.0
    env: Mapping[str, str] | None = None  # the shell's environment; None: the server's, secrets removed
    ask_user: AskUser | None = None  # the run's ``RunSink.ask_user``; None: nobody to ask (background runs)
    session_id: str | None = None  # the run's session (tools that keep state per session or project)


@dataclass(frozen=True, slots=True)
class ToolResult:
    text: str
    is_error: bool = False
    approval: str | None = None  # "denied" or "timed_out" when the call did not run for want of consent


@dataclass(frozen=True, slots=True)
class ApprovalScope:
    """What a standing approval ("session" or "always") of one call covers: the call runs unasked only
    when every one of ``patterns`` is approved. ``None``: no standing approval can cover it (it is asked
    every time), and ``reason`` says why. ``covers``: the approval card's sentence of what "always"
    would allow, when the tool says it better than the patterns do."""

    patterns: tuple[str, ...] | None
    reason: str = ""
    covers: str = ""


def error(text: str) -> ToolResult:
    return ToolResult(text, is_error=True)


class Tool(ABC):
    # Class attributes for the built-in tools; tools made at run time (MCP) set them per instance.
    name: str
    description: str
    parameters: dict[str, Any]
    dangerous: bool = False

    @abstractmethod
    async def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult: ...

    def describe(self, args: dict[str, Any]) -> str:
        """A one-line summary for an approval prompt."""
        return f"{self.name} {json.dumps(args, ensure_ascii=False)[:500]}"

    def approval_scope(self, args: dict[str, Any], ctx: ToolContext) -> ApprovalScope:
        """What approving this call for the session or always would cover; by default the whole tool
        (the pattern ``*``). Called off the event loop, only for ``dangerous`` tools."""
        return ApprovalScope(("*",))

    def spec(self) -> ToolSpec:
        return ToolSpec(self.name, self.description, self.parameters)


_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


def validate_args(schema: dict[str, Any], args: Any) -> str | None:
    """A message saying what is wrong with ``args``, or None. Checks required keys and top-level types."""
    if not isinstance(args, dict):
        return "arguments must be a JSON object"
    missing = [key for key in schema.get("required", []) if key not in args]
    if missing:
        return f"missing required argument(s): {', '.join(missing)}"
    properties: dict[str, Any] = schema.get("properties", {})
    for key, value in args.items():
        prop = properties.get(key)
        if prop is None:
            if schema.get("additionalProperties") is False:
                return f"unknown argument {key!r}; expected: {', '.join(properties)}"
            continue
        expected = prop.get("type")
        if value is None and key not in schema.get("required", []):
            continue
        if expected in _TYPES:
            ok = isinstance(value, _TYPES[expected])
            if expected in ("integer", "number") and isinstance(value, bool):
                ok = False
            if expected == "integer" and isinstance(value, float) and value.is_integer():
                ok = True
            if not ok:
                return f"argument {key!r} must be of type {expected}, not {type(value).__name__}"
    return None


def truncate(text: str, cap: int, *, hint: str = "") -> str:
    """``text`` cut to about ``cap`` bytes, keeping the head and the tail, with a note of what was cut."""
    data = text.encode("utf-8", "replace")
    if len(data) <= cap:
        return text
    head = data[: cap * 2 // 3].decode("utf-8", "ignore")
    tail = data[len(data) - cap // 3 :].decode("utf-8", "ignore")
    cut = len(data) - len(head.encode()) - len(tail.encode())
    note = f"\n[truncated {cut} bytes{'; ' + hint if hint else ''}]\n"
    return head + note + tail
