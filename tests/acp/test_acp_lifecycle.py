"""ACP agent processes: cancel, a crash, a hang, a restart of Threadline between turns, the idle stop,
the cap, and shutdown. Each leaves the session free and its conversation able to go on."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx
from fastapi import FastAPI

from tests.acp.conftest import (
    Started,
    calls,
    new_session,
    read_events,
    register,
    start,
    text_of,
    turn,
    wait_idle,
)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def wait_for(condition: object, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.05)


async def test_cancel_mid_stream_sends_session_cancel_and_keeps_the_partial_text(
    chat: httpx.AsyncClient, agent: str, agent_state: Path,
) -> None:
    sid = await new_session(chat)
    stream_id = await start(chat, sid, "slow")
    await read_events(chat, stream_id, until={"token"})
    r = await chat.post("/api/chat/cancel", json={"stream_id": stream_id})
    assert r.json()["cancelled"] is True
    frames = await read_events(chat, stream_id)
    assert frames[-1][1] == "cancel"
    session = await wait_idle(chat, sid)
    assert [(m["role"], m["content"], m.get("_partial")) for m in session["messages"][:2]] == [
        ("user", "slow", None), ("assistant", "working", True)]
    await wait_for(lambda: any(line.startswith("cancel ") for line in calls(agent_state)))
    # The same agent process takes the next turn, in the same ACP session.
    _, frames = await turn(chat, sid, "recall")
    assert text_of(frames) == "before: slow; context: False"
    assert len([line for line in calls(agent_state) if line.startswith("initialize")]) == 1


async def test_an_agent_that_crashes_mid_turn_ends_the_run_with_a_clear_error(
    chat: httpx.AsyncClient, agent: str, agent_state: Path,
) -> None:
    sid = await new_session(chat)
    _, frames = await turn(chat, sid, "crash")
    assert text_of(frames) == "about to crash"
    error = frames[-1]
    assert error[1] == "apperror"
    assert "exited with code 3" in error[2]["message"] and "scripted" in error[2]["message"]
    assert "boom: the scripted agent crashed on purpose" in error[2]["hint"]
    session = await wait_idle(chat, sid)
    assert session["active_stream_id"] is None
    assert [m["content"] for m in session["messages"]][:2] == ["crash", "about to crash"]
    # The next turn starts the agent anew and goes on with the same ACP session.
    _, frames = await turn(chat, sid, "recall")
    assert text_of(frames) == "before: crash; context: False"
    assert [line.split()[0] for line in calls(agent_state)].count("load") == 1


async def test_a_silent_agent_is_stopped_and_the_run_fails(start_app: Started, agent_state: Path) -> None:
    async with start_app(acp_silence_seconds=1.5) as (app, client):
        await register(client, agent_state)
        sid = await new_session(client)
        _, frames = await turn(client, sid, "hang")
        assert text_of(frames) == "thinking"
        assert frames[-1][1] == "apperror"
        assert "sent nothing for 1.5 s" in frames[-1][2]["message"]
        await wait_idle(client, sid)
        assert app.state.services.agents.processes.live() == []
        _, frames = await turn(client, sid, "hello")
        assert text_of(frames) == "Hello from the agent."


async def test_a_restart_of_threadline_between_turns_continues_the_conversation(
    start_app: Started, agent_state: Path,
) -> None:
    async with start_app() as (app, client):
        await register(client, agent_state)
        sid = await new_session(client)
        _, frames = await turn(client, sid, "remember the blue door")
        assert text_of(frames) == "echo: remember the blue door"
        pid = app.state.services.agents.processes.live()[0].proc.pid
    assert not alive(pid)  # stopped at shutdown
    async with start_app() as (app, client):
        _, frames = await turn(client, sid, "recall")
        session = await wait_idle(client, sid)
    # session/load of the stored ACP session: the agent remembers; its replay is not shown again.
    assert text_of(frames) == "before: remember the blue door; context: False"
    lines = calls(agent_state)
    created = [line.split()[1] for line in lines if line.startswith("new ")]
    assert len(created) == 1 and f"load {created[0]}" in lines
    assert all("(replayed)" not in str(m["content"]) for m in session["messages"])


async def test_a_changed_history_gets_a_new_agent_session_with_the_conversation(
    chat: httpx.AsyncClient, agent: str, agent_state: Path,
) -> None:
    sid = await new_session(chat)
    await turn(chat, sid, "first")
    await turn(chat, sid, "second")
    r = await chat.post("/api/session/undo", json={"session_id": sid})
    assert r.status_code == 200, r.text
    _, frames = await turn(chat, sid, "recall")
    assert text_of(frames) == "before: (nothing); context: True"
    assert len([line for line in calls(agent_state) if line.startswith("new ")]) == 2


async def test_idle_processes_stop_and_the_cap_is_kept(start_app: Started, agent_state: Path) -> None:
    async with start_app(acp_max_processes=1, acp_idle_seconds=1.0) as (app, client):
        processes = app.state.services.agents.processes
        await register(client, agent_state)
        first, second = await new_session(client), await new_session(client)
        stream_id = await start(client, first, "slow")
        await read_events(client, stream_id, until={"token"})
        # The only process is busy: a second session's turn fails with a clear error.
        _, frames = await turn(client, second, "hello")
        assert frames[-1][1] == "apperror"
        assert "the most allowed at once" in frames[-1][2]["message"]
        assert "THREADLINE_ACP_MAX_PROCESSES" in frames[-1][2]["hint"]
        await client.post("/api/chat/cancel", json={"stream_id": stream_id})
        await wait_idle(client, first)
        # Idle now: the second session takes its place.
        _, frames = await turn(client, second, "hello")
        assert text_of(frames) == "Hello from the agent."
        assert [p.session_id for p in processes.live()] == [second]
        pid = processes.live()[0].proc.pid
        await wait_for(lambda: not processes.live(), timeout=10)
        await wait_for(lambda: not alive(pid))


async def test_shutdown_stops_every_agent_process(start_app: Started, agent_state: Path) -> None:
    async with start_app() as (app, client):
        await register(client, agent_state)
        sids = [await new_session(client) for _ in range(2)]
        for sid in sids:
            await turn(client, sid, "hello")
        pids = [p.proc.pid for p in app.state.services.agents.processes.live()]
        assert len(pids) == 2 and all(alive(pid) for pid in pids)
    assert not any(alive(pid) for pid in pids)


async def test_an_agent_runs_in_the_session_workspace(acp_app: FastAPI, chat: httpx.AsyncClient, agent: str,
                                                       agent_state: Path, home: Path) -> None:
    other = home / "project"
    other.mkdir()
    r = await chat.post("/api/session/new", json={"runtime": agent, "workspace": str(other)})
    sid = r.json()["session"]["session_id"]
    await turn(chat, sid, "hello")
    assert f"cwd={other}" in "\n".join(calls(agent_state))
    assert acp_app.state.services.agents.processes.live()[0].workspace == other


async def test_cancel_kills_the_turns_terminals(chat: httpx.AsyncClient, agent: str, home: Path) -> None:
    from tests.acp.conftest import answer_approval

    sid = await new_session(chat)
    pid_file = home / "workspace" / "pid.txt"
    stream_id = await start(chat, sid, f"terminal echo $$ > {pid_file}; exec sleep 300")
    await answer_approval(chat, sid, "once")
    await wait_for(lambda: pid_file.exists() and pid_file.read_text().strip())
    pid = int(pid_file.read_text())
    assert alive(pid)
    await chat.post("/api/chat/cancel", json={"stream_id": stream_id})
    assert (await read_events(chat, stream_id))[-1][1] == "cancel"
    await wait_for(lambda: not alive(pid))
    await wait_idle(chat, sid)
