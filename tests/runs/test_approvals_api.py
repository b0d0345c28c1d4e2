"""Standing approvals in Settings (list, revoke), "needs approval" on sessions, stored approvals from
before the command-line reader, and denied calls recorded as such (issue 10 items 1 and 14)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from tests.llm_server import ScriptedLLM, Turn
from tests.runs.conftest import read_events, wait_idle
from threadline.agent.tools.base import ApprovalScope, Tool, ToolContext, ToolResult
from threadline.store import tables as t
from threadline.workspace.jail import Jail


async def new_session(client: httpx.AsyncClient) -> str:
    return str((await client.post("/api/session/new", json={})).json()["session"]["session_id"])


async def shell_turn(client: httpx.AsyncClient, llm: ScriptedLLM, sid: str, command: str,
                     answer: str | None = None) -> list[str]:
    """Run ``command`` in a turn; answer its approval (if asked) with ``answer``. The event names."""
    llm.script(Turn(tool_calls=[("run_shell", {"command": command})]), Turn(text="done"))
    stream = (await client.post("/api/chat/start", json={"session_id": sid, "message": "go"})).json()["stream_id"]
    frames = await read_events(client, stream, until={"approval", "stream_end"})
    if frames[-1][1] == "approval":
        assert answer is not None, f"{command!r} was asked"
        await client.post("/api/approval/respond", json={"session_id": sid, "choice": answer})
        frames += await read_events(client, stream, after=frames[-1][0])
    await wait_idle(client, sid)
    return [f[1] for f in frames]


async def approvals(client: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    r = await client.get("/api/approvals", params=params)
    assert r.status_code == 200, r.text
    return list(r.json()["approvals"])


async def test_settings_lists_and_revokes_standing_approvals(chat: httpx.AsyncClient, llm: ScriptedLLM) -> None:
    sid = await new_session(chat)
    await shell_turn(chat, llm, sid, "ls | grep x", "always")
    await shell_turn(chat, llm, sid, "echo hi", "session")
    always = await approvals(chat)
    assert [(a["tool"], a["pattern"], a["scope"]) for a in always] == [("run_shell", "grep", "always"),
                                                                      ("run_shell", "ls", "always")]
    assert all(isinstance(a["created_at"], float) for a in always)
    listed = await approvals(chat, session_id=sid)
    assert listed[2:] == [{"tool": "run_shell", "pattern": "echo", "scope": "session", "session_id": sid,
                           "created_at": None}]
    other = await new_session(chat)  # a draft: known, with no approvals of its own
    assert await approvals(chat, session_id=other) == always

    r = await chat.post("/api/approvals/revoke", json={"tool": "run_shell", "pattern": "grep"})
    assert r.status_code == 200 and r.json()["revoked"] == {"tool": "run_shell", "pattern": "grep", "scope": "always"}
    assert [a["pattern"] for a in await approvals(chat)] == ["ls"]
    assert "approval" in await shell_turn(chat, llm, sid, "ls | grep x", "deny")  # asked again
    assert "approval" not in await shell_turn(chat, llm, sid, "ls -la")
    r = await chat.post("/api/approvals/revoke", json={"tool": "run_shell", "pattern": "echo", "session_id": sid})
    assert r.status_code == 200 and r.json()["revoked"]["scope"] == "session"
    assert [a["scope"] for a in await approvals(chat, session_id=sid)] == ["always"]
    assert "approval" in await shell_turn(chat, llm, sid, "echo hi", "deny")


async def test_revoke_refuses_bad_input_and_unknown_approvals(chat: httpx.AsyncClient, llm: ScriptedLLM) -> None:
    sid = await new_session(chat)
    await shell_turn(chat, llm, sid, "ls", "always")
    for body in ({}, {"tool": "run_shell"}, {"pattern": "ls"}, {"tool": "", "pattern": "ls"},
                 {"tool": "run_shell", "pattern": " "}, {"tool": 3, "pattern": "ls"},
                 {"tool": "run_shell", "pattern": []}, {"tool": "x" * 65, "pattern": "ls"},
                 {"tool": "run_shell", "pattern": "ls", "session_id": 5}):
        r = await chat.post("/api/approvals/revoke", json=body)
        assert r.status_code == 400 and r.json()["error"], body
    for raw in (b'{"tool": "run_shell", "pattern": "\\ud800"}',  # lone surrogates
                b'{"tool": "run_shell", "pattern": "ls", "session_id": "\\udfff"}'):
        r = await chat.post("/api/approvals/revoke", content=raw, headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and r.json()["error"], raw
    for body in ({"tool": "run_shell", "pattern": "rm"}, {"tool": "write_file", "pattern": "ls"},
                 {"tool": "run_shell", "pattern": "ls", "session_id": sid},
                 {"tool": "run_shell", "pattern": "ls", "session_id": "0123456789ab"}):
        r = await chat.post("/api/approvals/revoke", json=body)
        assert r.status_code == 404 and r.json()["error"], body
    assert (await chat.get("/api/approvals", params={"session_id": "0123456789ab"})).status_code == 404
    assert [a["pattern"] for a in await approvals(chat)] == ["ls"]  # nothing changed


async def test_a_session_waiting_for_approval_says_so(chat: httpx.AsyncClient, llm: ScriptedLLM) -> None:
    sid = await new_session(chat)
    llm.script(Turn(tool_calls=[("run_shell", {"command": "echo waiting"})]), Turn(text="done"))
    stream = (await chat.post("/api/chat/start", json={"session_id": sid, "message": "go"})).json()["stream_id"]
    frames = await read_events(chat, stream, until={"approval"})

    async def flags() -> tuple[bool, bool]:
        one = (await chat.get("/api/session", params={"session_id": sid, "messages": 0})).json()["session"]
        row = next(s for s in (await chat.get("/api/sessions")).json()["sessions"] if s["session_id"] == sid)
        return one["pending_approval"], row["pending_approval"]

    assert await flags() == (True, True)
    assert "pending_approval" not in (await chat.get("/api/session", params={"session_id": sid})).json()["session"].get(
        "extra", {})
    await chat.post("/api/approval/respond", json={"session_id": sid, "choice": "once"})
    await read_events(chat, stream, after=frames[-1][0])
    await wait_idle(chat, sid)
    assert await flags() == (False, False)
    draft = await new_session(chat)
    assert (await chat.get("/api/session", params={"session_id": draft})).json()["session"]["pending_approval"] is False


async def test_a_stale_waiting_mark_is_ignored(chat_app: FastAPI, chat: httpx.AsyncClient, llm: ScriptedLLM) -> None:
    """A mark left by a process that died names a run that is no longer the session's."""
    sid = await new_session(chat)
    await shell_turn(chat, llm, sid, "echo hi", "once")
    store = chat_app.state.services.sessions.store
    async with store.write() as conn:
        await conn.execute(t.sessions.update().where(t.sessions.c.id == sid).values(
            extra={"pending_approval": {"run_id": "dead", "approval_id": "x", "requested_at": 1.0}}))
    session = (await chat.get("/api/session", params={"session_id": sid, "messages": 0})).json()["session"]
    assert session["pending_approval"] is False


