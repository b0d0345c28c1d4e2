"""The control plane measured while the load bench's streams run: ``/health`` every 0.1 s, a rename
every 0.2 s, a new session's ``chat/start`` every 0.5 s (a short answer), and every instance's
``/metrics`` every 0.5 s; the instances take turns. Only samples taken while at least half the streams are
live (``threadline_active_runs`` over all instances, read at each scrape) are kept, and the counters'
rates are taken over that period. Each sample is also filed under its phase: ``ramp`` until every
stream is live (the burst of starts, and the writes it queued), ``steady`` while they all are,
``ending`` once runs finish (the burst of endings), so the bursts of a synchronized start can be told
apart from 200 streams running."""

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
    def __init__(self, urls: list[str], streams: int, *, workers: int = 1) -> None:
        """``workers``: processes behind each URL; a scrape reads one of them, which runs about its
        share of the streams (the kernel spreads connections unevenly: "full" is 90% of that share)."""
        self.urls = urls
        share = streams // max(1, workers)
        self.threshold = max(1, int(share * 0.5))
        self.samples: dict[str, list[float]] = {"health": [], "rename": [], "chat_start": []}
        self.full = share if workers <= 1 else int(share * 0.9)
        self.phase = "ramp"  # then "steady" once every stream is live, then "ending"
        self.phased: dict[tuple[str, str], list[float]] = {}
        self.oldest: list[float] = []
        self.oldest_by_phase: dict[str, list[float]] = {}
        self.inside = False  # nearly every stream is live, as of the last scrape
        self.counters: list[tuple[float, list[dict[str, float]]]] = []  # (time, per instance) while inside
        self.done = False

    async def _every(self, period: float, work: Callable[[int], Awaitable[None]]) -> None:
        turn = 0
        while not self.done:
            began = time.monotonic()
            await work(turn)
            turn += 1
            await asyncio.sleep(max(0.0, period - (time.monotonic() - began)))

    async def _timed(self, name: str, request: Awaitable[httpx.Response]) -> httpx.Response:
        began, phase = time.perf_counter(), self.phase  # a sample belongs to the phase it was sent in
        response = await request
        if self.inside:
            elapsed = (time.perf_counter() - began) * 1000
            self.samples[name].append(elapsed)
            self.phased.setdefault((name, phase), []).append(elapsed)
        response.raise_for_status()
        return response

    async def run(self, streams: list[concurrent.futures.Future[Any]]) -> dict[str, Any]:
        """Probe until ``streams`` (the client processes' futures) are done."""
        async with httpx.AsyncClient(timeout=120) as client:
            renamed = [await self._session(client, url) for url in self.urls for _ in range(5)]

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
                scraped = [scrape((await client.get(url + "/metrics")).text) for url in self.urls]
                live = sum(values.get("threadline_active_runs", 0.0) for values in scraped)
                self.inside = live >= self.threshold
                if live >= self.full and self.phase == "ramp":
                    self.phase = "steady"
                elif live < self.full and self.phase == "steady":
                    self.phase = "ending"
                if self.inside:
                    self.counters.append((time.monotonic(), scraped))
                    ages = [values.get("threadline_checkpoint_oldest_seconds", 0.0) for values in scraped]
                    self.oldest += ages
                    self.oldest_by_phase.setdefault(self.phase, []).extend(ages)

            async def until_done() -> None:
                await asyncio.gather(*(asyncio.wrap_future(f) for f in streams))
                self.done = True

            await asyncio.gather(until_done(), self._every(0.1, health), self._every(0.2, rename),
                                 self._every(0.5, start), self._every(0.5, metrics))
        return {
            "health_ms": percentiles(self.samples["health"]),
            "rename_ms": percentiles(self.samples["rename"]),
            "chat_start_ms": percentiles(self.samples["chat_start"]),
            "by_phase_ms": {f"{name}_{phase}": percentiles(values)
                            for (name, phase), values in sorted(self.phased.items())},
            "measured_seconds": round(self.counters[-1][0] - self.counters[0][0], 1) if self.counters else 0.0,
            "checkpoint_oldest_max_s": round(max(self.oldest, default=0.0), 3),
            "checkpoint_oldest_max_s_by_phase": {phase: round(max(ages), 3)
                                                 for phase, ages in sorted(self.oldest_by_phase.items())},
            "checkpoint_batches_per_s": self._rate("threadline_checkpoint_batches_total"),
            "checkpointed_runs_per_s": self._rate("threadline_checkpointed_runs_total"),
            "checkpoint_batch_ms": round(1000 * self._rate("threadline_checkpoint_seconds_total")
                                         / max(self._rate("threadline_checkpoint_batches_total"), 1e-9), 1),
            "lease_renewals_per_s": self._rate("threadline_lease_renewals_total"),
        }

    def _rate(self, name: str) -> float:
        """Per second and per instance, over the measured period."""
        if len(self.counters) < 2:
            return 0.0
        (first_at, first), (last_at, last) = self.counters[0], self.counters[-1]
        total = sum(a.get(name, 0.0) - b.get(name, 0.0) for a, b in zip(last, first, strict=True))
        return round(total / (last_at - first_at) / len(last), 2)

    async def _session(self, client: httpx.AsyncClient, url: str) -> tuple[str, str]:
        """A stored session to rename (a rename materializes the draft)."""
        session = (await client.post(url + "/api/session/new", json={})).json()["session"]["session_id"]
        (await client.post(url + "/api/session/rename", json={"session_id": session, "title": "probe"}))\
            .raise_for_status()
        return url, session
