"""Browser tests: a real Threadline server (subprocess) on a temporary home, the scripted LLM server,
and Debian's Chromium driven by Playwright. Skipped when /usr/bin/chromium is missing.

Every page collects console errors and uncaught exceptions and fails its test if there are any,
404s from the API included. Every page must arrive with the server's Content-Security-Policy (the
browser enforces it, so a CSP violation is a console error); a page without one fails its test.
Screenshots go to the artifacts directory (``THREADLINE_TEST_ARTIFACTS``, else pytest's temp dir).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.llm_server import ScriptedLLM

CHROMIUM = os.environ.get("THREADLINE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]

pytestmark = pytest.mark.e2e


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.e2e)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    base: str
    home: Path
    workspace: Path
    proc: subprocess.Popen[bytes]

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, timeout=10)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium); browser tests skipped")
    try:
        import playwright  # noqa: F401
    except ImportError:
        pytest.skip("the playwright Python package is not installed; browser tests skipped")
    return CHROMIUM


@pytest.fixture(scope="session")
def llm(llm_session: ScriptedLLM) -> ScriptedLLM:
    """The shared scripted LLM server (tests/conftest.py); the browser tests script it themselves."""
    return llm_session


def start_server(home: Path, env: dict[str, str]) -> Server:
    """``threadline serve`` on a free port with ``home``; returns once /health answers."""
    workspace = home / "workspace"
    workspace.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    full_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ANTHROPIC_", "THREADLINE_"))},
        "THREADLINE_DEFAULT_WORKSPACE": str(workspace),
        "THREADLINE_DETECT_OLLAMA": "false",
        "THREADLINE_WORKSPACE_ROOTS": f'["{home}"]',
        # Model-written titles (the default) would answer from the scripted LLM after each first turn;
        # the tests that check titles turn them on through the preference.
        "THREADLINE_LLM_TITLES": "false",
        **env,
    }
    log_path = home.parent / f"server-{port}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "threadline", "serve", "--home", str(home), "--port", str(port)],
            env=full_env, cwd=str(home.parent), stdout=log, stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{base}/health", timeout=0.5).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("server did not start:\n" + log_path.read_text()[-4000:])
        time.sleep(0.1)
    return Server(base, home, workspace, proc)


def stop_server(server: Server) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.proc.kill()


@pytest.fixture(scope="session")
def server(chromium_path: str, llm: ScriptedLLM, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("e2e") / "home"
    running = start_server(home, {"OPENAI_API_KEY": "test", "OPENAI_BASE_URL": llm.openai_url})
    try:
        yield running
    finally:
        stop_server(running)


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


class PageErrors:
    """Console errors, uncaught exceptions, and pages the server sent without a CSP."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def console(self, message: Any) -> None:
        if message.type == "error":
            self.items.append(f"console.error: {message.text} @ {message.location.get('url', '')}")

    def page_error(self, error: Any) -> None:
        self.items.append(f"pageerror: {error}")

    def response(self, response: Any) -> None:
        if response.request.resource_type == "document" and not response.headers.get("content-security-policy"):
            self.items.append(f"no Content-Security-Policy on {response.url} ({response.status})")


def open_page(browser: Any, server: Server, request: pytest.FixtureRequest, **context_args: Any) -> Iterator[Any]:
    """A fresh browser context and page on the app; fails the test on any console error."""
    options: dict[str, Any] = {"viewport": {"width": 1280, "height": 800}, "device_scale_factor": 1}
    options.update(context_args)
    context = browser.new_context(base_url=server.base, **options)
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors = PageErrors()
    page.on("console", errors.console)
    page.on("pageerror", errors.page_error)
    page.on("response", errors.response)
    page.errors = errors
    page.artifacts = request.getfixturevalue("artifacts")
    try:
        yield page
    finally:
        context.close()
    failed = getattr(request.node, "rep_call", None)
    if errors.items and not (failed and failed.failed):
        pytest.fail("browser console errors:\n" + "\n".join(errors.items))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def page(browser: Any, server: Server, request: pytest.FixtureRequest) -> Iterator[Any]:
    yield from open_page(browser, server, request)


@pytest.fixture
def dark_page(browser: Any, server: Server, request: pytest.FixtureRequest) -> Iterator[Any]:
    yield from open_page(browser, server, request, color_scheme="dark")


@pytest.fixture
def phone_page(browser: Any, server: Server, request: pytest.FixtureRequest) -> Iterator[Any]:
    yield from open_page(
        browser, server, request,
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True,
    )


@pytest.fixture
def api(server: Server) -> Iterator[httpx.Client]:
    with server.api() as client:
        yield client


def screenshot(page: Any, name: str) -> Path:
    path: Path = page.artifacts / "screenshots" / f"{name}.png"
    page.wait_for_timeout(150)
    page.screenshot(path=str(path), animations="disabled", caret="hide")
    return path
