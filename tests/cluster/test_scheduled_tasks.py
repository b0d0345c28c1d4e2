"""Scheduled tasks across instances: two real server processes on one PostgreSQL database each run a
scheduler; a task every 2 s for 20 s fires each slot exactly once (one firing row, one run, one model
request, one notice), whichever instance claims it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime

import pytest

from tests.cluster.test_two_instances import Deployment, Instance, deployment

pytestmark = pytest.mark.slow

__all__ = ["deployment"]

EVERY = 2.0
FOR = 20.0


@pytest.fixture
def schedulers(deployment: Deployment) -> Iterator[tuple[Instance, Instance]]:
    fast = {"THREADLINE_SCHEDULE_POLL_SECONDS": "0.5"}  # each sees a task made on the other within 0.5 s
    a, b = deployment.start("sched-a", fast), deployment.start("sched-b", fast)
    yield a, b
    a.stop()
    b.stop()


def test_a_task_every_two_seconds_fires_each_slot_exactly_once(
    schedulers: tuple[Instance, Instance], deployment: Deployment,
) -> None:
    a, b = schedulers
    deployment.llm.reset()
    with a.client() as on_a, b.client() as on_b:
        job = on_a.post("/api/crons/create", json={"prompt": "tick", "schedule": f"every {EVERY:g}s"}).json()["job"]
        time.sleep(FOR)
        assert on_b.post("/api/crons/pause", json={"job_id": job["job_id"]}).status_code == 200
        deadline = time.monotonic() + 20
        while True:
            outputs = on_b.get("/api/crons/output", params={"job_id": job["job_id"], "limit": 100}).json()["outputs"]
            if all(o["finished_at"] for o in outputs) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        session = on_a.get("/api/session", params={"session_id": job["session_id"]}).json()["session"]
        notices = [n for n in on_b.get("/api/notices", params={"limit": 200}).json()["notices"]
                   if n["job_id"] == job["job_id"]]
    slots = sorted(o["due_at"] for o in outputs)
    assert len(slots) == len(set(slots)), "a slot fired twice"
    assert len(outputs) >= int(FOR / EVERY) - 3, f"too few firings: {len(outputs)}"
    assert all(o["status"] == "succeeded" and o["trigger"] == "schedule" for o in outputs), outputs
    times = [datetime.fromisoformat(s).timestamp() for s in slots]
    assert all(round((y - x) / EVERY) * EVERY == pytest.approx(y - x) for x, y in zip(times, times[1:], strict=False))
    assert len({o["run_id"] for o in outputs}) == len(outputs)
    ticks = [r for r in deployment.llm.requests if "tick" in str(r.get("messages"))]
    assert len(ticks) == len(outputs), "a firing ran twice or not at all"
    assert [m["content"] for m in session["messages"] if m["role"] == "user"] == ["tick"] * len(outputs)
    assert len(notices) == len(outputs)
    claimed_by = {o["instance_id"] for o in outputs}
    assert claimed_by <= {"sched-a", "sched-b"}
    print(f"\n{len(outputs)} firings in {FOR:g} s, claimed by {sorted(claimed_by)}:",
          {name: sum(o["instance_id"] == name for o in outputs) for name in sorted(claimed_by)})
