"""The scripted LLM server itself: directives, non-streamed answers, the standalone process."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from tests.agent.conftest import closed_port
from tests.llm_server import ScriptedLLM, Turn, turn_from_directives

ROOT = Path(__file__).resolve().parents[2]


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def test_directive_tokens() -> None:
    turn = turn_from_directives(user("go [[tokens=5 delay=0.01 reasoning=2 stamp]]"))
    assert turn.text == ["t0 ", "t1 ", "t2 ", "t3 ", "t4 "]
    assert turn.reasoning == ["r0 ", "r1 "] and turn.delay == 0.01 and turn.stamp


def test_directive_default_echo() -> None:
    assert turn_from_directives(user("hello there")).text == "Echo: hello there"
    assert turn_from_directives(user("[[delay=0]] hi")).text == "Echo: hi"
    with pytest.raises(ValueError):
        turn_from_directives(user("[[fail=explode]]"))


def test_directive_tools_in_order_then_answer() -> None:
    text = 'x [[tool=write_file {"path": "a", "content": "b"}]] [[tool=read_file {"path": "a"}]] [[tokens=2]]'
    messages = user(text)
    assert turn_from_directives(messages).tool_calls == [("write_file", {"path": "a", "content": "b"})]
    messages += [{"role": "assistant", "content": ""}, {"role": "tool", "tool_call_id": "1", "content": "ok"}]
    assert turn_from_directives(messages).tool_calls == [("read_file", {"path": "a"})]
    messages += [{"role": "assistant", "content": ""}, {"role": "tool", "tool_call_id": "2", "content": "b"}]
    final = turn_from_directives(messages)
    assert final.tool_calls == [] and final.text == ["t0 ", "t1 "]
    # Anthropic's shape: tool results inside a user message do not start a new conversation turn.
    anthropic_shape = user("[[tool=list_files {}]]") + [
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "list_files", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "a.txt"}]},
    ]
    assert turn_from_directives(anthropic_shape).text == "Tool result: a.txt"


def test_non_streaming_openai(llm_server: ScriptedLLM) -> None:
    client = openai.OpenAI(base_url=llm_server.openai_url, api_key="k", max_retries=0)
    llm_server.script(Turn(text="plain answer", tool_calls=[("list_files", {"path": "."})], usage=(7, 3)))
    reply = client.chat.completions.create(model="test-model", messages=[{"role": "user", "content": "q"}])
    assert reply.choices[0].message.content == "plain answer"
    assert reply.choices[0].message.tool_calls[0].function.name == "list_files"  # type: ignore[union-attr]
    assert reply.usage is not None and reply.usage.prompt_tokens == 7
    reply = client.chat.completions.create(model="test-model", messages=[{"role": "user", "content": "q2"}])
    assert reply.choices[0].message.content == "Echo: q2"
    assert [r["messages"][0]["content"] for r in llm_server.requests] == ["q", "q2"]
    assert llm_server.requests[0]["_path"] == "/v1/chat/completions"
    client.close()


def test_non_streaming_anthropic(llm_server: ScriptedLLM) -> None:
    client = anthropic.Anthropic(base_url=llm_server.anthropic_url, api_key="k", max_retries=0)
    reply = client.messages.create(model="test-model", max_tokens=100, messages=[{"role": "user", "content": "q"}])
    assert reply.content[0].text == "Echo: q"  # type: ignore[union-attr]
    with pytest.raises(anthropic.NotFoundError):
        client.messages.create(model="no-such-model", max_tokens=10, messages=[{"role": "user", "content": "q"}])
    client.close()


def test_standalone_process() -> None:
    port = closed_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.llm_server", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}" in line
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="k", max_retries=0)
        started = time.monotonic()
        stream = client.chat.completions.create(
            model="test-model", stream=True, messages=[{"role": "user", "content": "[[tokens=20 delay=0.005]]"}]
        )
        text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
        assert text == "".join(f"t{i} " for i in range(20))
        assert time.monotonic() - started < 5
        client.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.returncode == 0
