"""Starting the scripted LLM server and a Threadline server as separate processes for benchmarks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited early with {proc.returncode}: {url}")
        try:
            httpx.get(url, timeout=0.5)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"no answer from {url}")


def start_llm(port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-m", "tests.llm_server", "--port", str(port)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_http(f"http://127.0.0.1:{port}/v1/models", proc)
    return proc


def start_threadline(home: Path, port: int, llm_port: int, **env: str) -> subprocess.Popen[bytes]:
    environment = {
        **os.environ,
        "OPENAI_API_KEY": "bench",
        "OPENAI_BASE_URL": f"http://127.0.0.1:{llm_port}/v1",
        "THREADLINE_DEFAULT_MODEL": "openai/test-model",
        "THREADLINE_DETECT_OLLAMA": "false",
        "THREADLINE_LOG_LEVEL": "WARNING",
        **env,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "threadline", "serve", "--home", str(home), "--port", str(port)],
        env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    wait_http(f"http://127.0.0.1:{port}/health", proc)
    return proc
