"""Load with faults: ``threadline serve`` as a real process, the scripted LLM in a thread, and 50
concurrent clients for 30 s (THREADLINE_LOAD_SECONDS / THREADLINE_LOAD_CLIENTS to change) creating,
chatting (some answers cut mid-stream or failing upstream, some streams dropped by the client,
some runs cancelled, some messages queued), renaming, deleting, searching and listing.

The invariants: no 5xx at all, and every user message the server acknowledged (``chat/start`` 200)
is in the store at the end unless its session was deleted. Counts and latencies are printed and
written to ``load-summary.json`` in the artifacts directory (``THREADLINE_TEST_ARTIFACTS``, else pytest's
temporary directory).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.llm_server import ScriptedLLM

pytestmark = pytest.mark.slow

SECONDS = float(os.environ.get("THREADLINE_LOAD_SECONDS", "30"))
CLIENTS = int(os.environ.get("THREADLINE_LOAD_CLIENTS", "50"))
ANSWERS = ["[[tokens=20 delay=0.005]]", "[[tokens=60 delay=0.01]]", "[[tokens=30 delay=0.01 fail=cut]]",
           "[[fail=http500]]", "", "[[tokens=5]]"]


@dataclass
class Tally:
    latencies: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter[str] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    acknowledged: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    deleted: set[str] = field(default_factory=set)
    stream_events: int = 0

    async def call(self, client: httpx.AsyncClient, kind: str, method: str, url: str,
                   **kw: Any) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            response = await client.request(method, url, **kw)
        except httpx.TransportError as exc:
            self.server_errors.append(f"{kind} {method} {url} -> {type(exc).__name__}: {exc}")
            return None
        self.latencies[kind].append(time.perf_counter() - started)
        self.statuses[f"{kind} {response.status_code}"] += 1
        if response.status_code >= 500:
            self.server_errors.append(f"{kind} {method} {url} -> {response.status_code}: {response.text[:300]}")
        return response


async def read_stream(client: httpx.AsyncClient, tally: Tally, stream_id: str, *, stop_after: int | None) -> None:
    """Read the SSE stream to its end, or drop the connection after ``stop_after`` events."""
    started = time.perf_counter()
    events = 0
    async with client.stream("GET", "/api/chat/stream", params={"stream_id": stream_id},
                             timeout=httpx.Timeout(60, read=30)) as response:
        tally.statuses[f"stream {response.status_code}"] += 1
        if response.status_code >= 500:
            tally.server_errors.append(f"stream {stream_id} -> {response.status_code}")
        if response.status_code != 200:
            return
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                events += 1
                if line[7:] in ("stream_end", "apperror", "cancel") or (stop_after and events >= stop_after):
                    break
    tally.stream_events += events
    tally.latencies["stream"].append(time.perf_counter() - started)


async def user(index: int, url: str, tally: Tally, deadline: float) -> None:
    rng = random.Random(index)
    mine: list[str] = []
    streams: list[str] = []
    sent = 0
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        while time.monotonic() < deadline:
            op = rng.choices(["create", "chat", "rename", "delete", "search", "cancel", "list", "get"],
                             weights=[12, 34, 8, 5, 10, 6, 15, 10])[0]
            if op == "create" or not mine:
                response = await tally.call(client, "create", "POST", "/api/session/new", json={})
                if response is not None and response.status_code == 200:
                    mine.append(response.json()["session"]["session_id"])
            elif op == "chat":
                sid = rng.choice(mine)
                sent += 1
                text = f"load message {index}-{sent} {rng.choice(ANSWERS)}"
                body = {"session_id": sid, "message": text, "queue": rng.random() < 0.15}
                response = await tally.call(client, "chat", "POST", "/api/chat/start", json=body)
                if response is not None and response.status_code == 200:
                    tally.acknowledged[sid].append(text)
                    stream_id = response.json().get("stream_id")
                    if stream_id:
                        streams.append(stream_id)
                        if rng.random() < 0.6:
                            try:
                                await read_stream(client, tally, stream_id, stop_after=rng.choice([None, None, 3]))
                            except httpx.TransportError as exc:
                                tally.server_errors.append(f"stream {stream_id} -> {type(exc).__name__}: {exc}")
            elif op == "rename":
                await tally.call(client, "rename", "POST", "/api/session/rename",
                                 json={"session_id": rng.choice(mine), "title": f"renamed {index} {rng.random()}"})
            elif op == "delete":
                sid = mine.pop(rng.randrange(len(mine)))
                response = await tally.call(client, "delete", "POST", "/api/session/delete", json={"session_id": sid})
                if response is not None and response.status_code == 200:
                    tally.deleted.add(sid)
                else:
                    mine.append(sid)
            elif op == "search":
                await tally.call(client, "search", "GET", "/api/sessions/search",
                                 params={"q": rng.choice(["load", "message", f"{index}-", "renamed", "Echo"])})
            elif op == "cancel" and streams:
                await tally.call(client, "cancel", "POST", "/api/chat/cancel", json={"stream_id": streams[-1]})
            elif op == "list":
                await tally.call(client, "list", "GET", "/api/sessions", params={"limit": 50})
            else:
                await tally.call(client, "get", "GET", "/api/session", params={"session_id": rng.choice(mine)})


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


async def describe(client: httpx.AsyncClient, session_ids: list[str]) -> str:
    lines = []
    for sid in session_ids:
        session = (await client.get("/api/session", params={"session_id": sid})).json()["session"]
        stream = session["active_stream_id"]
        status = (await client.get("/api/chat/stream/status", params={"stream_id": stream})).json() if stream else {}
        last = [(m["role"], str(m["content"])[:50], m["status"]) for m in session["messages"][-3:]]
        lines.append(f"{sid}: stream {stream} {status} queue {session.get('queue')} last {last}")
    return "\n".join(lines)


async def wait_until_idle(client: httpx.AsyncClient, session_ids: list[str], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    pending = list(session_ids)
    while pending:
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(pending)} sessions still busy: {await describe(client, pending[:5])}")
        still = []
        for sid in pending:
            session = (await client.get("/api/session", params={"session_id": sid, "messages": 0})).json()["session"]
            if session["active_stream_id"] or session.get("queue"):
                still.append(sid)
        pending = still
        if pending:
            await asyncio.sleep(0.2)


def start_server(home: Path, llm: ScriptedLLM) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("THREADLINE_", "OPENAI_", "ANTHROPIC_"))}
    env |= {"OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": llm.openai_url,
            "THREADLINE_DEFAULT_MODEL": "openai/test-model", "THREADLINE_DETECT_OLLAMA": "false",
            "THREADLINE_LLM_TITLES": "false", "THREADLINE_LOG_LEVEL": "WARNING"}
    log = open(home.parent / "server.log", "wb")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen([sys.executable, "-m", "threadline", "serve", "--home", str(home), "--port",
                                str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, (home.parent / "server.log").read_text()
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)


async def test_load_with_faults(tmp_path: Path, artifacts: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    with ScriptedLLM() as llm:
        process, url = await asyncio.to_thread(start_server, home, llm)
        try:
            tally = Tally()
            started = time.monotonic()
            await asyncio.gather(*(user(i, url, tally, started + SECONDS) for i in range(CLIENTS)))
            elapsed = time.monotonic() - started
            async with httpx.AsyncClient(base_url=url, timeout=60) as client:
                kept = [sid for sid in tally.acknowledged if sid not in tally.deleted]
                await wait_until_idle(client, kept)
                missing = []
                for sid in kept:
                    response = await client.get("/api/session", params={"session_id": sid})
                    assert response.status_code == 200, (sid, response.text)
                    stored = [m["content"] for m in response.json()["session"]["messages"] if m["role"] == "user"]
                    missing += [(sid, text) for text in tally.acknowledged[sid] if text not in stored]
        finally:
            process.terminate()
            await asyncio.to_thread(process.wait, 15)
    requests_by_kind = {kind: len(values) for kind, values in sorted(tally.latencies.items())}
    summary = {
        "clients": CLIENTS, "seconds": round(elapsed, 1), "requests": sum(requests_by_kind.values()),
        "requests_by_kind": requests_by_kind,
        "latency_ms": {kind: {"p50": round(percentile(v, 0.5) * 1000, 1), "p95": round(percentile(v, 0.95) * 1000, 1)}
                       for kind, v in sorted(tally.latencies.items())},
        "statuses": dict(sorted(tally.statuses.items())), "stream_events": tally.stream_events,
        "acknowledged_messages": sum(len(v) for v in tally.acknowledged.values()),
        "checked_messages": sum(len(tally.acknowledged[s]) for s in tally.acknowledged if s not in tally.deleted),
        "sessions_deleted": len(tally.deleted), "server_errors": len(tally.server_errors), "missing": len(missing),
    }
    with capsys.disabled():  # shown in CI output without -s
        print("\nload:", json.dumps(summary))
    (artifacts / "load-summary.json").write_text(json.dumps(summary, indent=2))
    assert not tally.server_errors, tally.server_errors[:10]
    assert not missing, missing[:10]
    assert summary["checked_messages"] > CLIENTS


async def test_cancels_racing_each_other_and_the_run_end_never_leave_a_session_busy(tmp_path: Path) -> None:
    """Regression: a second cancel landing while the first was writing the cancel (or while a failed
    run wrote its error) cut those writes short, leaving the run ``running`` and the session busy."""
    from tests.conftest import make_settings
    from tests.runs.conftest import llm_env, serve
    from threadline.web.app import create_app

    home = tmp_path / "home"
    home.mkdir()
    with ScriptedLLM() as llm:
        app = create_app(make_settings(home, default_model="openai/test-model", llm_titles=False), env=llm_env(llm))
        async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
            runs = []
            for index, directive in enumerate(["[[tokens=200 delay=0.01]]", "[[fail=http500]]",
                                               "[[tokens=40 delay=0.01 fail=cut]]", "[[tokens=3]]"] * 5):
                sid = (await client.post("/api/session/new", json={})).json()["session"]["session_id"]
                body = {"session_id": sid, "message": f"{index} {directive}"}
                runs.append((sid, (await client.post("/api/chat/start", json=body)).json()["stream_id"]))

            async def cancel(stream_id: str, delay: float) -> None:
                await asyncio.sleep(delay)
                assert (await client.post("/api/chat/cancel", json={"stream_id": stream_id})).status_code == 200

            await asyncio.gather(*(cancel(stream_id, 0.02 * (n % 4) + 0.01 * k)
                                   for n, (_sid, stream_id) in enumerate(runs) for k in range(3)))
            await wait_until_idle(client, [sid for sid, _ in runs], timeout=30)
            for sid, _stream_id in runs:
                session = (await client.get("/api/session", params={"session_id": sid})).json()["session"]
                assert session["messages"][0]["role"] == "user"
