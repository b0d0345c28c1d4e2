"""``threadline serve`` refuses a non-loopback address without a password unless ``--insecure``."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import httpx
import pytest

from tests.conftest import make_settings
from tests.security.conftest import client_for
from threadline.web.app import create_app
from threadline.web.security_check import refuse_unsafe_bind

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("THREADLINE_")}
    return env | extra


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10"])
def test_refuses_without_a_password(tmp_path: Path, host: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "threadline", "serve", "--home", str(tmp_path / "h"), "--host", host,
         "--port", str(free_port())],
        env=clean_env(), capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"Refusing to listen on {host}" in result.stderr
    assert "THREADLINE_PASSWORD" in result.stderr and "--insecure" in result.stderr
    assert not (tmp_path / "h" / "threadline.db").exists()  # refused before touching anything


def test_starts_with_an_environment_password_and_requires_it(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "threadline", "serve", "--home", str(tmp_path / "h"), "--host", "0.0.0.0",
         "--port", str(port)],
        env=clean_env(THREADLINE_PASSWORD="a long password"), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/api/sessions").status_code == 401
        with httpx.Client(base_url=base) as client:
            assert client.post("/api/auth/login", json={"password": "a long password"}).status_code == 200
            assert client.get("/api/sessions").status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=15)


async def test_insecure_and_a_stored_password_allow_the_bind(home: Path) -> None:
    public = make_settings(home, host="0.0.0.0")
    check = partial(asyncio.to_thread, refuse_unsafe_bind)  # it runs its own event loop, as in the CLI
    assert await check(public) is not None
    assert await check(make_settings(home, host="0.0.0.0", insecure=True)) is None
    assert await check(make_settings(home, host="::1")) is None
    app = create_app(make_settings(home))
    async with app.router.lifespan_context(app), client_for(app) as c:
        response = await c.post("/api/settings", json={"_set_password": "saved in settings"})
        assert response.status_code == 200
    assert await check(public) is None  # the hash in the database counts as a password
