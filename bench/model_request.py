"""The event loop's CPU for one model request (issue 18): a conversation of ``--messages`` messages
(user turns, tool calls and their results) with the built-in tools, sent to the scripted
OpenAI-compatible server over real HTTP through the openai SDK and read to its end.

Three ways, on one client:
- ``threadline``: ``OpenAIProvider.stream``, as a run asks (conversion, request, decoding);
- ``sdk_as_built``: the SDK sending the wire-format body as it is (``extra_body``, what the provider does);
- ``sdk_parameters``: the SDK given the same body as its parameters, which it first walks against its
  parameter types (what the provider did before).

CPU is the calling thread's (``time.thread_time``): the scripted server runs in a thread of its own.
Writes ``bench/results/model_request.json``. Usage: ``python bench/model_request.py [--requests 30]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import openai  # noqa: E402
from tests.llm_server import ScriptedLLM  # noqa: E402

from bench.results import save  # noqa: E402
from threadline.agent.providers.base import response_lines  # noqa: E402
from threadline.agent.providers.openai_compat import OpenAIProvider, to_openai_messages, to_openai_tool  # noqa: E402
from threadline.agent.tools.registry import default_tools  # noqa: E402

SYSTEM = "You are a capable assistant working in a workspace folder. " * 30


def conversation(size: int) -> list[dict[str, Any]]:
    """``size`` messages in the history's format: a question, a tool call, its result, an answer..."""
    messages: list[dict[str, Any]] = []
    turn = 0
    while len(messages) < size:
        call = f"call_{turn}"
        messages += [
            {"role": "user", "content": f"Question {turn}: what does the file say? " + "context " * 60},
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": call, "name": "read_file", "arguments": {"path": f"notes/{turn}.md"}}]},
            {"role": "tool", "tool_call_id": call, "content": "line of the file\n" * 40},
            {"role": "assistant", "content": "The file says this. " * 40},
        ]
        turn += 1
    return messages[:size - 1] + [{"role": "user", "content": "Go on."}]


async def cpu_ms(requests: int, send: Callable[[], Awaitable[None]]) -> dict[str, float]:
    await send()  # warm: the connection, the SDK's lazy imports
    samples = []
    for _ in range(requests):
        began = time.thread_time()
        await send()
        samples.append((time.thread_time() - began) * 1000)
    return {"median": round(statistics.median(samples), 3), "min": round(min(samples), 3)}


async def measure(llm: ScriptedLLM, size: int, requests: int) -> dict[str, dict[str, float]]:
    provider = OpenAIProvider(base_url=llm.openai_url, api_key="bench")
    client = openai.AsyncOpenAI(base_url=llm.openai_url, api_key="bench", http_client=openai.DefaultAioHttpClient())
    history = conversation(size)
    specs = default_tools(clarify=True).specs()
    body = {"model": "test-model", "messages": to_openai_messages(history, SYSTEM), "stream": True,
            "stream_options": {"include_usage": True}, "tools": [to_openai_tool(s) for s in specs]}
    completions = client.chat.completions.with_streaming_response

    async def threadline() -> None:
        async for _event in provider.stream(model="test-model", messages=history, tools=specs, system=SYSTEM):
            pass

    async def read(request: Any) -> None:
        async with request as response:
            async for _line in response_lines(response):
                pass

    async def as_built() -> None:
        await read(completions.create(model="test-model", messages=[], stream=True, extra_body=body))

    async def as_parameters() -> None:
        await read(completions.create(**body))

    try:
        result = {}
        for name, send in (("threadline", threadline), ("sdk_as_built", as_built), ("sdk_parameters", as_parameters)):
            result[name] = await cpu_ms(requests, send)
            llm.reset()  # the server keeps every request it got
        return result
    finally:
        await provider.aclose()
        await client.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--sizes", default="2,40,150", help="conversation sizes, in messages")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    with ScriptedLLM() as llm:
        results = {size: asyncio.run(measure(llm, size, args.requests)) for size in sizes}
    print(json.dumps(results, indent=2))
    print(f"event-loop CPU per model request, ms (median of {args.requests}), with {len(default_tools(clarify=True))} "
          "tools:")
    for size, result in results.items():
        print(f"  {size:>4} messages: Threadline {result['threadline']['median']}, the SDK sending the body as "
              f"built {result['sdk_as_built']['median']}, as its parameters {result['sdk_parameters']['median']}")
    save("model_request", {"sizes": {str(size): result for size, result in results.items()}, "database": "sqlite"})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
