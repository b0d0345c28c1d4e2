"""The MCP servers of one process: their configuration, one connection each, their tools.

Runs get the tools of the enabled, connected servers (``run_tools``): a server still connecting is
waited for up to the connect timeout, one that failed recently is skipped at once, so a broken
server is simply absent from a run. The web layer calls the rest (``web/routes/mcp.py``).

The SDK (``mcp``, about a second to import) is loaded with the first server, not with the app.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from threadline.agent.mcp.config import (
    CALLBACK_PATH,
    Limits,
    Policy,
    ServerConfig,
    check_name,
    check_policy,
    default_policy,
    parse_server,
    status_view,
)
from threadline.agent.mcp.names import expose_all
from threadline.agent.mcp.store import McpStore
from threadline.agent.tools.base import Tool
from threadline.errors import BadRequest, Conflict, NotFound

if TYPE_CHECKING:
    from mcp.types import Tool as McpToolInfo

    from threadline.agent.mcp.connection import Connection
    from threadline.agent.mcp.oauth import OAuthBroker

log = logging.getLogger("threadline.mcp")

MAX_TOOL_NAME = 200


class McpPool:
    def __init__(self, store: McpStore, limits: Limits) -> None:
        self.store = store
        self.limits = limits
        self._connections: dict[str, Connection] = {}  # made once the SDK is loaded (``_loaded``)
        self._sdk: asyncio.Task[ModuleType] | None = None
        self._starting: asyncio.Task[None] | None = None

    @cached_property
    def oauth(self) -> OAuthBroker:
        from threadline.agent.mcp.oauth import OAuthBroker

        return OAuthBroker(self.store)

    def _new(self, config: ServerConfig) -> Connection:
        from threadline.agent.mcp.connection import Connection

        return Connection(config, self.limits, self.oauth)

    @classmethod
    async def open(cls, path: Path | None, limits: Limits) -> McpPool:
        store = McpStore(path)
        await store.load()
        return cls(store, limits)

    async def _loaded(self) -> None:
        """The SDK imported (once, in a worker thread) and a connection made for every stored server."""
        if self._sdk is None:
            self._sdk = asyncio.create_task(asyncio.to_thread(importlib.import_module, "threadline.agent.mcp.tools"))
        await asyncio.shield(self._sdk)
        for name, config in self.store.servers.items():
            if name not in self._connections:
                self._connections[name] = self._new(config)

    def start(self) -> None:
        """Connect every enabled server in the background (the server answers meanwhile)."""
        if self.store.servers:
            self._starting = asyncio.create_task(self._start(), name="mcp-start")

    async def _start(self) -> None:
        await self._loaded()
        for connection in self._connections.values():
            connection.start_background()

    async def close(self) -> None:
        if self._starting is not None:
            self._starting.cancel()
        await asyncio.gather(*(c.close() for c in self._connections.values()))

    # -- reading --------------------------------------------------------------------------------

    def connection(self, name: str) -> Connection | None:
        return self._connections.get(name)

    async def _get(self, name: object) -> Connection:
        checked = check_name(name)
        await self._loaded()
        connection = self._connections.get(checked)
        if connection is None:
            raise NotFound(f"no MCP server named {name!r}")
        return connection

    def servers(self) -> list[dict[str, Any]]:
        """Every server with its status (one whose connection is not made yet is ``connecting``)."""
        view = []
        for name in sorted(self.store.servers):
            connection = self._connections.get(name)
            config = self.store.servers[name]
            view.append(connection.public() if connection is not None else
                        status_view(config, "connecting" if config.enabled else "disabled"))
        return view

    def policy(self, server: str, tool: str) -> Policy:
        connection = self._connections.get(server)
        if connection is None:
            return "deny"
        stored = connection.config.policies.get(tool)
        if stored is not None:
            return stored
        info = next((t for t in connection.tools if t.name == tool), None)
        return default_policy(info.annotations.read_only_hint if info and info.annotations else None)

    async def connect_enabled(self) -> None:
        """Give every enabled server its chance to connect, together: one starting (or restarting
        after its session died) is waited for up to the connect timeout; one that failed to start is
        retried in the background when its retry is due, without waiting, so a broken server never
        delays a run."""
        enabled = [c for c in self._connections.values() if c.config.enabled]
        outcomes = await asyncio.gather(*(c.ensure(wait=0 if c.failed_to_start else None) for c in enabled),
                                        return_exceptions=True)
        for connection, outcome in zip(enabled, outcomes, strict=True):
            if isinstance(outcome, Exception):  # a bug here must not cost a run its other tools
                log.error("mcp server %s: connecting failed", connection.name, exc_info=outcome)

    async def _connected_tools(self) -> list[tuple[str, McpToolInfo, str]]:
        """(server, tool, exposed name) for every tool of every connected server, by server name."""
        if not self.store.servers:
            return []
        await self._loaded()
        await self.connect_enabled()
        found: list[tuple[str, McpToolInfo, str]] = []
        for name in sorted(self._connections):
            connection = self._connections[name]
            if connection.connected:
                exposed = expose_all(name, [t.name for t in connection.tools])
                found.extend((name, info, exposed[info.name]) for info in connection.tools)
        return found

    async def tools_view(self) -> list[dict[str, Any]]:
        from threadline.agent.mcp.tools import input_schema

        view = []
        for server, info, exposed in await self._connected_tools():
            annotations = info.annotations
            view.append({
                "server": server,
                "tool": info.name,
                "name": exposed,
                "title": info.title or (annotations.title if annotations else None),
                "description": info.description or "",
                "input_schema": input_schema(info),
                "read_only": bool(annotations and annotations.read_only_hint),
                "policy": self.policy(server, info.name),
                "default_policy": default_policy(annotations.read_only_hint if annotations else None),
            })
        return view

    async def run_tools(self) -> list[Tool]:
        """The tools a run may call: those of every enabled server that is (or gets) connected."""
        if not self.store.servers:
            return []
        await self._loaded()
        from threadline.agent.mcp.tools import McpTool

        return [
            McpTool(server, info, exposed,
                    connection=lambda server=server: self._connections.get(server),  # type: ignore[misc]
                    policy=lambda server=server, tool=info.name: self.policy(server, tool))  # type: ignore[misc]
            for server, info, exposed in await self._connected_tools()
        ]

    # -- changes --------------------------------------------------------------------------------

    async def save(self, body: object) -> dict[str, Any]:
        """Add or edit a server (``config.parse_server``); its connection restarts when how it
        connects changed."""
        name = check_name(body.get("name") if isinstance(body, dict) else None)
        previous = self.store.servers.get(name)
        config = parse_server(body, previous)
        if previous is not None:
            config = replace(config, policies=previous.policies)
        same_url = previous is not None and previous.url == config.url
        await self._loaded()
        await self.store.put(config, keep_oauth=same_url)
        old = self._connections.get(name)
        if old is not None and previous is not None and previous.same_connection(config):
            old.config = config
            return old.public()
        if old is not None:
            await old.close()
        connection = self._new(config)
        self._connections[name] = connection
        connection.start_background()
        return connection.public()

    async def delete(self, name: object) -> None:
        connection = await self._get(name)
        await self.store.remove(connection.name)
        self._connections.pop(connection.name, None)
        await connection.close()

    async def restart(self, name: object) -> dict[str, Any]:
        connection = await self._get(name)
        if not connection.config.enabled:
            raise Conflict(f"the MCP server {connection.name!r} is disabled; enable it first")
        await connection.restart()
        await connection.ensure()
        return connection.public()

    async def set_policy(self, server: object, tool: object, policy: object) -> dict[str, Any]:
        connection = await self._get(server)
        chosen = check_policy(policy)
        if not isinstance(tool, str) or not tool or len(tool) > MAX_TOOL_NAME:
            raise BadRequest("tool must be the MCP tool's name")
        known = {t.name for t in connection.tools} | set(connection.config.policies)
        if tool not in known:
            raise NotFound(f"the MCP server {connection.name!r} has no tool {tool!r} (is it connected?)")
        config = replace(connection.config, policies={**connection.config.policies, tool: chosen})
        await self.store.put(config)
        connection.config = config
        return {"server": connection.name, "tool": tool, "policy": chosen}

    # -- OAuth ----------------------------------------------------------------------------------

    async def authorize(self, name: object, base_url: str) -> dict[str, Any]:
        """Start an interactive authorization; ``auth_url`` is the page to open (none when the
        server connected without one)."""
        connection = await self._get(name)
        if connection.config.url is None:
            raise BadRequest("only a Streamable HTTP server (url) can be authorized")
        if not connection.config.enabled:
            raise Conflict(f"the MCP server {connection.name!r} is disabled; enable it first")
        flow = await connection.authorize(base_url.rstrip("/") + CALLBACK_PATH)
        return {**connection.public(), "auth_url": flow.url}

    async def complete_authorization(
        self, state: str | None, code: str | None, iss: str | None, error: str | None
    ) -> dict[str, Any]:
        name = self.oauth.complete(state, code, iss, error)
        connection = self._connections.get(name)
        if connection is not None:
            await connection.ensure(wait=self.limits.connect_timeout)
            return connection.public()
        return {"name": name}
