"""How a connection reaches its server: the SDK's stdio or Streamable HTTP transport, watched so
that the connection learns at once when the server goes away."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, TextIO

import anyio
import httpx2
from mcp import Client, StdioServerParameters, stdio_client
from mcp.client import Transport
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.message import SessionMessage
from mcp.types import Tool

from threadline.agent.mcp.config import Limits, ServerConfig

STDERR_TAIL = 2000
MAX_TOOL_PAGES = 50
HTTP_READ_TIMEOUT = 300.0  # the SDK's default: a server may hold a response stream open


async def open_transport(
    config: ServerConfig, limits: Limits, stack: contextlib.AsyncExitStack, stderr: TextIO,
    auth: httpx2.Auth | None,
) -> Transport:
    """The transport of ``config``; an HTTP client it needs is entered on ``stack``."""
    if config.command is not None:
        params = StdioServerParameters(command=config.command, args=list(config.args), env=dict(config.env),
                                       cwd=limits.cwd)
        return stdio_client(params, errlog=stderr)
    assert config.url is not None
    http = httpx2.AsyncClient(headers=dict(config.headers), auth=auth,
                              timeout=httpx2.Timeout(limits.connect_timeout, read=HTTP_READ_TIMEOUT))
    await stack.enter_async_context(http)
    return streamable_http_client(config.url, http_client=http)


@contextlib.asynccontextmanager
async def watched(transport: Transport, lost: asyncio.Event) -> AsyncIterator[tuple[Any, Any]]:
    """``transport``'s streams, with ``lost`` set when its read side ends (the server went away)."""
    async with transport as (read, write):
        send, receive = anyio.create_memory_object_stream[SessionMessage | Exception](0)

        async def pump() -> None:
            try:
                async with send:
                    async for message in read:
                        await send.send(message)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                pass
            finally:
                lost.set()

        async with anyio.create_task_group() as group:
            group.start_soon(pump)
            try:
                yield receive, write
            finally:
                group.cancel_scope.cancel()
                await receive.aclose()


async def list_tools(client: Client) -> list[Tool]:
    tools: list[Tool] = []
    cursor: str | None = None
    for _ in range(MAX_TOOL_PAGES):
        page = await client.list_tools(cursor=cursor)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if cursor is None:
            break
    return tools


async def stderr_tail(stream: TextIO) -> str | None:
    def read() -> str:
        stream.flush()
        size = stream.seek(0, 2)
        stream.seek(max(0, size - STDERR_TAIL * 2))
        return stream.read()[-STDERR_TAIL:].strip()

    try:
        text = await asyncio.to_thread(read)
    except (OSError, ValueError):
        return None
    return f"stderr: {text}" if text else None
