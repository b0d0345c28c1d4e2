"""Built-in workspace tools and the registry the agent loop calls them through."""

from threadline.agent.tools.base import Tool, ToolContext, ToolResult, truncate, validate_args
from threadline.agent.tools.registry import ToolRegistry, default_tools

__all__ = ["Tool", "ToolContext", "ToolRegistry", "ToolResult", "default_tools", "truncate", "validate_args"]
