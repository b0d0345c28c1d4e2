"""The login page in Chromium: redirect to /login, a wrong password, the right one, back to the app;
no console error and no CSP violation on the way. Skipped without /usr/bin/chromium or Playwright."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow

CHROMIUM = os.environ.get("THREADLINE_CHROMIUM", "/usr/bin/chromium")
PASSWORD = "browser password 1"


@pytest.fixture
def protected_server(tmp_path: Path) -> Iterator[str]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    pytest.importorskip("playwright")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("THREADLINE_")}
    env |= {"THREADLINE_PASSWORD": PASSWORD, "THREADLINE_DETECT_OLLAMA": "false"}
    process = subprocess.Popen([sys.executable, "-m", "threadline", "serve", "--home", str(tmp_path / "home"),
                                "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None and time.monotonic() < deadline, "the server did not start"
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_sign_in_after_a_redirect(protected_server: str, artifacts: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(f"{protected_server}/s/abcdef123456")
        assert page.url.endswith("/login?next=/s/abcdef123456")
        page.goto(f"{protected_server}/")  # an existing page to come back to (that session does not exist)
        assert page.url == f"{protected_server}/login"
        page.fill("#login-password", "not it")
        page.click("#login-submit")
        expect(page.locator("#login-error")).to_contain_text("not right")  # no eval: the CSP forbids it
        problems[:] = [m for m in problems if "401" not in m]  # the browser logs the refused request
        page.screenshot(path=str(artifacts / "screenshots" / "login.png"))
        page.fill("#login-password", PASSWORD)
        page.click("#login-submit")
        page.wait_for_url(f"{protected_server}/")
        page.wait_for_selector("#composer-input")
        cookies = {c["name"]: c for c in page.context.cookies()}
        assert cookies["threadline_session"]["httpOnly"] and cookies["threadline_session"]["sameSite"] == "Lax"
        browser.close()
    assert not problems, problems
