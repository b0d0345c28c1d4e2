"""Scheduled tasks: what a scheduler wake-up costs with many tasks, and how late firings start.

1. ``--tasks`` tasks (default 10,000) are written to a fresh database, none due; a wake-up of the
   scheduler (``Scheduler.tick``: the due tasks and the soonest next firing, two index range scans) is
   timed, as is the task list (``GET /api/crons``'s work). Target: a wake-up under 5 ms at 10,000 tasks,
   so sleeping until the next firing never turns into polling.
2. A real server (and the scripted LLM) gets ``--firings`` one-shot tasks due every half second; how
   late each firing's run started after its slot is read back from ``/api/crons/output``. Target: the
   median under 100 ms.

On SQLite in a temporary folder (the PostgreSQL path is exercised by ``tests/cluster/
test_scheduled_tasks.py``). Usage: ``python bench/schedules.py [--tasks 10000] [--firings 20]``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.procs import free_port, start_llm, start_threadline  # noqa: E402
from bench.results import save  # noqa: E402
from threadline.services import Services  # noqa: E402
from threadline.settings import Settings  # noqa: E402
from threadline.store import tables as t  # noqa: E402


async def wake_up_cost(home: Path, tasks: int) -> dict[str, float]:
    services = await Services.open(Settings(home=home, detect_ollama=False), env={})
    try:
        now = time.time()
        rows = [{"id": uuid.uuid4().hex[:12], "name": f"task {i}", "prompt": "p", "schedule": "every 1h",
                 "kind": "interval", "expr": "3600", "timezone": "UTC", "skills": [], "state": "scheduled",
                 "next_run_at": now + 60 + (i % 86_400), "anchor_at": now, "created_at": now, "updated_at": now,
                 "extra": {}} for i in range(tasks)]
        async with services.store.write() as conn:
            for start in range(0, len(rows), 1000):
                await conn.execute(t.cron_jobs.insert(), rows[start:start + 1000])
        scheduler = services.tasks.scheduler
        await scheduler.tick()
        ticks = []
        for _ in range(50):
            started = time.perf_counter()
            await scheduler.tick()
            ticks.append(time.perf_counter() - started)
        started = time.perf_counter()
        listed = await services.tasks.listing()
        listing = time.perf_counter() - started
        assert len(listed["jobs"]) == tasks
        return {"wake_up_median_ms": round(statistics.median(ticks) * 1000, 2),
                "wake_up_max_ms": round(max(ticks) * 1000, 2), "list_ms": round(listing * 1000, 1)}
    finally:
        await services.close()


def firing_delays(home: Path, firings: int) -> dict[str, float]:
    llm_port, port = free_port(), free_port()
    llm = start_llm(llm_port)
    server = start_threadline(home, port, llm_port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            first = datetime.now(UTC) + timedelta(seconds=3)
            jobs = [client.post("/api/crons/create", json={
                "prompt": f"firing {i}", "schedule": (first + timedelta(seconds=i / 2)).isoformat(),
            }).json()["job"]["job_id"] for i in range(firings)]
            deadline = time.monotonic() + 60 + firings
            delays: list[float] = []
            for job_id in jobs:
                while True:
                    outputs = client.get("/api/crons/output", params={"job_id": job_id}).json()["outputs"]
                    if outputs and outputs[0]["finished_at"]:
                        break
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"task {job_id} did not fire")
                    time.sleep(0.1)
                started = datetime.fromisoformat(outputs[0]["started_at"]).timestamp()
                delays.append(started - datetime.fromisoformat(outputs[0]["due_at"]).timestamp())
        return {"firing_delay_median_ms": round(statistics.median(delays) * 1000, 1),
                "firing_delay_max_ms": round(max(delays) * 1000, 1), "firings": firings}
    finally:
        server.terminate()
        llm.terminate()
        server.wait(timeout=15)
        llm.wait(timeout=15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--firings", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result: dict[str, object] = {"database": "sqlite", "tasks": args.tasks}
        result |= asyncio.run(wake_up_cost(Path(tmp) / "wake", args.tasks))
        print(f"scheduler wake-up with {args.tasks:,} tasks: median {result['wake_up_median_ms']} ms "
              f"(target < 5 ms); the task list {result['list_ms']} ms")
        result |= firing_delays(Path(tmp) / "fire", args.firings)
        print(f"firings started after their slot: median {result['firing_delay_median_ms']} ms, "
              f"max {result['firing_delay_max_ms']} ms (target median < 100 ms)")
    save("schedules", result)


if __name__ == "__main__":
    main()
