"""An MCP server's tool as a ``Tool`` of the agent loop, named ``<server>__<tool>``.

The policy is read when the tool is built for a run (``ask`` makes it ``dangerous``, so the loop asks
through the run's one approval policy, where "Always" covers this tool) and again at call time, so a
``deny`` set in Settings refuses at once, also in a run that had already started.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from mcp.types import Tool as McpToolInfo

from threadline.agent.mcp.config import Policy
from threadline.agent.mcp.connection import CallFailed, Connection
from threadline.agent.mcp.content import render_result
from threadline.agent.tools.base import ApprovalScope, Tool, ToolContext, ToolResult, error

MAX_DESCRIPTION = 1024


def input_schema(info: McpToolInfo) -> dict[str, Any]:
    """The tool's input schema as providers want it: a JSON object schema."""
    schema = dict(info.input_schema or {})
    if schema.get("type") != "object":
        schema = {"type": "object", "properties": {}, **({"description": "any arguments"} if schema else {})}
    schema.setdefault("properties", {})
    return schema


def describe(server: str, info: McpToolInfo) -> str:
    text = info.description or info.title or info.name
    return f"(MCP server {server}) {text}"[:MAX_DESCRIPTION]


class McpTool(Tool):
    def __init__(
        self, server: str, info: McpToolInfo, exposed: str, *,
        connection: Callable[[], Connection | None], policy: Callable[[], Policy],
    ) -> None:
        self.name = exposed
        self.description = describe(server, info)
        self.parameters = input_schema(info)
        self.server = server
        self.tool = info.name
        self._connection = connection
        self._policy = policy
        self.dangerous = policy() == "ask"

    def describe(self, args: dict[str, Any]) -> str:
        return f"MCP {self.server} › {self.tool} {json.dumps(args, ensure_ascii=False)[:500]}"

    def approval_scope(self, args: dict[str, Any], ctx: ToolContext) -> ApprovalScope:
        """"For this chat" and "Always" cover every call of this one tool (the key
        ``<server>__<tool>:*``): what an MCP tool does with its arguments is the server's business,
        so there is nothing narrower Threadline could promise."""
        return ApprovalScope(("*",))

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        if self._policy() == "deny":
            return error(f"{self.name}: refused: the policy of this MCP tool is 'deny' (Settings > MCP servers)")
        connection = self._connection()
        if connection is None:
            return error(f"{self.name}: the MCP server {self.server!r} is no longer configured")
        try:
            result = await connection.call(self.tool, args)
        except CallFailed as exc:
            return error(f"{self.name}: {exc}")
        return ToolResult(render_result(result), is_error=result.is_error)
