"""MCP servers as tool providers for the built-in runtime (issue 14 item 1), over the official
``mcp`` SDK.

    config.py      ServerConfig, request validation, masking of secrets
    store.py       mcp.json in the state directory (0600, atomic)
    connection.py  one client session per server: lazy start, watch, restart, time-limited calls
    oauth.py       OAuth for Streamable HTTP servers (the SDK's OAuthClientProvider)
    names.py       ``<server>__<tool>`` within provider limits
    content.py     tool results as text
    tools.py       McpTool: an MCP tool as a ``Tool`` of the agent loop, with its policy
    pool.py        McpPool: all of the above for one process

Errors: requests get ``threadline.errors`` (``BadRequest``, ``NotFound``, ``Conflict``). A server's own
failures never raise into a run: they become its status (``broken``, ``needs_auth``) and, for a
call, an error tool result.
"""

from threadline.agent.mcp.config import Limits
from threadline.agent.mcp.pool import McpPool

__all__ = ["Limits", "McpPool"]
