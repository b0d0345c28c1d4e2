"""The MCP file in the state directory (``mcp.json``): the servers, their per-tool policies, and the
OAuth tokens and client registrations the servers issued. Written like the providers file: mode
0600, atomically, off the event loop, one write at a time.

    {"servers": [{"name", "command", "args", "env", "url", "headers", "enabled", "policies"}, ...],
     "oauth": {"<server>": {"tokens": {...}, "client_info": {...}}}}
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from threadline.agent.mcp.config import ServerConfig, config_from_file
from threadline.agent.providers.registry import write_private


class McpStore:
    def __init__(self, path: Path | None) -> None:
        self.path = path  # None: kept in memory only (tests of the agent layer)
        self.servers: dict[str, ServerConfig] = {}
        self.oauth: dict[str, dict[str, Any]] = {}
        self._lock = asyncio.Lock()

    async def load(self) -> None:
        """Read the file if there is one. ``ValueError`` names what is wrong with it."""
        if self.path is None:
            return
        data = await asyncio.to_thread(_read, self.path)
        if data is None:
            return
        try:
            servers = [config_from_file(item) for item in data.get("servers") or []]
            oauth = data.get("oauth") or {}
            if not isinstance(oauth, dict):
                raise ValueError("oauth must be an object")
        except (ValueError, TypeError, AttributeError) as exc:
            raise ValueError(f"{self.path} is not a valid MCP file: {exc}") from exc
        self.servers = {config.name: config for config in servers}
        self.oauth = {k: v for k, v in oauth.items() if isinstance(v, dict)}

    async def put(self, config: ServerConfig, *, keep_oauth: bool = True) -> None:
        async with self._lock:
            servers = {**self.servers, config.name: config}
            oauth = self.oauth if keep_oauth else {k: v for k, v in self.oauth.items() if k != config.name}
            await self._write(servers, oauth)

    async def remove(self, name: str) -> None:
        async with self._lock:
            servers = {k: v for k, v in self.servers.items() if k != name}
            oauth = {k: v for k, v in self.oauth.items() if k != name}
            await self._write(servers, oauth)

    async def set_oauth(self, name: str, values: Mapping[str, Any]) -> None:
        """Merge ``values`` into the server's OAuth record (a value of None removes the key)."""
        async with self._lock:
            record = {**self.oauth.get(name, {}), **values}
            record = {k: v for k, v in record.items() if v is not None}
            await self._write(self.servers, {**self.oauth, name: record})

    async def _write(self, servers: dict[str, ServerConfig], oauth: dict[str, dict[str, Any]]) -> None:
        """Write first, then adopt: a failed write changes nothing."""
        if self.path is not None:
            data = {"servers": [c.stored() for c in servers.values()], "oauth": oauth}
            await asyncio.to_thread(write_private, self.path, json.dumps(data, indent=2) + "\n")
        self.servers, self.oauth = servers, oauth


def _read(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text("utf-8"))
    except ValueError as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a JSON object")
    return data
