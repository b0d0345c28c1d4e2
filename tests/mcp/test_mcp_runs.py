"""MCP tools in real runs (issue 14, item 1): a stdio server and a Streamable HTTP server written with
the ``mcp`` SDK, called by the scripted LLM through the real app; results stored and shown; a killed
server restarted; ``deny`` refusing; ``ask`` going through the run's approval card; a broken server
shown as broken while runs go on."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
import pytest

from tests.llm_server import ScriptedLLM, Turn
from tests.mcp.conftest import (
    add_server,
    new_session,
    offered_tools,
    run_turn,
    stdio_server,
    tool_results,
    wait_idle,
    wait_status,
)
from tests.runs.conftest import read_events

pytestmark = pytest.mark.slow


async def test_tools_of_a_stdio_and_an_http_server_run_and_are_stored(
    api: httpx.AsyncClient, llm: ScriptedLLM, http_mcp: str
) -> None:
    local = await add_server(api, stdio_server("local"))
    remote = await add_server(api, {"name": "remote", "url": http_mcp})
    assert local["transport"] == "stdio" and local["tool_count"] == 8 and local["error"] is None
    assert remote["transport"] == "http" and remote["tool_count"] == 8

    tools = {t["name"]: t for t in (await api.get("/api/mcp/tools")).json()["tools"]}
    assert {"local__add", "local__note", "remote__add", "remote__picture"} <= set(tools)
    add = tools["local__add"]
    assert add["server"] == "local" and add["tool"] == "add" and add["read_only"] is True
    assert add["policy"] == "allow"  # read-only: allowed by default
    assert add["input_schema"]["required"] == ["a", "b"] and add["description"] == "Add two integers."
    assert tools["local__note"]["policy"] == "ask"  # not read-only: asked by default

    llm.script(
        Turn(tool_calls=[("local__add", {"a": 2, "b": 3})]),
        Turn(tool_calls=[("remote__add", {"a": 40, "b": 2}), ("remote__picture", {})]),
        Turn(text="Both servers answered."),
    )
    sid = await new_session(api)
    frames = await run_turn(api, sid, "use the MCP tools")
    assert frames[-1][1] == "stream_end"
    results = tool_results(frames)
    assert results["local__add"]["result"] == "5" and not results["local__add"]["is_error"]
    assert results["remote__add"]["result"] == "42"
    assert "a picture:" in results["remote__picture"]["result"]
    assert "[image: image/png, 2.0 KB; not shown to the model]" in results["remote__picture"]["result"]
    assert {"local__add", "remote__add", "read_file"} <= set(offered_tools(llm))

    session = await wait_idle(api, sid)
    stored = [m for m in session["messages"] if m["role"] == "tool"]
    assert [m["content"] for m in stored][:2] == ["5", "42"]
    calls = [c for m in session["messages"] if m["role"] == "assistant" for c in m.get("tool_calls") or []]
    assert [c["name"] for c in calls] == ["local__add", "remote__add", "remote__picture"]
    # The model saw the results on its next call.
    last = llm.requests[-1]["messages"]
    assert any(m.get("role") == "tool" and m.get("content") == "42" for m in last)


async def test_a_killed_server_is_restarted_and_the_next_call_works(api: httpx.AsyncClient, llm: ScriptedLLM) -> None:
    await add_server(api, stdio_server("local"))
    llm.script(Turn(tool_calls=[("local__pid", {})]), Turn(text="ok"))
    sid = await new_session(api)
    first = int(tool_results(await run_turn(api, sid, "pid?"))["local__pid"]["result"])
    await wait_idle(api, sid)

    os.kill(first, signal.SIGKILL)
    broken = await wait_status(api, "local", "broken", timeout=20)
    assert "closed the connection" in broken["error"]

    llm.script(Turn(tool_calls=[("local__pid", {}), ("local__add", {"a": 1, "b": 1})]), Turn(text="ok"))
    results = tool_results(await run_turn(api, sid, "again"))
    second = int(results["local__pid"]["result"])
    assert second != first and results["local__add"]["result"] == "2"
    assert (await wait_status(api, "local", "connected"))["error"] is None


async def test_a_server_killed_during_a_run_is_restarted_for_the_next_call(
    api: httpx.AsyncClient, llm: ScriptedLLM
) -> None:
    """The server dies while a run uses it (during a slow call, or just before it): that call gets a
    clear error or a new process, and the run's next call a new process."""
    await add_server(api, stdio_server("local"))
    llm.script(
        Turn(tool_calls=[("local__pid", {})]),
        Turn(tool_calls=[("local__sleep", {"seconds": 3})]),
        Turn(tool_calls=[("local__pid", {})]),
        Turn(text="ok"),
    )
    sid = await new_session(api)
    r = await api.post("/api/chat/start", json={"session_id": sid, "message": "go"})
    stream_id = r.json()["stream_id"]
    first_frames = await read_events(api, stream_id, until={"tool_complete"})
    first = int(first_frames[-1][2]["result"])
    os.kill(first, signal.SIGKILL)
    rest = await read_events(api, stream_id, after=first_frames[-1][0])
    assert rest[-1][1] == "stream_end"
    sleep, pid = [f[2] for f in rest if f[1] == "tool_complete"]
    assert sleep["result"] == "awake" or (sleep["is_error"] and "lost during the call" in sleep["result"]), sleep
    assert int(pid["result"]) != first


