"""The ``threadline`` command as a user runs it: a real process on a free port."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from rich.console import Console

from threadline import __version__
from threadline.cli.progress import CountProgress

pytestmark = pytest.mark.slow

# The 2 s start-up target is measured by bench/startup.py; a loaded CI machine only has to come up.
STARTUP_LIMIT_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_health(url: str, process: subprocess.Popen[bytes], timeout: float) -> float:
    """Seconds until ``url`` answered 200, polling every 20 ms."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=0.5).status_code == 200:
                return time.perf_counter() - started
        except httpx.TransportError:
            pass
        time.sleep(0.02)
    raise AssertionError(f"no answer from {url} within {timeout} s")


def test_serve_answers_health_on_a_fresh_home(tmp_path: Path) -> None:
    home = tmp_path / "fresh-home"  # does not exist yet: created and migrated at start-up
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("THREADLINE_")}
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "threadline", "serve", "--home", str(home), "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        wait_for_health(f"http://127.0.0.1:{port}/health", process, timeout=30)
        elapsed = time.perf_counter() - started
        print(f"/health answered {elapsed:.2f} s after start")
        assert elapsed < STARTUP_LIMIT_SECONDS, f"/health took {elapsed:.2f} s"
        body = httpx.get(f"http://127.0.0.1:{port}/health").json()
        assert body["status"] == "ok" and body["version"] == __version__
        assert httpx.get(f"http://127.0.0.1:{port}/health/ready").json() == {"status": "ready"}
        created = httpx.post(f"http://127.0.0.1:{port}/api/session/new", json={})
        assert created.status_code == 200
        assert (home / "threadline.db").is_file()
    finally:
        process.terminate()
        output = process.communicate(timeout=15)[0].decode()
    assert f"Threadline {__version__} on http://127.0.0.1:{port}" in output
    # uvicorn shuts down cleanly, then re-raises SIGTERM so the exit status tells how the process ended.
    assert process.returncode in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output


def test_version() -> None:
    result = subprocess.run([sys.executable, "-m", "threadline", "--version"], capture_output=True, text=True)
    assert result.returncode == 0
    assert result.stdout.strip() == f"threadline {__version__}"


def test_serve_refuses_a_public_bind_without_a_password(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("THREADLINE_")}
    result = subprocess.run(
        [sys.executable, "-m", "threadline", "serve", "--host", "0.0.0.0", "--home", str(tmp_path), "--port", "1"],
        capture_output=True, text=True, env=env, timeout=30,
    )
    assert result.returncode == 2
    assert "Refusing to listen on 0.0.0.0" in result.stderr


def test_help_lists_every_command() -> None:
    result = subprocess.run([sys.executable, "-m", "threadline", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    for command in ("serve", "migrate", "import"):
        assert command in result.stdout


def test_help_lists_every_command_and_option() -> None:
    result = subprocess.run([sys.executable, "-m", "threadline", "--help"], capture_output=True, text=True)
    assert "copy-store" in result.stdout
    hermes = subprocess.run([sys.executable, "-m", "threadline", "import", "hermes", "--help"],
                            capture_output=True, text=True)
    assert hermes.returncode == 0
    for option in ("directory", "--batch", "--home"):
        assert option in hermes.stdout


def test_progress_on_a_terminal_is_a_bar_with_a_rate() -> None:
    console = Console(file=io.StringIO(), force_terminal=True, width=120)
    with CountProgress(console, label="Importing", unit="sessions") as progress:
        progress.update(0, 400)
        progress.update(400, 400)
    shown = console.file.getvalue()  # type: ignore[attr-defined]
    assert "Importing" in shown and "400/400" in shown and "sessions/s" in shown
    assert "\x1b[" in shown  # drawn in place, with control codes


def test_progress_elsewhere_is_plain_lines_at_most_once_a_second() -> None:
    console = Console(file=io.StringIO(), force_terminal=False, width=120)
    with CountProgress(console, label="Importing", unit="sessions", interval=3600) as progress:
        for done in range(0, 1001, 100):
            progress.update(done, 1000)
    lines = console.file.getvalue().splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 2 and lines[0].startswith("Importing: 0/1,000 sessions")
    assert lines[1].startswith("Importing: 1,000/1,000 sessions, ") and "sessions/s" in lines[1]
