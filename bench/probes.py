"""The control plane measured while the load bench's streams run: ``/health`` every 0.1 s, a rename
every 0.2 s, a new session's ``chat/start`` every 0.5 s (a short answer), and every instance's
``/metrics`` every 0.5 s; the instances take turns. Only samples taken inside the window in which
every stream is live are kept."""

from __future__ import annotations

import asyncio
import concurrent.futures
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx

SERIES = re.compile(r"^(threadline_[a-z_]+) ([0-9.eE+-]+)$", re.MULTILINE)


def percentiles(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {"n": 0, "p50": 0.0, "p99": 0.0, "max": 0.0}
    ordered = sorted(values)

    def at(fraction: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(len(ordered) * fraction))], 2)

    return {"n": len(ordered), "p50": at(0.5), "p99": at(0.99), "max": round(ordered[-1], 2)}


def scrape(text: str) -> dict[str, float]:
    return {name: float(value) for name, value in SERIES.findall(text)}


class ControlPlane:
    def __init__(self, urls: list[str]) -> None:
        self.urls = urls
        self.samples: dict[str, list[float]] = {"health": [], "rename": [], "chat_start": []}
        self.oldest: list[float] = []
        self.window = (0.0, 0.0)

    def _inside(self) -> bool:
        return self.window[0] <= time.monotonic() <= self.window[1]

    async def _every(self, period: float, work: Callable[[int], Awaitable[None]]) -> None:
        turn = 0
        while time.monotonic() < self.window[1]:
            began = time.monotonic()
            await work(turn)
            turn += 1
            await asyncio.sleep(max(0.0, period - (time.monotonic() - began)))

    async def _timed(self, name: str, request: Awaitable[httpx.Response]) -> httpx.Response:
        began = time.perf_counter()
        response = await request
        if self._inside():
            self.samples[name].append((time.perf_counter() - began) * 1000)
        response.raise_for_status()
        return response

    async def run(self, window: tuple[float, float], streams: list[concurrent.futures.Future[Any]]) -> dict[str, Any]:
        """Probe from ``window[0]`` to ``window[1]`` seconds from now, then wait for ``streams``."""
        now = time.monotonic()
        self.window = (now + window[0], now + window[1])
        async with httpx.AsyncClient(timeout=120) as client:
            renamed = [await self._session(client, url) for url in self.urls for _ in range(5)]
            before = [scrape((await client.get(url + "/metrics")).text) for url in self.urls]
            began = time.monotonic()

            async def health(turn: int) -> None:
                await self._timed("health", client.get(self.urls[turn % len(self.urls)] + "/health"))

            async def rename(turn: int) -> None:
                url, session = renamed[turn % len(renamed)]
                body = {"session_id": session, "title": f"renamed {turn}"}
                await self._timed("rename", client.post(url + "/api/session/rename", json=body))

            async def start(turn: int) -> None:
                url = self.urls[turn % len(self.urls)]
                session = (await client.post(url + "/api/session/new", json={})).json()["session"]["session_id"]
                body = {"session_id": session, "message": "probe [[tokens=3]]"}
                await self._timed("chat_start", client.post(url + "/api/chat/start", json=body))

            async def metrics(turn: int) -> None:
                for url in self.urls:
                    values = scrape((await client.get(url + "/metrics")).text)
                    if self._inside():
                        self.oldest.append(values.get("threadline_checkpoint_oldest_seconds", 0.0))

            await asyncio.sleep(window[0] * 0.5)
            await asyncio.gather(self._every(0.1, health), self._every(0.2, rename), self._every(0.5, start),
                                 self._every(0.5, metrics))
            after = [scrape((await client.get(url + "/metrics")).text) for url in self.urls]
            seconds = time.monotonic() - began
            await asyncio.gather(*(asyncio.wrap_future(f) for f in streams))
        return {
            "health_ms": percentiles(self.samples["health"]),
            "rename_ms": percentiles(self.samples["rename"]),
            "chat_start_ms": percentiles(self.samples["chat_start"]),
            "checkpoint_oldest_max_s": round(max(self.oldest, default=0.0), 3),
            "checkpoint_batches_per_s": _rate(before, after, "threadline_checkpoint_batches_total", seconds),
            "checkpointed_runs_per_s": _rate(before, after, "threadline_checkpointed_runs_total", seconds),
            "lease_renewals_per_s": _rate(before, after, "threadline_lease_renewals_total", seconds),
        }

    async def _session(self, client: httpx.AsyncClient, url: str) -> tuple[str, str]:
        """A stored session to rename (a rename materializes the draft)."""
        session = (await client.post(url + "/api/session/new", json={})).json()["session"]["session_id"]
        (await client.post(url + "/api/session/rename", json={"session_id": session, "title": "probe"}))\
            .raise_for_status()
        return url, session


def _rate(before: list[dict[str, float]], after: list[dict[str, float]], name: str, seconds: float) -> float:
    """Per second and per instance."""
    total = sum(a.get(name, 0.0) - b.get(name, 0.0) for a, b in zip(after, before, strict=True))
    return round(total / seconds / len(after), 2)
