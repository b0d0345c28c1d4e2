"""The agent loop end to end: real SDKs, real HTTP to the scripted server, real tools in a tmp workspace."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from tests.agent.conftest import RecordingSink
from tests.llm_server import ScriptedLLM, Turn
from threadline.agent import ProviderError, Usage, run_agent
from threadline.agent.loop import DENIED, AgentResult
from threadline.agent.providers.base import Provider
from threadline.agent.tools import ToolContext, default_tools
from threadline.agent.tools.base import ApprovalScope

HISTORY = [{"role": "user", "content": "please work"}]


async def run(provider: Provider, ctx: ToolContext, sink: RecordingSink, **kw: Any) -> AgentResult:
    kw.setdefault("history", HISTORY)
    return await run_agent(provider=provider, model="test-model", tools=default_tools(), ctx=ctx, sink=sink, **kw)


def last_sent(llm: ScriptedLLM) -> list[dict[str, Any]]:
    return llm.requests[-1]["messages"]


def tool_results_sent(llm: ScriptedLLM) -> list[str]:
    """The tool results the model received in the last request, in either API's format."""
    found = []
    for message in last_sent(llm):
        if message["role"] == "tool":
            found.append(message["content"])
        elif message["role"] == "user" and isinstance(message["content"], list):
            found += [b["content"] for b in message["content"] if b["type"] == "tool_result"]
    return found


async def test_final_answer_streams_through_the_sink(
    provider: Provider, llm_server: ScriptedLLM, ctx: ToolContext, sink: RecordingSink
) -> None:
    llm_server.script(Turn(text="Hello, human.", reasoning="greet", chunk=2, usage=(10, 4)))
    result = await run(provider, ctx, sink, system="You are terse.")
    assert result == AgentResult("Hello, human.", Usage(10, 4), 1, "stop", messages=result.messages)
    assert sink.text == "Hello, human." and len(sink.of("text")) == 7
    assert "".join(sink.of("reasoning")) == "greet"
    assert sink.of("usage") == [Usage(10, 4)]
    message = sink.of("assistant")[0]
    assert message["role"] == "assistant" and message["content"] == "Hello, human."
    assert message["reasoning"] == "greet" and "tool_calls" not in message
    assert result.messages == [message]
    assert HISTORY == [{"role": "user", "content": "please work"}]  # the caller's list is not modified


async def test_multi_step_tool_use(
    provider: Provider, llm_server: ScriptedLLM, ctx: ToolContext, sink: RecordingSink, workspace: Path
) -> None:
    llm_server.script(
        Turn(text="Writing.", tool_calls=[("write_file", {"path": "notes/a.txt", "content": "hello file"})]),
        Turn(tool_calls=[("read_file", {"path": "notes/a.txt"})]),
        Turn(text="The file says hello file."),
    )
    result = await run(provider, ctx, sink)
    assert (workspace / "notes" / "a.txt").read_text() == "hello file"
    assert result.final_text == "The file says hello file."
    assert result.steps == 3 and result.stopped_reason == "stop"
    assert len(llm_server.requests) == 3
    assert tool_results_sent(llm_server) == ["Wrote 10 bytes to notes/a.txt", "hello file"]
    order = [name for name, _ in sink.events if name not in ("text", "usage")]
    assert order == ["assistant", "tool_start", "tool_end", "tool_message"] * 2 + ["assistant"]
    first = sink.of("assistant")[0]
    assert first["content"] == "Writing."
    assert first["tool_calls"][0]["name"] == "write_file"
    assert first["tool_calls"][0]["arguments"] == {"path": "notes/a.txt", "content": "hello file"}
    assert sink.of("tool_message")[0]["tool_call_id"] == first["tool_calls"][0]["id"]
    assert [m["role"] for m in result.messages] == ["assistant", "tool", "assistant", "tool", "assistant"]
    _, tool_result, duration = sink.of("tool_end")[0]
    assert not tool_result.is_error and duration >= 0


async def test_tool_errors_go_back_to_the_model(
    provider: Provider, llm_server: ScriptedLLM, ctx: ToolContext, sink: RecordingSink
) -> None:
    llm_server.script(
        Turn(
            tool_calls=[
                ("read_file", {"path": "missing.txt"}),
                ("read_file", {"path": "../../etc/passwd"}),
                ("no_such_tool", {}),
                ("read_file", {"start_line": 1}),
                ("read_file", '{"path": "broken'),
            ]
        ),
        Turn(text="I could not read it."),
    )
    result = await run(provider, ctx, sink)
    assert result.final_text == "I could not read it." and result.steps == 2
    errors = tool_results_sent(llm_server)
    assert errors[0] == "read_file: no such file or directory: missing.txt"
    assert errors[1] == "read_file: path '../../etc/passwd' leaves the workspace"
    assert errors[2].startswith("unknown tool 'no_such_tool'; available tools: list_files, read_file")
    assert errors[3] == "read_file: missing required argument(s): path"
    assert errors[4].startswith("the arguments are not valid JSON")
    assert all(message["is_error"] for message in sink.of("tool_message"))


