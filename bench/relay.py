"""Token relay through a real Threadline server.

1. Overhead: the scripted provider stamps each token with the time it wrote it (``stamp``); the SSE
   client subtracts that from the time it reads the token. Median and p95 over one long stream.
2. Concurrency: 50 streams of 500 tokens at once; every stream must deliver t0..t499 exactly once.

The LLM server and Threadline run as separate processes, so the client's work does not share a GIL
with them. Usage: ``python bench/relay.py [--streams 50] [--tokens 500]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.procs import free_port, start_llm, start_threadline  # noqa: E402


async def read_stream(client: httpx.AsyncClient, stream_id: str) -> list[tuple[str, dict, int]]:
    frames: list[tuple[str, dict, int]] = []
    name = ""
    async with client.stream("GET", "/api/chat/stream", params={"stream_id": stream_id}, timeout=120) as r:
        async for line in r.aiter_lines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                frames.append((name, json.loads(line[6:]), time.time_ns()))
                if name in ("stream_end", "apperror", "cancel"):
                    break
    return frames


async def one_turn(client: httpx.AsyncClient, directive: str) -> list[tuple[str, dict, int]]:
    sid = (await client.post("/api/session/new", json={})).json()["session"]["session_id"]
    r = await client.post("/api/chat/start", json={"session_id": sid, "message": f"bench {directive}"})
    r.raise_for_status()
    return await read_stream(client, r.json()["stream_id"])


def token_texts(frames: list[tuple[str, dict, int]]) -> list[str]:
    return [f[1]["text"] for f in frames if f[0] == "token"]


async def measure(base: str, streams: int, tokens: int) -> dict[str, float | int | bool]:
    limits = httpx.Limits(max_connections=streams * 2 + 10)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        await one_turn(client, "[[tokens=5]]")  # warm up
        frames = await one_turn(client, "[[tokens=400 delay=0.005 chunk=1 stamp]]")
        latencies = []
        for text, received in ((f[1]["text"], f[2]) for f in frames if f[0] == "token"):
            stamp = int(text.rsplit("@", 1)[1].strip())
            latencies.append((received - stamp) / 1e6)
        latencies.sort()
        t0 = time.perf_counter()
        results = await asyncio.gather(
            *(one_turn(client, f"[[tokens={tokens} delay=0.01 chunk=1]]") for _ in range(streams))
        )
        elapsed = time.perf_counter() - t0
    expected = [f"t{i} " for i in range(tokens)]
    exact = sum(1 for frames in results if token_texts(frames) == expected)
    ended = sum(1 for frames in results if frames and frames[-1][0] == "stream_end")
    return {
        "relay_median_ms": round(statistics.median(latencies), 3),
        "relay_p95_ms": round(latencies[int(len(latencies) * 0.95)], 3),
        "relay_samples": len(latencies),
        "concurrent_streams": streams,
        "tokens_per_stream": tokens,
        "streams_exact": exact,
        "streams_ended": ended,
        "concurrent_seconds": round(elapsed, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=int(os.environ.get("BENCH_STREAMS", 50)))
    parser.add_argument("--tokens", type=int, default=int(os.environ.get("BENCH_TOKENS", 500)))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        llm_port, app_port = free_port(), free_port()
        llm = start_llm(llm_port)
        app = start_threadline(Path(tmp) / "home", app_port, llm_port)
        try:
            result = asyncio.run(measure(f"http://127.0.0.1:{app_port}", args.streams, args.tokens))
        finally:
            for proc in (app, llm):
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
    print(json.dumps(result, indent=2))
    ok = result["relay_median_ms"] < 2 and result["streams_exact"] == args.streams
    print(f"token relay median {result['relay_median_ms']} ms (target < 2 ms); "
          f"{result['streams_exact']}/{args.streams} streams exact — {'OK' if ok else 'MISSED'}")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "relay.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
