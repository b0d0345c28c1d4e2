"""An OpenAI-compatible stream's lines are read straight from aiohttp's reader (no httpx decoders per
chunk): every SSE line end (LF, CRLF, CR) ends a line wherever the chunks are cut, a line may be
longer than any chunk, and the real provider takes this path."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import aiohttp
import pytest
from aiohttp.base_protocol import BaseProtocol

from tests.agent.conftest import make_provider
from tests.llm_server import ScriptedLLM, Turn
from threadline.agent.events import TextDelta
from threadline.agent.providers import base

BODY = (b"data: {\"a\": \"caf\xc3\xa9\"}\r\n\r\n: a comment\ndata: one\rdata: two\r\rdata: x\n\n"
        b"data: " + b"y" * 70_000 + b"\r\n\r\ndata: last")


def reference(body: bytes) -> list[str]:
    return [line.decode("utf-8", "replace") for line in re.split(rb"\r\n|\r|\n", body)]


async def lines_of(chunks: list[bytes]) -> list[str]:
    reader = aiohttp.StreamReader(BaseProtocol(asyncio.get_running_loop()), 2**16, loop=asyncio.get_running_loop())
    for chunk in chunks:
        reader.feed_data(chunk)
    reader.feed_eof()
    return [line async for line in base._aiohttp_lines(reader)]


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 4096, len(BODY)])
async def test_lines_whatever_the_chunks(size: int) -> None:
    chunks = [BODY[i:i + size] for i in range(0, len(BODY), size)]
    assert await lines_of(chunks) == reference(BODY)


async def test_a_crlf_cut_in_two_ends_one_line() -> None:
    assert await lines_of([b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"]) == ["data: a", "data: b", ""]


async def test_the_openai_provider_reads_its_lines_from_aiohttp(
    llm_server: ScriptedLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    used = []
    real = base._aiohttp_lines

    def counted(content: Any) -> Any:
        used.append(content)
        return real(content)

    monkeypatch.setattr(base, "_aiohttp_lines", counted)
    llm_server.script(Turn(text="Hello there, world!", chunk=3))
    provider = make_provider("openai", llm_server.openai_url)
    try:
        events = [e async for e in provider.stream(model="m", messages=[{"role": "user", "content": "hi"}], tools=[])]
    finally:
        await provider.aclose()
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Hello there, world!"
    assert len(used) == 1
