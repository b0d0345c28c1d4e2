"""An MCP server written with the official SDK (``MCPServer``, FastMCP's successor in mcp 2), for the
tests: over stdio when run as a script (``python tests/mcp/servers.py``), over Streamable HTTP through
``app()``. It imports nothing from Threadline or the test suite, so it runs from any directory.

Tools: all but ``note`` and ``broken`` are marked read-only; ``note`` appends to ``notes.txt`` in
the working directory (a side effect the tests can see); ``picture`` returns text and an image;
``resource`` an embedded resource; ``broken`` raises; ``sleep`` waits.
"""

from __future__ import annotations

import asyncio
import base64
import os
import sys
from pathlib import Path

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import EmbeddedResource, ImageContent, TextContent, TextResourceContents, ToolAnnotations

READ_ONLY = ToolAnnotations(read_only_hint=True)
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(2040)).decode()


def build(name: str = "threadline-test") -> MCPServer:
    server = MCPServer(name)

    @server.tool(annotations=READ_ONLY)
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @server.tool(annotations=READ_ONLY)
    def pid() -> str:
        """The server's process id."""
        return str(os.getpid())

    @server.tool(annotations=READ_ONLY)
    def getenv(name: str) -> str:
        """The value of an environment variable of the server ('' when unset)."""
        return os.environ.get(name, "")

    @server.tool()
    def note(text: str) -> str:
        """Append a line to notes.txt in the server's working directory."""
        with Path("notes.txt").open("a", encoding="utf-8") as handle:
            handle.write(text + "\n")
        return f"noted: {text}"

    @server.tool(annotations=READ_ONLY)
    def picture() -> list[TextContent | ImageContent]:
        """A caption and a small PNG image."""
        return [TextContent(text="a picture:"), ImageContent(data=PNG, mime_type="image/png")]

    @server.tool(annotations=READ_ONLY)
    def resource() -> list[EmbeddedResource]:
        """An embedded text resource."""
        return [EmbeddedResource(resource=TextResourceContents(uri="memo://one", text="the memo text"))]

    @server.tool()
    def broken() -> str:
        """Always fails."""
        raise ToolError("this tool is broken on purpose")

    @server.tool(annotations=READ_ONLY)
    async def sleep(seconds: float) -> str:
        """Wait, then answer."""
        await asyncio.sleep(seconds)
        return "awake"

    return server


if __name__ == "__main__":
    build(sys.argv[1] if len(sys.argv) > 1 else "threadline-test").run()