async def test_deny_refuses_and_the_tool_does_not_run(api: httpx.AsyncClient, llm: ScriptedLLM, home: Path) -> None:
    await add_server(api, stdio_server("local"))
    r = await api.post("/api/mcp/tools/policy", json={"server": "local", "tool": "note", "policy": "deny"})
    assert r.status_code == 200 and r.json()["policy"] == "deny", r.text
    tools = {t["name"]: t for t in (await api.get("/api/mcp/tools")).json()["tools"]}
    assert tools["local__note"]["policy"] == "deny" and tools["local__note"]["default_policy"] == "ask"

    llm.script(Turn(tool_calls=[("local__note", {"text": "should not be written"})]), Turn(text="ok"))
    sid = await new_session(api)
    frames = await run_turn(api, sid, "note it")
    assert "approval" not in [f[1] for f in frames]
    result = tool_results(frames)["local__note"]
    assert result["is_error"] and "refused" in result["result"] and "'deny'" in result["result"]
    assert not (home / "notes.txt").exists()
    stored = [m for m in (await wait_idle(api, sid))["messages"] if m["role"] == "tool"]
    assert "refused" in stored[0]["content"]


async def test_ask_goes_through_the_approval_card(api: httpx.AsyncClient, llm: ScriptedLLM, home: Path) -> None:
    await add_server(api, stdio_server("local"))
    llm.script(Turn(tool_calls=[("local__note", {"text": "approved line"})]), Turn(text="ok"))
    sid = await new_session(api)
    r = await api.post("/api/chat/start", json={"session_id": sid, "message": "note it"})
    stream_id = r.json()["stream_id"]
    frames = await read_events(api, stream_id, until={"approval"})
    approval = frames[-1][2]
    assert approval["tool"] == "local__note" and "note" in approval["description"]
    pending = (await api.get("/api/approval/pending", params={"session_id": sid})).json()
    assert pending["pending"]["approval_id"] == approval["approval_id"]
    assert not (home / "notes.txt").exists()  # nothing ran before the answer
    answer = await api.post("/api/approval/respond",
                            json={"session_id": sid, "choice": "once", "approval_id": approval["approval_id"]})
    assert answer.json()["matched"] is True
    rest = await read_events(api, stream_id, after=frames[-1][0])
    assert tool_results(rest)["local__note"]["result"] == "noted: approved line"
    assert (home / "notes.txt").read_text() == "approved line\n"

    # Denied: the tool does not run.
    llm.script(Turn(tool_calls=[("local__note", {"text": "denied line"})]), Turn(text="ok"))
    await wait_idle(api, sid)
    r = await api.post("/api/chat/start", json={"session_id": sid, "message": "again"})
    frames = await read_events(api, r.json()["stream_id"], until={"approval"})
    await api.post("/api/approval/respond", json={"session_id": sid, "choice": "deny"})
    rest = await read_events(api, r.json()["stream_id"], after=frames[-1][0])
    assert tool_results(rest)["local__note"]["is_error"]
    assert (home / "notes.txt").read_text() == "approved line\n"


