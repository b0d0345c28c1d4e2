"""The set of tools an agent run may call."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from threadline.agent.providers.base import ToolSpec
from threadline.agent.tools.base import Tool
from threadline.agent.tools.clarify import Clarify
from threadline.agent.tools.files import FILE_TOOLS
from threadline.agent.tools.shell import RunShell


class ToolRegistry:
    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for tool in tools:
            self.add(tool)

    def add(self, tool: Tool) -> None:
        if tool.name in self._tools:
            raise ValueError(f"a tool named {tool.name!r} is already registered")
        self._tools[tool.name] = tool

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def specs(self) -> list[ToolSpec]:
        return [tool.spec() for tool in self._tools.values()]

    def names(self) -> list[str]:
        return list(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self) -> Iterator[Tool]:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)


def default_tools(*, shell: bool = True, clarify: bool = False) -> ToolRegistry:
    """The built-in workspace tools; ``shell=False`` leaves out ``run_shell``, ``clarify=True`` adds
    the question to the user (for runs someone watches)."""
    tools: list[Tool] = [cls() for cls in FILE_TOOLS]
    if shell:
        tools.append(RunShell())
    if clarify:
        tools.append(Clarify())
    return ToolRegistry(tools)
