"""The live agent processes of this Threadline process: at most one per session, reused across turns,
stopped when idle, all stopped at shutdown, and a cap on how many live at once.

Past the cap, the least recently used idle process is stopped to make room; when every one is in a
turn, the new turn fails with an error that says so. An agent whose configuration changed or was
removed is stopped at once when idle, else when its turn ends. A cancelled turn leaves its prompt
unanswered until the agent acknowledges the cancel: the next turn waits a little for it, then starts
the agent anew (its conversation continues through ``session/load``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from threadline.agent.acp.config import AgentConfig
from threadline.agent.events import ProviderError

if TYPE_CHECKING:
    from threadline.agent.acp.process import AgentProcess

log = logging.getLogger("threadline.acp")

CANCEL_GRACE = 5.0


@dataclass(frozen=True)
class ProcessLimits:
    max_processes: int = 8
    idle_seconds: float = 600.0
    request_timeout: float = 60.0
    silence: float = 600.0
    shell_timeout: float = 120.0
    output_cap: int = 50_000


class AgentProcesses:
    def __init__(self, limits: ProcessLimits, *, env: Mapping[str, str] | None = None) -> None:
        self.limits = limits
        self._env = env
        self._procs: dict[tuple[str, str], AgentProcess] = {}
        self._lock = asyncio.Lock()
        self._reaper: asyncio.Task[None] | None = None
        self.closed = False

    def base_env(self) -> Mapping[str, str]:
        return os.environ if self._env is None else self._env

    def live(self) -> list[AgentProcess]:
        return [p for p in self._procs.values() if p.alive]

    def new_process(self, config: AgentConfig, session_id: str, workspace: Path) -> AgentProcess:
        # Loaded by ``runtime.engine`` already, off the event loop: these imports cost nothing here.
        from threadline.agent.acp.client import ThreadlineClient
        from threadline.agent.acp.process import AgentProcess
        from threadline.agent.acp.terminals import Terminals

        terminals = Terminals(timeout=self.limits.shell_timeout, output_cap=self.limits.output_cap)
        return AgentProcess(config, session_id, workspace, ThreadlineClient(workspace, terminals))

    async def acquire(self, config: AgentConfig, session_id: str, workspace: Path) -> AgentProcess:
        """The session's agent process, started (and initialized) if it is not running; marked busy."""
        if self.closed:
            raise ProviderError("connection", "the server is shutting down", hint="Send the message again later.")
        key = (config.name, session_id)
        proc = self._procs.get(key)
        if proc is not None and proc.busy:
            raise ProviderError("error", f"{proc.label} is still busy with this session's previous turn",
                                hint="Wait a moment and send the message again.")
        if proc is not None and await self._reusable(proc, config, workspace):
            proc.busy = True
            return proc
        if proc is not None:
            self._procs.pop(key, None)
            await proc.stop()
        async with self._lock:
            await self._make_room()
            proc = self._procs[key] = self.new_process(config, session_id, workspace)
            proc.busy = True
        try:
            await proc.start(config.environment(self.base_env()), self.limits.request_timeout)
        except BaseException:
            self._procs.pop(key, None)
            await asyncio.shield(proc.stop())
            raise
        self._start_reaper()
        return proc

    async def _reusable(self, proc: AgentProcess, config: AgentConfig, workspace: Path) -> bool:
        if not proc.alive or proc.retired or proc.config != config or proc.workspace != workspace:
            return False
        if proc.unfinished is not None and not proc.unfinished.done():
            await asyncio.wait([proc.unfinished], timeout=CANCEL_GRACE)
        if proc.unfinished is not None and not proc.unfinished.done():
            log.warning("%s did not end its cancelled turn; starting it anew", proc.label)
            return False
        proc.unfinished = None
        return proc.alive

    async def _make_room(self) -> None:
        live = [p for p in self._procs.values()]
        if len(live) < self.limits.max_processes:
            return
        idle = sorted((p for p in live if not p.busy), key=lambda p: p.last_used)
        if not idle:
            raise ProviderError(
                "rate_limit", f"{len(live)} agent processes are running, the most allowed at once",
                hint="Wait for another session's turn to end, or raise THREADLINE_ACP_MAX_PROCESSES.")
        oldest = idle[0]
        self._procs.pop((oldest.config.name, oldest.session_id), None)
        await oldest.stop()

    async def release(self, proc: AgentProcess, *, keep: bool) -> None:
        """The turn is over; keep the process for the session's next turn, or stop it now."""
        proc.busy = False
        proc.last_used = time.monotonic()
        if keep and proc.alive and not proc.retired and not self.closed:
            return
        self._forget(proc)
        await asyncio.shield(proc.stop())

    def _forget(self, proc: AgentProcess) -> None:
        key = (proc.config.name, proc.session_id)
        if self._procs.get(key) is proc:
            del self._procs[key]

    async def retire(self, name: str) -> None:
        """The agent ``name`` was changed or removed: stop its processes, each when its turn ends."""
        for proc in [p for p in self._procs.values() if p.config.name == name]:
            proc.retired = True
            if not proc.busy:
                self._forget(proc)
                await proc.stop()

    async def probe(self, config: AgentConfig, cwd: Path) -> dict[str, Any]:
        """Start the agent, run ``initialize`` and stop it: what it says about itself."""
        proc = self.new_process(config, "", cwd)
        try:
            await proc.start(config.environment(self.base_env()), self.limits.request_timeout)
            info = proc.info
            assert info is not None
        finally:
            await asyncio.shield(proc.stop())
        caps = info.agent_capabilities
        prompt = caps.prompt_capabilities if caps is not None else None
        agent = info.agent_info
        return {
            "protocol_version": info.protocol_version,
            "agent": {"name": agent.name, "title": agent.title, "version": agent.version} if agent else None,
            "load_session": bool(caps and caps.load_session),
            "prompt": {"image": bool(prompt and prompt.image), "audio": bool(prompt and prompt.audio),
                       "embedded_context": bool(prompt and prompt.embedded_context)},
            "auth_methods": [m.id for m in info.auth_methods or [] if getattr(m, "id", None)],
        }

    def _start_reaper(self) -> None:
        if self._reaper is None or self._reaper.done():
            self._reaper = asyncio.create_task(self._reap(), name="acp-idle-reaper")

    async def _reap(self) -> None:
        interval = max(0.05, min(self.limits.idle_seconds / 4, 30.0))
        while self._procs:
            await asyncio.sleep(interval)
            now = time.monotonic()
            for proc in list(self._procs.values()):
                if not proc.busy and (now - proc.last_used >= self.limits.idle_seconds or not proc.alive):
                    self._forget(proc)
                    await proc.stop()

    async def close(self) -> None:
        """Stop every agent process (shutdown)."""
        self.closed = True
        if self._reaper is not None:
            self._reaper.cancel()
            await asyncio.wait([self._reaper])
        procs, self._procs = list(self._procs.values()), {}
        await asyncio.gather(*(proc.stop() for proc in procs), return_exceptions=True)
