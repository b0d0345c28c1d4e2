"""SIGKILL the server in the middle of a streamed answer, restart it, and find everything acknowledged."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.llm_server import ScriptedLLM

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(home: Path, port: int, llm: ScriptedLLM) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "OPENAI_API_KEY": "test-key",
        "OPENAI_BASE_URL": llm.openai_url,
        "THREADLINE_DEFAULT_MODEL": "openai/test-model",
        "THREADLINE_DETECT_OLLAMA": "false",
        "THREADLINE_WORKSPACE_ROOTS": f'["{home}"]',
    }
    env.pop("THREADLINE_DATABASE_URL", None)
    if os.environ.get("THREADLINE_TEST_DATABASE_URL"):
        env["THREADLINE_DATABASE_URL"] = os.environ["THREADLINE_TEST_DATABASE_URL"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "threadline", "serve", "--home", str(home), "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=0.5).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"server did not start: {proc.stderr.read().decode() if proc.stderr else ''}")


@pytest.fixture
def llm_proc() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        yield server


def test_sigkill_mid_stream_then_restart(tmp_path: Path, llm_proc: ScriptedLLM) -> None:
    home = tmp_path / "home"
    port = free_port()
    server = start_server(home, port, llm_proc)
    base = f"http://127.0.0.1:{port}"
    try:
        sid = httpx.post(f"{base}/api/session/new", json={}).json()["session"]["session_id"]
        # 100 tokens, 0.05 s apart: a 5 s answer.
        started = httpx.post(f"{base}/api/chat/start",
                             json={"session_id": sid, "message": "long please [[tokens=100 delay=0.05 chunk=1]]"},
                             timeout=30)
        assert started.status_code == 200, started.text
        received = 0
        last_id = ""
        with httpx.stream("GET", f"{base}/api/chat/stream", params={"stream_id": started.json()["stream_id"]},
                          timeout=10) as stream:
            t0 = time.monotonic()
            for line in stream.iter_lines():
                if line == "event: token":
                    received += 1
                if line.startswith("id: "):
                    last_id = line[4:]
                if time.monotonic() - t0 >= 1.0:
                    break
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
    finally:
        if server.poll() is None:
            server.kill()

    server = start_server(home, port, llm_proc)
    try:
        session = httpx.get(f"{base}/api/session", params={"session_id": sid}).json()["session"]
        assert session["active_stream_id"] is None
        user, partial, marker = session["messages"]
        assert user["content"].startswith("long please")
        assert partial["status"] == "interrupted" and partial["content"].startswith("t0 t1")
        stored_tokens = len(partial["content"].split())
        # All but about the last second (the checkpoint interval is 0.5 s; tokens come every 0.05 s).
        assert stored_tokens >= received - 20, (stored_tokens, received)
        assert marker["_interrupted"] and marker["in_context"] is False
        listed = httpx.get(f"{base}/api/sessions").json()["sessions"]
        assert sid in [s["session_id"] for s in listed]
        # A client resuming from the last event it saw (beyond what the dead process had stored) still
        # gets the terminal event, exactly once (issue 10 item 9).
        resumed = httpx.get(f"{base}/api/chat/stream", params={"stream_id": started.json()["stream_id"]},
                            headers={"Last-Event-ID": last_id}, timeout=10)
        assert resumed.text.count("event: apperror") == 1 and "interrupted" in resumed.text, (last_id, resumed.text)
        assert "event: token" not in resumed.text
        again = httpx.post(f"{base}/api/chat/start", json={"session_id": sid, "message": "are you back?"})
        assert again.status_code == 200, again.text
        replay = httpx.get(f"{base}/api/chat/stream", params={"stream_id": started.json()["stream_id"]}, timeout=10)
        assert "event: apperror" in replay.text and "interrupted" in replay.text
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=15)