async def test_stored_approvals_keep_their_meaning(chat_app: FastAPI, chat: httpx.AsyncClient,
                                                   llm: ScriptedLLM) -> None:
    """Rows written by the first-word rule: ``ls`` still means the program ls; a row that names no
    program (``*`` from an empty command, ``FOO=1`` from ``FOO=1 rm``) covers nothing."""
    store = chat_app.state.services.sessions.store
    async with store.write() as conn:
        for pattern in ("ls", "*", "FOO=1", "ls;"):
            await conn.execute(t.approvals.insert().values(tool="run_shell", pattern=pattern, created_at=time.time()))
    sid = await new_session(chat)
    assert "approval" not in await shell_turn(chat, llm, sid, "ls -la")
    for command in ("touch x", "FOO=1 rm -f x", "ls; touch x"):
        assert "approval" in await shell_turn(chat, llm, sid, command, "deny")
    assert {a["pattern"] for a in await approvals(chat)} == {"ls", "*", "FOO=1", "ls;"}  # listed, so revocable


async def test_a_denied_call_is_recorded_as_denied(chat: httpx.AsyncClient, llm: ScriptedLLM) -> None:
    sid = await new_session(chat)
    names = await shell_turn(chat, llm, sid, "touch nope", "deny")
    assert "tool_complete" in names
    tool = next(m for m in (await wait_idle(chat, sid))["messages"] if m["role"] == "tool")
    assert tool["approval"] == "denied" and tool["content"] == "denied by user"


async def test_any_tool_goes_through_the_same_broker(chat_app: FastAPI, chat: httpx.AsyncClient, home: Path) -> None:
    """A tool without patterns of its own (an MCP tool, say) is covered as a whole (``*``); a call
    with no patterns at all can only be allowed once."""
    broker = chat_app.state.services.runs.approvals
    sid = await new_session(chat)
    async with chat_app.state.services.sessions.store.write() as conn:
        await chat_app.state.services.sessions.materialize(conn, sid)
    answers: list[dict[str, Any]] = []

    async def ask(scope: ApprovalScope, choice: str) -> str:
        async def announce(pending: dict[str, Any]) -> None:
            answers.append(pending)
            asyncio.get_running_loop().call_soon(
                lambda: asyncio.ensure_future(broker.respond(sid, choice, pending["approval_id"])))

        return str(await broker.request(session_id=sid, run_id="r1", tool="mcp_files_write", arguments={"path": "a"},
                                        description="write a", scope=scope, announce=announce))

    assert await ask(FakeTool().approval_scope({}, ToolContext(jail=Jail(home))), "always") == "approved"
    assert answers[-1]["covers"] == ["*"] and "every call of mcp_files_write" in answers[-1]["covers_text"]
    assert await ask(ApprovalScope(("*",)), "deny") == "approved"  # not asked: stored
    assert len(answers) == 1
    assert await ask(ApprovalScope(()), "always") == "approved"
    assert answers[-1]["covers"] is None
    assert await ask(ApprovalScope(()), "deny") == "denied"  # asked again: nothing was stored
    broker.timeout = 0.2
    assert await broker.request(session_id=sid, run_id="r1", tool="mcp_files_write", arguments={}, description="",
                                scope=ApprovalScope(()), announce=lambda pending: asyncio.sleep(0)) == "timed_out"
    assert [a["pattern"] for a in await approvals(chat)] == ["*"]


class FakeTool(Tool):
    name = "mcp_files_write"
    description = "write a file elsewhere"
    parameters: dict[str, Any] = {"type": "object"}
    dangerous = True

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        raise AssertionError("not called")