async def test_dangerous_tool_approved(
    provider: Provider, llm_server: ScriptedLLM, ctx: ToolContext, sink: RecordingSink
) -> None:
    llm_server.script(Turn(tool_calls=[("run_shell", {"command": "echo hi from shell"})]), Turn(text="done"))
    await run(provider, ctx, sink)
    assert [(call.name, description) for call, description in sink.approvals] == [("run_shell", "echo hi from shell")]
    assert sink.scopes == [ApprovalScope(("echo",))]  # what a standing approval of it would cover
    assert tool_results_sent(llm_server) == ["hi from shell\n[exit code 0]"]


async def test_dangerous_tool_denied(
    provider: Provider, llm_server: ScriptedLLM, ctx: ToolContext, workspace: Path
) -> None:
    sink = RecordingSink(approve=False)
    llm_server.script(Turn(tool_calls=[("run_shell", {"command": "touch pwned"})]), Turn(text="ok, I won't"))
    result = await run(provider, ctx, sink)
    assert not (workspace / "pwned").exists()
    assert tool_results_sent(llm_server) == [DENIED]
    _, tool_result, _ = sink.of("tool_end")[0]
    assert tool_result.is_error and tool_result.approval == "denied" and result.final_text == "ok, I won't"


async def test_safe_tools_need_no_approval(
    provider: Provider, llm_server: ScriptedLLM, ctx: ToolContext, sink: RecordingSink
) -> None:
    llm_server.script(Turn(tool_calls=[("list_files", {})]), Turn(text="empty"))
    await run(provider, ctx, sink)
    assert sink.approvals == []


async def test_max_steps(provider: Provider, llm_server: ScriptedLLM, ctx: ToolContext, sink: RecordingSink) -> None:
    llm_server.script(*[Turn(text=f"step {i}", tool_calls=[("list_files", {})], usage=(5, 1)) for i in range(3)])
    result = await run(provider, ctx, sink, max_steps=2)
    assert result.stopped_reason == "max_steps" and result.steps == 2
    assert result.note and "2 model calls" in result.note
    assert result.final_text == "step 1"
    assert result.usage_total == Usage(10, 2)
    assert len(llm_server.requests) == 2 and llm_server.pending == 1


async def test_provider_error_propagates(
    provider: Provider, llm_server: ScriptedLLM, ctx: ToolContext, sink: RecordingSink
) -> None:
    llm_server.script(Turn(tool_calls=[("list_files", {})]), Turn(text="partial answer here", fail="cut"))
    with pytest.raises(ProviderError) as info:
        await run(provider, ctx, sink)
    assert info.value.kind == "stream_cut"
    assert len(sink.of("tool_message")) == 1 and sink.text  # what came before the cut was delivered


async def test_empty_answer_is_no_response(
    provider: Provider, llm_server: ScriptedLLM, ctx: ToolContext, sink: RecordingSink
) -> None:
    llm_server.script(Turn(text=""))
    with pytest.raises(ProviderError) as info:
        await run(provider, ctx, sink)
    assert info.value.kind == "no_response" and info.value.apperror_type == "no_response"


async def test_directives_drive_a_tool_round_trip(
    provider: Provider, llm_server: ScriptedLLM, ctx: ToolContext, sink: RecordingSink
) -> None:
    history = [{"role": "user", "content": 'Run it [[tool=run_shell {"command": "echo directive"}]]'}]
    result = await run(provider, ctx, sink, history=history)
    assert result.steps == 2
    assert result.final_text == "Tool result: directive\n[exit code 0]"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


async def test_cancel_kills_running_shell(
    provider: Provider, llm_server: ScriptedLLM, ctx: ToolContext, sink: RecordingSink, workspace: Path
) -> None:
    command = "sleep 30 & echo $! > child.pid; echo $$ > shell.pid; wait"
    llm_server.script(Turn(tool_calls=[("run_shell", {"command": command})]), Turn(text="never"))
    task = asyncio.create_task(run(provider, ctx, sink))
    deadline = time.monotonic() + 5
    while not (workspace / "child.pid").exists() or not (workspace / "shell.pid").exists():
        assert time.monotonic() < deadline, "the shell command did not start"
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.05)
    pids = [int((workspace / name).read_text()) for name in ("child.pid", "shell.pid")]
    assert all(_alive(pid) for pid in pids)
    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - started < 2
    deadline = time.monotonic() + 2
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert not any(_alive(pid) for pid in pids)
    assert sink.of("tool_end") == [] and len(llm_server.requests) == 1


async def test_cancel_during_model_stream(
    provider: Provider, llm_server: ScriptedLLM, ctx: ToolContext, sink: RecordingSink
) -> None:
    llm_server.script(Turn(text="slow " * 100, chunk=5, delay=0.05))
    task = asyncio.create_task(run(provider, ctx, sink))
    while len(sink.of("text")) < 3:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sink.of("assistant") == [] and 3 <= len(sink.of("text")) < 100