async def test_always_covers_that_one_tool(api: httpx.AsyncClient, llm: ScriptedLLM, home: Path) -> None:
    await add_server(api, stdio_server("local"))
    llm.script(Turn(tool_calls=[("local__note", {"text": "first"})]), Turn(text="ok"))
    sid = await new_session(api)
    r = await api.post("/api/chat/start", json={"session_id": sid, "message": "note"})
    frames = await read_events(api, r.json()["stream_id"], until={"approval"})
    approval = frames[-1][2]
    assert approval["pattern_keys"] == ["local__note:*"] and "every call of local__note" in approval["covers_text"]
    await api.post("/api/approval/respond", json={"session_id": sid, "choice": "always"})
    await read_events(api, r.json()["stream_id"], after=frames[-1][0])
    await wait_idle(api, sid)
    standing = (await api.get("/api/approvals")).json()["approvals"]
    assert {"tool": "local__note", "pattern": "*"} in [{k: a[k] for k in ("tool", "pattern")} for a in standing]

    # Another chat, other arguments: runs unasked. Another tool of the same server still asks.
    llm.script(Turn(tool_calls=[("local__note", {"text": "second"})]), Turn(text="ok"))
    frames = await run_turn(api, await new_session(api), "note again")
    assert "approval" not in [f[1] for f in frames]
    assert tool_results(frames)["local__note"]["result"] == "noted: second"
    await api.post("/api/mcp/tools/policy", json={"server": "local", "tool": "add", "policy": "ask"})
    llm.script(Turn(tool_calls=[("local__add", {"a": 1, "b": 1})]), Turn(text="ok"))
    sid = await new_session(api)
    r = await api.post("/api/chat/start", json={"session_id": sid, "message": "add"})
    frames = await read_events(api, r.json()["stream_id"], until={"approval"})
    assert frames[-1][2]["tool"] == "local__add"
    await api.post("/api/approval/respond", json={"session_id": sid, "choice": "deny"})


async def test_a_broken_server_is_listed_as_broken_and_runs_go_on(api: httpx.AsyncClient, llm: ScriptedLLM) -> None:
    await add_server(api, stdio_server("local"))
    broken = await add_server(api, {"name": "ghost", "command": "/nonexistent/mcp-server", "args": ["--x"]},
                              status="broken")
    assert "not found" in broken["error"] and broken["tool_count"] == 0
    crashing = await add_server(api, {"name": "crash", "command": "/bin/sh", "args": ["-c", "echo boom >&2; exit 3"]},
                                status="broken")
    assert "boom" in crashing["error"]  # the server's stderr is shown

    llm.script(Turn(tool_calls=[("local__add", {"a": 1, "b": 2}), ("ghost__anything", {})]), Turn(text="fine"))
    sid = await new_session(api)
    frames = await run_turn(api, sid, "go")
    assert frames[-1][1] == "stream_end"
    results = tool_results(frames)
    assert results["local__add"]["result"] == "3"
    assert results["ghost__anything"]["is_error"] and "unknown tool" in results["ghost__anything"]["result"]
    offered = offered_tools(llm)
    assert "local__add" in offered and not any(name.startswith(("ghost__", "crash__")) for name in offered)
    tool_servers = {t["server"] for t in (await api.get("/api/mcp/tools")).json()["tools"]}
    assert tool_servers == {"local"}


async def test_a_tool_error_and_a_disabled_server(api: httpx.AsyncClient, llm: ScriptedLLM) -> None:
    await add_server(api, stdio_server("local"))
    llm.script(Turn(tool_calls=[("local__broken", {})]), Turn(text="ok"))
    await api.post("/api/mcp/tools/policy", json={"server": "local", "tool": "broken", "policy": "allow"})
    sid = await new_session(api)
    result = tool_results(await run_turn(api, sid, "x"))["local__broken"]
    assert result["is_error"] and "broken on purpose" in result["result"]
    await wait_idle(api, sid)

    r = await api.post("/api/mcp/servers", json={"name": "local", "enabled": False})
    assert r.json()["server"]["status"] == "disabled"
    llm.script(Turn(text="no tools"))
    await run_turn(api, sid, "y")
    assert not any(name.startswith("local__") for name in offered_tools(llm))
    assert (await api.get("/api/mcp/tools")).json()["tools"] == []
