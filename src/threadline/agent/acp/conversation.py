"""A turn on an ACP agent: the session's process, the agent's own session, the prompt.

Imported on first use (``runtime.engine``), as it loads the ACP SDK. The agent's session for a turn:

- the process already holds it (the fingerprint of the user messages it was sent still matches): go on;
- the session stored an ACP session id (``RunSink.save_state``, kept with the session), the history
  still matches, and the agent advertises ``loadSession``: ``session/load``, so a conversation goes on
  across restarts of Threadline or of the agent;
- else ``session/new``, and the first prompt carries the earlier conversation as context.

Chat sessions keep their process for the next turn; btw and background runs stop theirs at the end.
Any failure stops the process, so the next turn starts clean.
"""

from __future__ import annotations

import asyncio
import logging

from threadline.agent.acp.config import AgentConfig
from threadline.agent.acp.process import AgentProcess
from threadline.agent.acp.processes import AgentProcesses
from threadline.agent.acp.prompt import fingerprint, prompt_blocks
from threadline.agent.acp.turn import Turn
from threadline.agent.events import ProviderError
from threadline.agent.runtime import RunContext, RunSink, RuntimeResult
from threadline.workspace import pool

log = logging.getLogger("threadline.acp")


async def run_turn(config: AgentConfig, processes: AgentProcesses, ctx: RunContext, sink: RunSink) -> RuntimeResult:
    proc = await processes.acquire(config, ctx.session_id, ctx.workspace)
    keep = ctx.kind == "chat"
    try:
        session_id, fresh = await _session(proc, processes, ctx, sink)
        capabilities = proc.info.agent_capabilities if proc.info else None
        blocks = await pool.run(
            prompt_blocks, ctx.history, proc.client.jail,
            capabilities.prompt_capabilities if capabilities else None, with_context=fresh,
        )
        limits = processes.limits
        return await Turn(proc, sink, silence=limits.silence, output_cap=limits.output_cap).run(session_id, blocks)
    except asyncio.CancelledError:
        raise
    except BaseException:
        keep = False
        raise
    finally:
        await processes.release(proc, keep=keep)


async def _session(proc: AgentProcess, processes: AgentProcesses, ctx: RunContext, sink: RunSink) -> tuple[str, bool]:
    """The ACP session for this turn, and whether it is new (its prompt then carries the history)."""
    earlier = fingerprint(ctx.history[:-1])
    if proc.acp_session_id is not None and proc.seen == earlier:
        session_id, fresh = proc.acp_session_id, False
    else:
        loaded = await _load(proc, processes, ctx, earlier)
        session_id, fresh = (loaded, False) if loaded else (await _new(proc, processes, ctx), True)
    proc.acp_session_id = proc.client.session_id = session_id
    proc.seen = fingerprint(ctx.history)
    await sink.save_state({"session_id": session_id, "seen": proc.seen})
    return session_id, fresh

async def _load(proc: AgentProcess, processes: AgentProcesses, ctx: RunContext, earlier: str) -> str | None:
    stored = ctx.state.get("session_id")
    caps = proc.info.agent_capabilities if proc.info else None
    if not isinstance(stored, str) or ctx.state.get("seen") != earlier or not (caps and caps.load_session):
        return None
    assert proc.conn is not None
    empty = proc.watch.empty_loads
    try:
        await proc.request("session/load", proc.conn.load_session(cwd=str(ctx.workspace), session_id=stored),
                           processes.limits.request_timeout)
    except ProviderError as exc:
        if not proc.alive:
            raise
        log.info("%s could not load session %s (%s); starting a new one", proc.label, stored, exc.message)
        return None
    if proc.watch.empty_loads > empty:
        log.info("%s no longer knows session %s; starting a new one", proc.label, stored)
        return None
    return stored

async def _new(proc: AgentProcess, processes: AgentProcesses, ctx: RunContext) -> str:
    assert proc.conn is not None
    response = await proc.request("session/new", proc.conn.new_session(cwd=str(ctx.workspace)),
                                  processes.limits.request_timeout)
    return str(response.session_id)
