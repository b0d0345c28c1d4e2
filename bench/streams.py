"""The load bench's stream clients: each starts a chat turn whose scripted answer is ``tokens`` numbered,
time-stamped tokens (``t<i>@<ns>``), reads its SSE stream (from the instance that started it, or from
another one), and checks what arrived and what was stored. They run in worker processes of their own,
so that reading hundreds of streams does not share an interpreter with the measurements."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import multiprocessing
import time
from dataclasses import dataclass, field

import aiohttp

TERMINAL = frozenset({"stream_end", "apperror", "cancel"})


@dataclass
class StreamJob:
    index: int
    starter: str  # base URL of the instance that gets chat/start
    reader: str  # base URL of the instance the stream is read from
    delay: float  # seconds to wait before starting (spreads the starts)


@dataclass
class StreamResult:
    index: int
    cross: bool  # read from another instance than the one that started it
    start_ms: float = 0.0
    tokens: list[int] = field(default_factory=list)  # token numbers, in the order received
    latencies_ms: list[float] = field(default_factory=list)  # received minus stamped, per token
    stamps: list[int] = field(default_factory=list)  # when each token was sent (ns since the epoch)
    ended: str = ""  # the terminal event
    session: str = ""
    text: str = ""  # what the stream brought
    stored: bool = False  # the stored answer is exactly the text received (``check_stored``)
    error: str | None = None


def directive(tokens: int, delay: float) -> str:
    return f"load [[tokens={tokens} delay={delay} chunk=1 stamp]]"


async def _stream(client: aiohttp.ClientSession, job: StreamJob, message: str, result: StreamResult) -> str:
    """Start, read to the terminal event, return the text received."""
    async with client.post(f"{job.starter}/api/session/new", json={}) as response:
        session = (await response.json())["session"]["session_id"]
    began = time.perf_counter()
    body = {"session_id": session, "message": message}
    async with client.post(f"{job.starter}/api/chat/start", json=body) as started:
        result.start_ms = (time.perf_counter() - began) * 1000
        started.raise_for_status()
        stream_id = (await started.json())["stream_id"]
    received: list[str] = []
    name = ""
    params = {"stream_id": stream_id}
    async with client.get(f"{job.reader}/api/chat/stream", params=params,
                          timeout=aiohttp.ClientTimeout(total=600)) as response:
        response.raise_for_status()
        async for line in response.content:  # aiohttp splits at newlines, in C: a light load generator
            if line.startswith(b"event: "):
                name = line[7:].rstrip().decode()
            elif line.startswith(b"data: "):
                now = time.time_ns()
                if name == "token":
                    text = json.loads(line[6:])["text"]
                    received.append(text)
                    number, _, stamp = text.strip().partition("@")
                    result.tokens.append(int(number[1:]))
                    result.stamps.append(int(stamp))
                    result.latencies_ms.append((now - result.stamps[-1]) / 1e6)
                elif name in TERMINAL:
                    result.ended = name
                    break
    result.session, result.text = session, "".join(received)
    return session


def check_stored(results: list[StreamResult], url: str) -> None:
    """Whether each stream's answer was stored exactly as it streamed, read once every stream has
    ended: a client of the page needs no read after ``done`` (the event carries the session), so the
    check stays out of the measured window rather than adding 200 reads to the burst of endings."""

    async def check() -> None:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=8)) as client:
            async def one(result: StreamResult) -> None:
                if not result.session:
                    return
                params = {"session_id": result.session, "msg_limit": "2"}
                async with client.get(f"{url}/api/session", params=params) as reply:
                    messages = (await reply.json())["session"]["messages"]
                result.stored = bool(messages) and messages[-1]["role"] == "assistant" and \
                    messages[-1]["content"] == result.text

            await asyncio.gather(*(one(result) for result in results))

    asyncio.run(check())


async def _run(jobs: list[StreamJob], message: str) -> list[StreamResult]:
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as client:

        async def one(job: StreamJob) -> StreamResult:
            result = StreamResult(job.index, job.starter != job.reader)
            await asyncio.sleep(job.delay)
            try:
                await _stream(client, job, message, result)
            except (aiohttp.ClientError, TimeoutError, KeyError, ValueError) as exc:
                result.error = f"{type(exc).__name__}: {exc}"
            return result

        return list(await asyncio.gather(*(one(job) for job in jobs)))


def run_streams(jobs: list[StreamJob], message: str) -> list[StreamResult]:
    """A worker process's entry point."""
    try:
        import uvloop

        return uvloop.run(_run(jobs, message))
    except ImportError:
        return asyncio.run(_run(jobs, message))


def client_pool(processes: int, urls: list[str]) -> concurrent.futures.ProcessPoolExecutor:
    """Worker processes for the stream clients, started and warmed up: each has run a short turn on
    every instance, so the measured streams wait neither for a worker's imports nor for an SDK's."""
    pool = concurrent.futures.ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"))
    warm = [[StreamJob(i, url, url, 0.0) for i, url in enumerate(urls)]] * processes
    list(pool.map(run_streams, warm, ["warm-up [[tokens=5]]"] * processes))
    return pool


def delivery(results: list[StreamResult], tokens: int) -> dict[str, int]:
    """Tokens lost, repeated and out of order over all streams; streams that ended well and stored
    exactly what they streamed."""
    lost = repeated = reordered = 0
    for result in results:
        seen = set(result.tokens)
        lost += tokens - len(seen & set(range(tokens)))
        repeated += len(result.tokens) - len(seen)
        reordered += sum(1 for a, b in zip(result.tokens, result.tokens[1:], strict=False) if b < a)
    return {
        "streams": len(results),
        "tokens_received": sum(len(r.tokens) for r in results),
        "lost": lost,
        "repeated": repeated,
        "reordered": reordered,
        "ended_ok": sum(1 for r in results if r.ended == "stream_end"),
        "stored_exactly": sum(1 for r in results if r.stored),
        "errors": sum(1 for r in results if r.error),
    }
