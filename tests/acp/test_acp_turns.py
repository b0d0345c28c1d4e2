"""Turns on an ACP agent (the scripted agent, a real subprocess over stdio) keep every promise of a
built-in run: the same events, the same stored rows, replay, approvals, the workspace jail."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.acp.conftest import (
    Started,
    answer_approval,
    calls,
    new_session,
    read_events,
    register,
    start,
    text_of,
    turn,
    wait_idle,
)


async def test_streamed_text_reasoning_plan_and_usage(chat: httpx.AsyncClient, agent: str) -> None:
    sid = await new_session(chat)
    stream_id, frames = await turn(chat, sid, "hello there")
    names = [f[1] for f in frames]
    assert names[:3] == ["reasoning", "plan", "token"], names
    assert frames[0][2]["text"] == "The user greets me."
    assert frames[1][2]["entries"] == [
        {"content": "Greet the user", "priority": "high", "status": "in_progress"},
        {"content": "Offer help", "priority": "low", "status": "pending"}]
    assert [f[2]["text"] for f in frames if f[1] == "token"] == ["Hello ", "from ", "the agent."]
    assert names[-1] == "stream_end" and "done" in names
    session = await wait_idle(chat, sid)
    assert session["runtime"] == agent
    assert [(m["role"], m["content"]) for m in session["messages"]] == [
        ("user", "hello there"), ("assistant", "Hello from the agent.")]
    assert session["messages"][1]["reasoning"] == "The user greets me."
    assert session["messages"][1]["plan"]["entries"][0]["content"] == "Greet the user"  # kept for a reload
    assert (session["input_tokens"], session["output_tokens"]) == (21, 9)
    # Replay from any point gives exactly the events after it, in order, once.
    for cut in (0, 2, len(frames) - 2):
        rest = await read_events(chat, stream_id, after=frames[cut][0])
        assert [(f[0], f[1]) for f in rest] == [(f[0], f[1]) for f in frames[cut + 1:]]


async def test_tool_calls_with_updates_are_events_and_rows(chat: httpx.AsyncClient, agent: str,
                                                           home: Path) -> None:
    (home / "workspace" / "notes.txt").write_text("buy milk\n")
    sid = await new_session(chat)
    _, frames = await turn(chat, sid, "tool")
    tools = [(f[1], f[2]["name"], f[2]["tool_call_id"]) for f in frames if f[1] in ("tool", "tool_complete")]
    assert tools == [("tool", "Read notes.txt", "call-read"), ("tool_complete", "Read notes.txt", "call-read"),
                     ("tool", "Edit notes.txt", "call-edit"), ("tool_complete", "Edit notes.txt", "call-edit")]
    read, edit = [f[2] for f in frames if f[1] == "tool_complete"]
    assert read["result"] == "buy milk\n" and read["is_error"] is False
    assert read["args"] == {"path": "notes.txt"}
    assert "-buy milk\n+BUY MILK" in edit["result"] and "+++ b/" in edit["result"] and "notes.txt" in edit["result"]
    assert text_of(frames) == "Let me look.Done."
    session = await wait_idle(chat, sid)
    rows = [(m["role"], m["content"], [c["id"] for c in m.get("tool_calls") or []], m.get("tool_call_id"))
            for m in session["messages"]]
    assert rows[:3] == [("user", "tool", [], None), ("assistant", "Let me look.", ["call-read"], None),
                        ("tool", "buy milk\n", [], "call-read")]
    assert rows[3][:3] == ("assistant", "", ["call-edit"]) and rows[4][3] == "call-edit"
    assert "+BUY MILK" in rows[4][1]
    assert rows[5] == ("assistant", "Done.", [], None)


async def test_a_result_reported_after_more_text_is_stored_before_that_text(chat: httpx.AsyncClient,
                                                                            agent: str) -> None:
    """The agent's text after a call is checkpointed before the agent reports the call's end; the
    stored turn still reads call, result, text (a model's history needs a result right after its call)."""
    sid = await new_session(chat)
    _, frames = await turn(chat, sid, "late")
    assert text_of(frames) == "It is raining."
    session = await wait_idle(chat, sid)
    rows = [(m["role"], m["content"], m.get("tool_call_id"), m["seq"]) for m in session["messages"]]
    assert rows == [("user", "late", None, 0), ("assistant", "", None, 1), ("tool", "rain", "call-late", 2),
                    ("assistant", "It is raining.", None, 3)]
    assert all(m["status"] == "complete" for m in session["messages"])


async def test_permission_requests_answered_once_always_and_deny(chat: httpx.AsyncClient, agent: str,
                                                                 agent_state: Path) -> None:
    sid = await new_session(chat)

    async def ask(choice: str | None) -> tuple[str, list[str]]:
        stream_id = await start(chat, sid, "permission")
        if choice is not None:
            pending = await answer_approval(chat, sid, choice)
            assert pending["pending"]["tool"] == f"{agent}.execute"
            assert pending["pending"]["command"] == "make deploy"
            assert "Run make deploy" in pending["pending"]["description"]
        frames = await read_events(chat, stream_id)
        await wait_idle(chat, sid)
        return text_of(frames), [f[1] for f in frames]

    text, names = await ask("once")
    assert text == "permission: yes" and "approval" in names
    text, names = await ask("deny")
    assert text == "permission: no"
    text, names = await ask("always")
    assert text == "permission: yes"
    # "Always" is Threadline's: the next request of this kind is allowed without asking.
    text, names = await ask(None)
    assert text == "permission: yes" and "approval" not in names
    session = (await chat.get("/api/session", params={"session_id": sid})).json()["session"]
    results = [m["content"] for m in session["messages"] if m["role"] == "tool"]
    assert results == ["deployed", "not allowed", "deployed", "deployed"]
    assert len([line for line in calls(agent_state) if line.startswith("initialize")]) == 1  # one process


async def test_fs_writes_inside_the_workspace_only(chat: httpx.AsyncClient, agent: str, home: Path,
                                                   tmp_path: Path) -> None:
    sid = await new_session(chat)
    inside = home / "workspace" / "sub" / "out.txt"
    _, frames = await turn(chat, sid, f"write {inside}")
    assert text_of(frames) == f"wrote {inside}"
    assert inside.read_text() == "written by the agent\n"
    outside = tmp_path / "outside.txt"
    _, frames = await turn(chat, sid, f"write {outside}")
    said = text_of(frames)
    assert said.startswith("refused: ") and "outside the workspace" in said and str(home / "workspace") in said
    assert not outside.exists()
    escape = home / "workspace" / ".." / "escaped.txt"
    _, frames = await turn(chat, sid, f"write {escape}")
    assert text_of(frames).startswith("refused: ") and not (home / "escaped.txt").exists()


async def test_terminals_run_after_the_shell_approval(chat: httpx.AsyncClient, agent: str) -> None:
    sid = await new_session(chat)
    stream_id = await start(chat, sid, "terminal echo hi from a terminal")
    pending = await answer_approval(chat, sid, "once")
    assert pending["pending"]["tool"] == "run_shell"
    assert pending["pending"]["command"] == "echo hi from a terminal"
    frames = await read_events(chat, stream_id)
    assert text_of(frames) == "output: hi from a terminal (exit 0)"
    complete = next(f[2] for f in frames if f[1] == "tool_complete")
    assert complete["result"] == "hi from a terminal\n"
    await wait_idle(chat, sid)
    stream_id = await start(chat, sid, "terminal touch made-by-terminal")
    await answer_approval(chat, sid, "deny")
    frames = await read_events(chat, stream_id)
    assert text_of(frames).startswith("terminal refused: ")


async def test_a_permission_nobody_answers_is_cancelled(start_app: Started, agent_state: Path) -> None:
    async with start_app(approval_timeout_seconds=0.5) as (_app, client):
        await register(client, agent_state)
        sid = await new_session(client)
        _, frames = await turn(client, sid, "permission")
        assert "approval" in [f[1] for f in frames]
        assert text_of(frames) == "permission: cancelled"


async def test_attachments_are_sent_as_the_agent_accepts_them(chat: httpx.AsyncClient, agent: str, home: Path,
                                                              agent_state: Path) -> None:
    workspace = home / "workspace"
    (workspace / "pixel.png").write_bytes(PNG)
    (workspace / "notes.md").write_text("# Notes\n")
    (workspace / "data.bin").write_bytes(b"\x00\x01" * 10)
    sid = await new_session(chat)
    await turn(chat, sid, "look", attachments=["pixel.png", "notes.md", "data.bin", "../escape.txt"])
    prompt = next(line for line in calls(agent_state) if line.startswith("prompt "))
    # An image, embedded text, and a link for the binary file; a path out of the workspace is left out.
    assert "blocks=text,image,resource,resource_link " in prompt


PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002"
    "000154a24f5d0000000049454e44ae426082"
)
