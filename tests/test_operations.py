"""Operations: /metrics in Prometheus format, JSON logs, readiness apart from liveness."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import make_settings
from tests.llm_server import ScriptedLLM, Turn
from tests.runs.conftest import llm_env, read_events
from tests.support import new_draft
from threadline.logs import JsonFormatter, logging_config
from threadline.web.app import create_app


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one series in an exposition, ``None`` when absent."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        series, _, value = line.rpartition(" ")
        found = dict(re.findall(r'(\w+)="([^"]*)"', series))
        if series.split("{")[0] == name and all(found.get(k) == v for k, v in labels.items()):
            return float(value)
    return None


@pytest.fixture
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        yield server


async def test_metrics_count_requests_runs_and_tokens(home: Path, llm: ScriptedLLM) -> None:
    app = create_app(make_settings(home, default_model="openai/test-model"), env=llm_env(llm))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8787", timeout=30) as client:
            session_id = await new_draft(client)
            for _ in range(3):
                assert (await client.get("/api/session", params={"session_id": session_id})).status_code == 200
            assert (await client.get("/api/session", params={"session_id": "0123456789ab"})).status_code == 404
            llm.script(Turn(text="Hello there"))
            started = await client.post("/api/chat/start", json={"session_id": session_id, "message": "hi"})
            frames = await read_events(client, started.json()["stream_id"])
            assert frames[-1][1] == "stream_end"
            llm.script(Turn(fail="http500"))
            failed = await client.post("/api/chat/start", json={"session_id": session_id, "message": "again"})
            frames = await read_events(client, failed.json()["stream_id"])
            assert frames[-1][1] == "apperror"
            for _ in range(250):  # the run's task ends a little after its last event
                response = await client.get("/metrics")
                if sample(response.text, "threadline_runs_finished_total", kind="chat", status="failed"):
                    break
                await asyncio.sleep(0.02)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    text = response.text
    assert sample(text, "threadline_http_requests_total", method="GET", route="/api/session", status="200") == 3
    assert sample(text, "threadline_http_requests_total", method="GET", route="/api/session", status="404") == 1
    assert sample(text, "threadline_http_request_duration_seconds_count", method="GET", route="/api/session") == 4
    assert sample(text, "threadline_http_request_duration_seconds_bucket", route="/api/session", le="+Inf") == 4
    assert sample(text, "threadline_http_requests_total", route="/api/chat/stream", status="200") == 2
    assert sample(text, "threadline_runs_started_total", kind="chat") == 2
    assert sample(text, "threadline_runs_finished_total", kind="chat", status="succeeded") == 1
    assert sample(text, "threadline_runs_finished_total", kind="chat", status="failed") == 1
    assert sample(text, "threadline_run_duration_seconds_count", kind="chat", status="succeeded") == 1
    assert (sample(text, "threadline_tokens_total", direction="out") or 0) > 0
    assert sample(text, "threadline_active_runs") == 0
    assert sample(text, "threadline_open_streams") == 0  # the stream above has ended
    assert "# TYPE threadline_http_request_duration_seconds histogram" in text


async def _gauge_while_streaming(home: Path, llm: ScriptedLLM, turn: Turn, **settings: Any) -> tuple[
    list[float], list[Any], str
]:
    """Run one scripted turn with a tick every 0.05 s, reading the unsaved-progress gauge while it
    streams: the gauge's readings, the stream's frames, and ``/metrics`` once the run has left the
    checkpointer (its ending stored, just after the stream's end)."""
    settings = make_settings(home, default_model="openai/test-model", checkpoint_interval_seconds=0.05, **settings)
    app = create_app(settings, env=llm_env(llm))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8787", timeout=30) as client:
            session_id = await new_draft(client)
            llm.script(turn)
            started = await client.post("/api/chat/start", json={"session_id": session_id, "message": "hi"})
            reader = asyncio.create_task(read_events(client, started.json()["stream_id"]))
            oldest: list[float] = []
            while not reader.done():
                text = (await client.get("/metrics")).text
                oldest.append(sample(text, "threadline_checkpoint_oldest_seconds") or 0.0)
                await asyncio.sleep(0.03)
            frames = await reader
            for _ in range(100):
                text = (await client.get("/metrics")).text
                if sample(text, "threadline_checkpoint_oldest_seconds") == 0:
                    break
                await asyncio.sleep(0.05)
    return oldest, frames, text


async def test_metrics_show_the_write_path(home: Path, llm: ScriptedLLM) -> None:
    """Checkpoint batches, the runs they saved, the oldest unsaved progress; lease renewals are counted
    with several instances (tests/cluster/test_starvation.py reads them there)."""
    turn = Turn(text=" ".join(f"w{i}" for i in range(60)), chunk=3, delay=0.02)
    oldest, frames, text = await _gauge_while_streaming(home, llm, turn, run_lease_seconds=1)
    assert frames[-1][1] == "stream_end"
    assert (sample(text, "threadline_checkpoint_batches_total") or 0) >= 3
    assert (sample(text, "threadline_checkpointed_runs_total") or 0) >= 3
    assert 0 < (sample(text, "threadline_checkpoint_seconds_total") or 0) < 60  # the batches' own time
    assert sample(text, "threadline_lease_renewals_total") == 0  # a lone instance keeps no leases
    assert 0 < max(oldest) < 2.0  # a tick every 0.05 s keeps every run's progress fresh
    assert sample(text, "threadline_checkpoint_oldest_seconds") == 0  # nothing live


async def test_unsaved_progress_dates_from_the_progress_not_the_last_checkpoint(home: Path, llm: ScriptedLLM) -> None:
    """A run quiet for a while (a slow model between two tokens) has nothing unsaved meanwhile: the
    gauge counts from the oldest progress not stored yet, not from the run's last checkpoint (which
    made a pause look like seconds of unsaved text)."""
    turn = Turn(text=["w0 ", "w1 ", "w2 "], delay=1.2)  # 1.2 s of silence after each token
    oldest, frames, _text = await _gauge_while_streaming(home, llm, turn)
    assert [f[2]["text"] for f in frames if f[1] == "token"] == ["w0 ", "w1 ", "w2 "]
    assert 0 < max(oldest) < 0.6, max(oldest)  # each token saved within a few ticks; the pauses are not unsaved


async def test_every_app_has_a_registry_of_its_own(home: Path, tmp_path: Path) -> None:
    """No global registry: two apps in one process (tests, or an embedding) count separately."""
    first, second = create_app(make_settings(home)), create_app(make_settings(tmp_path / "other"))
    async with first.router.lifespan_context(first), second.router.lifespan_context(second):
        for app, hits in ((first, 3), (second, 1)):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8787") as client:
                for _ in range(hits):
                    assert (await client.get("/api/sessions")).status_code == 200
    for app, hits in ((first, 3), (second, 1)):
        text = app.state.metrics.render().decode()
        assert sample(text, "threadline_http_requests_total", route="/api/sessions", status="200") == hits


@pytest.mark.parametrize("password", [None, "correct horse battery"])
async def test_metrics_token(home: Path, password: str | None) -> None:
    app = create_app(make_settings(home, metrics_token="s3cret", password=password))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8787") as client:
            refused = (401, 303)  # 303: to the login page, when a password is set
            assert (await client.get("/metrics")).status_code in refused
            assert (await client.get("/metrics", headers={"Authorization": "Bearer nope"})).status_code in refused
            ok = await client.get("/metrics", headers={"Authorization": "Bearer s3cret"})
            assert ok.status_code == 200 and "threadline_http_requests_total" in ok.text


async def test_metrics_need_the_login_without_a_token(home: Path) -> None:
    app = create_app(make_settings(home, password="correct horse battery"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8787") as client:
            assert (await client.get("/metrics")).status_code == 303  # to the login page


async def test_liveness_and_readiness(client: httpx.AsyncClient, app: FastAPI) -> None:
    assert (await client.get("/health")).json()["status"] == "ok"
    assert (await client.get("/health/ready")).json() == {"status": "ready"}


async def test_not_ready_while_writes_cannot_proceed(client: httpx.AsyncClient, app: FastAPI) -> None:
    """Issue 10 item 10: with the write lock held elsewhere, readiness says so (it used to read only)."""
    store = app.state.services.store
    if not store.is_sqlite:
        pytest.skip("holds SQLite's write lock from another connection")
    holder = sqlite3.connect(store.engine.url.database, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        ready = await client.get("/health/ready")
        assert ready.status_code == 503 and ready.json()["status"] == "unavailable", ready.text
        assert "writes cannot proceed" in ready.json()["error"]
        assert (await client.get("/health")).status_code == 200  # alive, just not ready
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert (await client.get("/health/ready")).json() == {"status": "ready"}


async def test_readiness_fails_while_redis_is_down(home: Path) -> None:
    app = create_app(make_settings(home, redis_url="redis://127.0.0.1:1/0"))
    async with app.router.lifespan_context(app):  # starts anyway: Redis may come back
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8787") as client:
            ready = await client.get("/health/ready")
            assert ready.status_code == 503 and ready.json()["error"].startswith("redis")


def test_json_log_lines() -> None:
    formatter = JsonFormatter(instance_id="a1")
    record = logging.LogRecord("threadline.runs", logging.WARNING, __file__, 1, "run %s failed", ("r1",), None)
    record.run_id = "r1"
    line = json.loads(formatter.format(record))
    assert line["level"] == "warning" and line["logger"] == "threadline.runs" and line["message"] == "run r1 failed"
    assert line["instance"] == "a1" and line["run_id"] == "r1" and line["ts"].endswith("+00:00")
    access = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5", "GET", "/health", "1.1", 200), None)
    entry = json.loads(formatter.format(access))
    assert (entry["method"], entry["path"], entry["status"]) == ("GET", "/health", 200)
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        failed = logging.LogRecord("x", logging.ERROR, __file__, 1, "oops", None, sys.exc_info())
    assert "ValueError: boom" in json.loads(formatter.format(failed))["exception"]


def test_logging_config_switches_formatter(home: Path) -> None:
    plain = logging_config(make_settings(home))
    assert "format" in plain["formatters"]["default"]
    structured = logging_config(make_settings(home, log_json=True, instance_id="b"))
    assert structured["formatters"]["default"]["()"] == "threadline.logs.JsonFormatter"
    assert structured["loggers"]["uvicorn.access"]["propagate"] is True
