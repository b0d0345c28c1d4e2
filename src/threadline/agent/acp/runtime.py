"""``AcpRuntime``: a session's turns run by an ACP agent process (DESIGN §8); how is ``conversation.py``.

The ACP client (``conversation`` and what it imports: the SDK) is imported on first use, in a worker
thread: the SDK's schema takes about a second to import, which neither the server's start-up nor the
event loop should pay for.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
from collections.abc import Awaitable, Callable
from types import ModuleType

from threadline.agent.acp.config import AgentConfig
from threadline.agent.acp.processes import AgentProcesses
from threadline.agent.runtime import RunContext, RunSink, RuntimeResult

ENGINE = "threadline.agent.acp.conversation"


async def engine() -> ModuleType:
    """The ACP client module, imported off the event loop the first time."""
    module = sys.modules.get(ENGINE)
    if module is None:
        module = await asyncio.to_thread(importlib.import_module, ENGINE)
    return module


class AcpRuntime:
    kind = "acp"

    def __init__(self, config: AgentConfig, processes: AgentProcesses) -> None:
        self.name = config.name
        self.config = config
        self.processes = processes

    async def check(self, model: str | None) -> str | None:
        """The agent chooses its own model; the session's model is not used."""
        return None

    async def run(self, ctx: RunContext, sink: RunSink) -> RuntimeResult:
        run_turn: Callable[..., Awaitable[RuntimeResult]] = (await engine()).run_turn
        return await run_turn(self.config, self.processes, ctx, sink)

    async def close(self) -> None:
        await self.processes.retire(self.name)
