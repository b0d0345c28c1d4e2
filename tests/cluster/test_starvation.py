"""An instance whose event loop is starved (a CPU hog on the loop for several lease periods) keeps its
runs: its lease keeper renews them from a thread of its own, and the other instance's sweep leaves
alone a run whose owner still sends heartbeats (issue 18). After the hog the run goes on to its end,
every token delivered once and in order, the answer stored whole."""

from __future__ import annotations

import re
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cluster.test_two_instances import Deployment, Instance, new_session, read_stream, session, start, text_of
from tests.llm_server import ScriptedLLM
from tests.pg import PgDatabases, run_sync

pytestmark = pytest.mark.slow

LEASE = 1.5  # seconds: renewed every 0.3 s, swept by the other instance every 0.375 s
STARVE = 6.0  # four lease periods
WRAPPER = str(Path(__file__).with_name("starved_server.py"))


@pytest.fixture
def cluster(pg_server: PgDatabases, redis_server: str, tmp_path: Path) -> Iterator[tuple[Deployment, str]]:
    name = pg_server.create(migrated=True)
    (tmp_path / "workspace").mkdir()
    with ScriptedLLM() as llm:
        yield Deployment(pg_server.url_for(name), redis_server, f"tl-test-{name}", llm, tmp_path), name
    pg_server.drop(name)


def run_rows(url: str, run_id: str) -> dict[str, Any]:
    import asyncpg
    from sqlalchemy.engine import make_url

    async def fetch() -> dict[str, Any]:
        conn = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False))
        try:
            row = await conn.fetchrow("SELECT status, owner, lease_until, error FROM runs WHERE id = $1", run_id)
            return dict(row) if row else {}
        finally:
            await conn.close()

    return run_sync(fetch())


def test_a_starved_instance_keeps_its_runs(cluster: tuple[Deployment, str]) -> None:
    deployment, _name = cluster
    env = {"STARVE_SECONDS": str(STARVE)}
    a: Instance = deployment.start("a", env, launcher=(WRAPPER,), lease=LEASE)
    b: Instance = deployment.start("b", lease=LEASE)
    try:
        with a.client() as on_a, b.client() as on_b:
            sid = new_session(on_a)
            stream_id = start(on_a, sid, "[[tokens=240 delay=0.05 chunk=1]] a long answer")
            first = read_stream(on_a, stream_id, limit=40)  # the run is under way, checkpointed
            assert first[-1][1] == "token"
            seen: list[dict[str, Any]] = []
            stop = threading.Event()

            def watch() -> None:  # the run's row as the other instance's sweeps find it
                while not stop.is_set():
                    seen.append(run_rows(deployment.database_url, stream_id))
                    time.sleep(0.2)

            watcher = threading.Thread(target=watch)
            watcher.start()
            a.proc.send_signal(signal.SIGUSR1)
            time.sleep(0.3)
            began = time.perf_counter()
            on_b.get("/health").raise_for_status()  # B answers meanwhile: only A is starved
            b_health = time.perf_counter() - began
            on_a.get("/health").raise_for_status()  # A answers only once its loop is free again
            a_health = time.perf_counter() - began
            frames = read_stream(on_a, stream_id, after=first[-1][0])
            stop.set()
            watcher.join()
            stored = session(on_b, sid)
            metrics = on_a.get("/metrics").text
    finally:
        a.stop()
        b.stop()
    assert a_health >= STARVE * 0.6 and b_health < STARVE * 0.3, (a_health, b_health)  # A's loop was held
    renewals = re.search(r"^threadline_lease_renewals_total ([0-9.e+]+)$", metrics, re.MULTILINE)
    assert renewals and float(renewals.group(1)) >= STARVE / (LEASE / 5) * 0.5, renewals  # renewed all along
    rows = [row for row in seen if row]
    assert len(rows) >= STARVE / 0.2 * 0.5, rows  # watched all along
    assert all(row["status"] in ("running", "succeeded") and row["owner"] == "a" for row in rows), rows
    assert frames[-1][1] == "stream_end", frames[-1]
    tokens = text_of(first + frames)
    assert tokens == "".join(f"t{i} " for i in range(240))
    final = run_rows(deployment.database_url, stream_id)
    assert final["status"] == "succeeded" and final["error"] is None, final
    assert stored["messages"][-1]["content"] == tokens and stored["messages"][-1]["status"] == "complete"
    assert "taken over" not in (deployment.root / "b.log").read_text()
