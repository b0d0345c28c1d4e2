"""Both adapters through the real SDKs, over real HTTP, against the scripted server."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.agent.conftest import closed_port
from tests.llm_server import ScriptedLLM, Turn
from threadline.agent.events import (
    ProviderError,
    ProviderEvent,
    ReasoningDelta,
    TextDelta,
    ToolCallRequest,
    TurnEnd,
    Usage,
)
from threadline.agent.providers.anthropic import to_anthropic_messages
from threadline.agent.providers.base import INTERRUPTED_RESULT, Provider, ToolSpec
from threadline.agent.providers.openai_compat import to_openai_messages

USER = [{"role": "user", "content": "hi"}]
READ_SPEC = ToolSpec("read_file", "Read a file", {"type": "object", "properties": {"path": {"type": "string"}}})


async def collect(provider: Provider, messages: list[dict[str, Any]] = USER, **kw: Any) -> list[ProviderEvent]:
    kw.setdefault("model", "test-model")
    kw.setdefault("tools", [])
    return [event async for event in provider.stream(messages=messages, **kw)]


def texts(events: list[ProviderEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


async def test_text_stream(provider: Provider, llm_server: ScriptedLLM) -> None:
    llm_server.script(Turn(text="Hello there, world!", chunk=3))
    events = await collect(provider)
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert len(deltas) == 7
    assert texts(events) == "Hello there, world!"
    assert isinstance(events[-2], Usage) and events[-2].input_tokens > 0
    assert events[-1] == TurnEnd("stop")


async def test_system_prompt_and_tools_are_sent(provider: Provider, llm_server: ScriptedLLM) -> None:
    await collect(provider, tools=[READ_SPEC], system="Be brief.")
    body = llm_server.requests[-1]
    if body["_path"] == "/v1/messages":
        assert body["system"] == "Be brief."
        assert body["tools"][0]["name"] == "read_file"
        assert body["tools"][0]["input_schema"]["properties"]["path"] == {"type": "string"}
        assert body["max_tokens"] == 8192
    else:
        assert body["messages"][0] == {"role": "system", "content": "Be brief."}
        assert body["tools"][0]["function"]["name"] == "read_file"
        assert body["stream_options"] == {"include_usage": True}


async def test_tool_calls_arrive_in_pieces(provider: Provider, llm_server: ScriptedLLM) -> None:
    args = {"path": "src/very/long/path/name.py", "start_line": 10}
    llm_server.script(Turn(text="Let me look.", tool_calls=[("read_file", args), ("list_files", {})]))
    events = await collect(provider, tools=[READ_SPEC])
    calls = [e for e in events if isinstance(e, ToolCallRequest)]
    assert [c.name for c in calls] == ["read_file", "list_files"]
    assert calls[0].arguments == args
    assert json.loads(calls[0].raw_arguments) == args
    assert calls[0].id and calls[0].id != calls[1].id
    assert texts(events) == "Let me look."
    assert events[-1] == TurnEnd("tool_calls")


async def test_bad_json_arguments_are_kept_raw(provider: Provider, llm_server: ScriptedLLM) -> None:
    llm_server.script(Turn(tool_calls=[("read_file", '{"path": "a.txt"')]))
    calls = [e for e in await collect(provider) if isinstance(e, ToolCallRequest)]
    assert calls[0].arguments == {}
    assert calls[0].raw_arguments == '{"path": "a.txt"'


async def test_reasoning_and_usage(provider: Provider, llm_server: ScriptedLLM) -> None:
    llm_server.script(Turn(text="42", reasoning="Think step by step.", usage=(123, 45)))
    events = await collect(provider)
    reasoning = [e for e in events if isinstance(e, ReasoningDelta)]
    assert "".join(r.text for r in reasoning) == "Think step by step."
    assert [e for e in events if isinstance(e, Usage)] == [Usage(123, 45)]
    if provider.kind == "anthropic":
        assert reasoning[-1].signature == "scripted-signature"
    # Reasoning comes before the answer.
    first_text = next(i for i, e in enumerate(events) if isinstance(e, TextDelta))
    assert all(events.index(r) < first_text for r in reasoning)


async def test_history_is_converted(provider: Provider, llm_server: ScriptedLLM) -> None:
    history = [
        {"role": "user", "content": "read both"},
        {
            "role": "assistant",
            "content": "Sure.",
            "tool_calls": [
                {"id": "c1", "name": "read_file", "arguments": {"path": "a"}},
                {"id": "c2", "name": "read_file", "arguments": {"path": "b"}},
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "A", "is_error": False},
        {"role": "tool", "tool_call_id": "c2", "content": "no such file", "is_error": True},
    ]
    await collect(provider, history, tools=[READ_SPEC])
    sent = llm_server.requests[-1]["messages"]
    if provider.kind == "anthropic":
        assert [m["role"] for m in sent] == ["user", "assistant", "user"]
        assert sent[1]["content"][1] == {"type": "tool_use", "id": "c1", "name": "read_file", "input": {"path": "a"}}
        results = sent[2]["content"]
        assert [r["tool_use_id"] for r in results] == ["c1", "c2"]
        assert results[1]["is_error"] is True
    else:
        assert [m["role"] for m in sent] == ["user", "assistant", "tool", "tool"]
        assert sent[1]["tool_calls"][0]["function"] == {"name": "read_file", "arguments": '{"path": "a"}'}
        assert sent[3] == {"role": "tool", "tool_call_id": "c2", "content": "no such file"}


async def test_list_models(provider: Provider) -> None:
    assert await provider.list_models() == ["test-model", "test-model-2"]


@pytest.mark.parametrize(
    ("fail", "kind"),
    [("rate_limit", "rate_limit"), ("quota", "quota_exhausted"), ("http500", "error"), ("overloaded", "rate_limit")],
)
async def test_scripted_http_errors(provider: Provider, llm_server: ScriptedLLM, fail: str, kind: str) -> None:
    llm_server.script(Turn(text="never sent", fail=fail))
    with pytest.raises(ProviderError) as info:
        await collect(provider)
    assert info.value.kind == kind
    assert info.value.hint


async def test_bad_key(provider_factory: Callable[..., Provider]) -> None:
    provider = provider_factory(api_key="bad-key")
    with pytest.raises(ProviderError) as info:
        await collect(provider)
    assert info.value.kind == "auth"
    assert info.value.apperror_type == "auth_mismatch"
    assert "key" in info.value.hint
    with pytest.raises(ProviderError) as info:
        await provider.list_models()
    assert info.value.kind == "auth"


async def test_unknown_model(provider: Provider) -> None:
    with pytest.raises(ProviderError) as info:
        await collect(provider, model="no-such-model")
    assert info.value.kind == "model_not_found"
    assert "no-such-model" in info.value.hint


async def test_connection_refused(provider_factory: Callable[..., Provider]) -> None:
    port = closed_port()
    suffix = "" if provider_factory.kind == "anthropic" else "/v1"  # type: ignore[attr-defined]
    provider = provider_factory(f"http://127.0.0.1:{port}{suffix}")
    with pytest.raises(ProviderError) as info:
        await collect(provider)
    assert info.value.kind == "connection"
    assert f"127.0.0.1:{port}" in info.value.hint
    assert info.value.hint.startswith("Could not reach"), info.value.hint  # not "did not answer in time"


async def test_a_silent_server_is_a_timeout(provider_factory: Callable[..., Provider]) -> None:
    """A server that accepts the connection and never answers: the hint says it did not answer in
    time, which a refused connection never says (the SDKs' aiohttp transport calls both a timeout)."""
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        await asyncio.sleep(30)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    suffix = "" if provider_factory.kind == "anthropic" else "/v1"  # type: ignore[attr-defined]
    provider = provider_factory(f"http://127.0.0.1:{port}{suffix}", timeout=0.5)
    try:
        with pytest.raises(ProviderError) as info:
            await collect(provider)
    finally:
        server.close()
    assert info.value.kind == "connection"
    assert info.value.hint.startswith(f"The provider at http://127.0.0.1:{port}") and "in time" in info.value.hint


async def test_stream_cut_mid_way(provider: Provider, llm_server: ScriptedLLM) -> None:
    llm_server.script(Turn(text="This answer will be cut in the middle.", chunk=2, fail="cut"))
    seen: list[ProviderEvent] = []
    with pytest.raises(ProviderError) as info:
        async for event in provider.stream(model="test-model", messages=USER, tools=[]):
            seen.append(event)
    assert info.value.kind == "stream_cut"
    assert texts(seen) and "This answer will be cut in the middle.".startswith(texts(seen))


async def test_an_error_event_mid_stream(provider: Provider, llm_server: ScriptedLLM) -> None:
    """Both APIs may send an error object as an event after the answer began (no HTTP status)."""
    llm_server.script(Turn(text="This answer fails in the middle.", chunk=2, fail="error_event"))
    seen: list[ProviderEvent] = []
    with pytest.raises(ProviderError) as info:
        async for event in provider.stream(model="test-model", messages=USER, tools=[]):
            seen.append(event)
    assert "This answer fails in the middle.".startswith(texts(seen)) and texts(seen)
    expected = "Overloaded (overloaded_error)" if llm_server.requests[-1]["_path"] == "/v1/messages" else \
        "The server had an error while processing your request. (server_error)"
    assert info.value.message == f"{provider.name}: {expected}"
    assert info.value.kind == "error", info.value.kind


async def test_stalled_stream_times_out(provider_factory: Callable[..., Provider], llm_server: ScriptedLLM) -> None:
    provider = provider_factory(timeout=0.5)
    llm_server.script(Turn(text="stalls after a few words", fail="hang"))
    started = time.monotonic()
    with pytest.raises(ProviderError) as info:
        await collect(provider)
    assert info.value.kind in ("stream_cut", "connection")
    assert time.monotonic() - started < 3


def test_interrupted_tool_calls_are_repaired() -> None:
    history = [
        {"role": "user", "content": "go"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"id": "c1", "name": "run_shell", "arguments": {"command": "sleep 30"}},
                {"id": "c2", "name": "list_files", "arguments": {}},
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "done"},
        {"role": "tool", "tool_call_id": "stray", "content": "orphan"},
        {"role": "user", "content": "what happened?"},
    ]
    sent = to_openai_messages(history, None)
    assert [(m["role"], m.get("tool_call_id")) for m in sent] == [
        ("user", None),
        ("assistant", None),
        ("tool", "c1"),
        ("tool", "c2"),
        ("user", None),
    ]
    assert sent[3]["content"] == INTERRUPTED_RESULT
    system, converted = to_anthropic_messages(history, "sys")
    assert system == "sys" and [m["role"] for m in converted] == ["user", "assistant", "user"]
    blocks = converted[2]["content"]
    assert [b.get("tool_use_id") for b in blocks] == ["c1", "c2", None]
    assert blocks[1]["is_error"] is True and blocks[2] == {"type": "text", "text": "what happened?"}
