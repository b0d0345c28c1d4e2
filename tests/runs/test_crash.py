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
from typing import Any

import httpx
import pytest

from tests.llm_server import ScriptedLLM
from tests.sse import FrameParser

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def last_message(base: str, sid: str) -> dict[str, Any]:
    session = httpx.get(f"{base}/api/session", params={"session_id": sid}, timeout=30).json()["session"]
    return dict(session["messages"][-1])


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
    """The model streams half of its answer and stalls, so the run is still going when the server is
    killed, however slow the machine; the kill comes once a checkpoint holds all the text the client
    received, and after the restart that text is there, marked interrupted. (How much text a crash
    loses between checkpoints is a timing matter, measured by the benchmarks.)"""
    home = tmp_path / "home"
    port = free_port()
    server = start_server(home, port, llm_proc)
    base = f"http://127.0.0.1:{port}"
    sent_before_the_stall = "".join(f"t{i} " for i in range(20))
    try:
        sid = httpx.post(f"{base}/api/session/new", json={}, timeout=30).json()["session"]["session_id"]
        message = "long please [[tokens=40 delay=0.01 chunk=1 fail=hang]]"
        started = httpx.post(f"{base}/api/chat/start", json={"session_id": sid, "message": message}, timeout=30)
        assert started.status_code == 200, started.text
        received = ""
        with httpx.stream("GET", f"{base}/api/chat/stream", params={"stream_id": started.json()["stream_id"]},
                          timeout=30) as stream:
            parser = FrameParser()
            for line in stream.iter_lines():
                frame = parser.feed(line)
                if frame is not None and frame[1] == "token":
                    received += frame[2]["text"]
                if received == sent_before_the_stall:
                    break
        deadline = time.monotonic() + 30  # only against a hang: the checkpoint comes within 0.5 s
        while (stored := last_message(base, sid))["content"] != received:
            assert time.monotonic() < deadline, f"no checkpoint of the received text: {stored}"
            time.sleep(0.05)
        assert stored["role"] == "assistant" and stored["status"] == "partial"
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
    finally:
        if server.poll() is None:
            server.kill()

    server = start_server(home, port, llm_proc)
    try:
        session = httpx.get(f"{base}/api/session", params={"session_id": sid}, timeout=30).json()["session"]
        assert session["active_stream_id"] is None
        user, partial, marker = session["messages"]
        assert user["content"].startswith("long please")
        assert partial["status"] == "interrupted" and partial["content"] == received
        assert marker["_interrupted"] and marker["in_context"] is False
        listed = httpx.get(f"{base}/api/sessions", timeout=30).json()["sessions"]
        assert sid in [s["session_id"] for s in listed]
        again = httpx.post(f"{base}/api/chat/start", json={"session_id": sid, "message": "are you back?"}, timeout=30)
        assert again.status_code == 200, again.text
        replay = httpx.get(f"{base}/api/chat/stream", params={"stream_id": started.json()["stream_id"]}, timeout=10)
        assert "event: apperror" in replay.text and "interrupted" in replay.text
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=15)


def test_a_client_resuming_after_a_crash_gets_the_terminal_event(tmp_path: Path, llm_proc: ScriptedLLM) -> None:
    """Issue 10 item 9: the client saw events that the killed process never stored; resuming from the
    last one it saw, it still gets the interrupted ``apperror``, once, and nothing else."""
    home = tmp_path / "home"
    port = free_port()
    server = start_server(home, port, llm_proc)
    base = f"http://127.0.0.1:{port}"
    try:
        sid = httpx.post(f"{base}/api/session/new", json={}, timeout=30).json()["session"]["session_id"]
        message = "long please [[tokens=400 delay=0.01 chunk=1]]"
        started = httpx.post(f"{base}/api/chat/start", json={"session_id": sid, "message": message}, timeout=30)
        assert started.status_code == 200, started.text
        stream_id = started.json()["stream_id"]
        last_id, tokens = "", 0
        with httpx.stream("GET", f"{base}/api/chat/stream", params={"stream_id": stream_id}, timeout=30) as stream:
            parser = FrameParser()
            for line in stream.iter_lines():
                frame = parser.feed(line)
                if frame is not None and frame[1] == "token":
                    last_id, tokens = frame[0], tokens + 1
                    if tokens == 60:
                        server.send_signal(signal.SIGKILL)  # mid-stream: the last events are not stored
                        break
        server.wait(timeout=10)
    finally:
        if server.poll() is None:
            server.kill()
    server = start_server(home, port, llm_proc)
    try:
        resumed = httpx.get(f"{base}/api/chat/stream", params={"stream_id": stream_id},
                            headers={"Last-Event-ID": last_id}, timeout=10)
        frames = [f for line in resumed.text.splitlines() if (f := parser.feed(line)) is not None]
        assert [f[1] for f in frames] == ["apperror"], (last_id, resumed.text)
        assert frames[0][2]["type"] == "interrupted"
        assert int(frames[0][0].rsplit(":", 1)[1]) > int(last_id.rsplit(":", 1)[1])  # numbered after what it saw
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=15)
