"""The configured ACP agents as runtimes: the list the API shows, changes, and the ``initialize`` test.

Each configured agent is registered in the ``RuntimeRegistry`` as an ``AcpRuntime`` under its name, at
start-up and whenever the configuration changes; a changed or removed agent's processes are stopped
(each when its turn ends).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from threadline.agent.acp.config import AgentConfig, AgentConfigs
from threadline.agent.acp.processes import AgentProcesses
from threadline.agent.acp.runtime import AcpRuntime, engine
from threadline.agent.events import ProviderError
from threadline.agent.runtime import BUILTIN, RuntimeRegistry
from threadline.errors import BadRequest, NotFound


class AcpAgents:
    def __init__(self, configs: AgentConfigs, processes: AgentProcesses, runtimes: RuntimeRegistry) -> None:
        self.configs = configs
        self.processes = processes
        self.runtimes = runtimes
        for config in configs:
            runtimes.register(AcpRuntime(config, processes))

    async def listing(self) -> list[dict[str, Any]]:
        """Every runtime this process offers: the built-in one first, then the configured agents, each
        with whether its command can be found (looked up off the event loop)."""
        runtimes = list(self.runtimes)
        agents = [self.configs.get(r.name) or r.config for r in runtimes if isinstance(r, AcpRuntime)]
        problems = dict(zip([a.name for a in agents],
                            await asyncio.to_thread(lambda: [a.unavailable() for a in agents]), strict=True))
        listed: list[dict[str, Any]] = [{"name": BUILTIN, "kind": "builtin", "available": True}]
        for runtime in runtimes:
            if isinstance(runtime, AcpRuntime):
                config = self.configs.get(runtime.name) or runtime.config
                problem = problems[config.name]
                listed.append({**config.public(), "available": problem is None,
                               **({"error": problem} if problem else {})})
            elif runtime.name != BUILTIN:
                listed.append({"name": runtime.name, "kind": runtime.kind, "available": True})
        return listed

    async def save(self, config: AgentConfig, *, keep_env: bool) -> AgentConfig:
        """Add or replace an agent. A name taken by a runtime that is not an ACP agent is refused."""
        if config.name in self.runtimes and not isinstance(self.runtimes.get(config.name), AcpRuntime):
            raise BadRequest(f"the runtime name {config.name!r} is taken")
        merged = self.configs.merged(config, keep_env=keep_env)
        await asyncio.to_thread(self.configs.save, merged)
        await self.processes.retire(merged.name)
        self.runtimes.register(AcpRuntime(merged, self.processes))
        return merged

    async def delete(self, name: str) -> None:
        if self.configs.get(name) is None:
            raise NotFound(f"no agent named {name!r}")
        await asyncio.to_thread(self.configs.delete, name)
        self.runtimes.unregister(name)
        await self.processes.retire(name)

    async def test(self, name: str, cwd: Path) -> dict[str, Any]:
        """Start the agent in ``cwd``, run ``initialize``, stop it: ``{ok, ...what it said}`` or
        ``{ok: false, error, type, hint}``."""
        config = self.configs.get(name)
        if config is None:
            raise NotFound(f"no agent named {name!r}")
        await engine()
        try:
            return {"ok": True, **await self.processes.probe(config, cwd)}
        except ProviderError as exc:
            return {"ok": False, "error": exc.message, "type": exc.kind, "hint": exc.hint}

    async def close(self) -> None:
        await self.processes.close()
