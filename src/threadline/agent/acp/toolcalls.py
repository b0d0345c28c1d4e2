"""An agent's tool calls as Threadline sees them: what to call them, what they did, in words.

ACP describes a tool call by a title, a kind (read, edit, execute...), its raw input and output, and
content: text, diffs (``path``, ``oldText``, ``newText``) and embedded terminals. The result shown
and stored is that content as text: text as it is, a diff as a unified diff, a terminal as its output.
"""

from __future__ import annotations

import difflib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from acp.schema import (
    ContentToolCallContent,
    EmbeddedResourceContentBlock,
    FileEditToolCallContent,
    ImageContentBlock,
    ResourceContentBlock,
    TerminalToolCallContent,
    TextContentBlock,
    TextResourceContents,
    ToolCallProgress,
    ToolCallStart,
    ToolCallUpdate,
)

from threadline.agent.events import ToolCallRequest

TITLE_CHARS = 200
DONE = ("completed", "failed")


def block_text(block: Any) -> str:
    """A content block as text: text itself, a link or a resource by its name, an image as a mark."""
    if isinstance(block, TextContentBlock):
        return block.text
    if isinstance(block, ResourceContentBlock):
        return f"[{block.title or block.name}]({block.uri})"
    if isinstance(block, EmbeddedResourceContentBlock):
        resource = block.resource
        return resource.text if isinstance(resource, TextResourceContents) else f"[{resource.uri}]"
    if isinstance(block, ImageContentBlock):
        return "[image]"
    return ""


def arguments_of(raw_input: Any) -> dict[str, Any]:
    if isinstance(raw_input, dict):
        return raw_input
    return {} if raw_input is None else {"input": raw_input}


def unified_diff(path: str, old: str | None, new: str) -> str:
    lines = difflib.unified_diff((old or "").splitlines(keepends=True), new.splitlines(keepends=True),
                                 fromfile=f"a/{path.lstrip('/')}" if old is not None else "/dev/null",
                                 tofile=f"b/{path.lstrip('/')}")
    text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    return text or f"(no change to {path})\n"


@dataclass
class AgentToolCall:
    """One tool call of the agent, as it evolves through ``tool_call_update``s."""

    id: str
    title: str
    kind: str = "other"
    status: str = "pending"
    raw_input: Any = None
    raw_output: Any = None
    content: list[Any] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    ended: bool = False

    @classmethod
    def from_update(cls, update: ToolCallStart | ToolCallProgress | ToolCallUpdate) -> AgentToolCall:
        call = cls(update.tool_call_id, (update.title or "tool call")[:TITLE_CHARS])
        call.apply(update)
        return call

    def apply(self, update: ToolCallStart | ToolCallProgress | ToolCallUpdate) -> None:
        if update.title:
            self.title = update.title[:TITLE_CHARS]
        self.kind = update.kind or self.kind
        self.status = update.status or self.status
        if update.raw_input is not None:
            self.raw_input = update.raw_input
        if update.raw_output is not None:
            self.raw_output = update.raw_output
        if update.content is not None:
            self.content = list(update.content)

    @property
    def done(self) -> bool:
        return self.status in DONE

    def request(self) -> ToolCallRequest:
        """The call as the run records it: named by its title, its raw input as the arguments."""
        raw = self.raw_input if isinstance(self.raw_input, str) else json.dumps(self.raw_input, default=str)
        return ToolCallRequest(self.id, self.title, arguments_of(self.raw_input), raw)

    def result_text(self, terminal_output: Callable[[str], str]) -> str:
        parts: list[str] = []
        for item in self.content:
            if isinstance(item, ContentToolCallContent):
                parts.append(block_text(item.content))
            elif isinstance(item, FileEditToolCallContent):
                parts.append(unified_diff(item.path, item.old_text, item.new_text))
            elif isinstance(item, TerminalToolCallContent):
                parts.append(terminal_output(item.terminal_id))
        text = "\n".join(p for p in parts if p)
        if not text and self.raw_output is not None:
            output = self.raw_output
            text = output if isinstance(output, str) else json.dumps(output, ensure_ascii=False, default=str)
        return text

    def describe(self) -> str:
        """A summary for an approval card: the title, the command or the diff at stake."""
        lines = [self.title]
        command = arguments_of(self.raw_input).get("command")
        if isinstance(command, str) and command not in self.title:
            lines.append(command)
        for item in self.content:
            if isinstance(item, FileEditToolCallContent):
                lines.append(unified_diff(item.path, item.old_text, item.new_text)[:2000])
            elif isinstance(item, ContentToolCallContent):
                text = block_text(item.content)
                if text and text not in lines:
                    lines.append(text[:1000])
        return "\n".join(lines)[:4000]
