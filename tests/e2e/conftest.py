"""Browser tests: a real Threadline server (subprocess) on a temporary home, the scripted LLM server,
and Debian's Chromium driven by Playwright. Skipped when /usr/bin/chromium is missing.

Every page collects console errors and uncaught exceptions and fails its test if there are any.
Pages are served with the production CSP (added here when the server does not send one), so a
CSP violation fails a test too.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.llm_server import ScriptedLLM

CHROMIUM = os.environ.get("THREADLINE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; frame-ancestors 'none'"
)
REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"

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
    routes: set[str] = field(default_factory=set)

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, timeout=10)

    def has(self, path: str) -> bool:
        return path in self.routes


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
    routes = set(httpx.get(f"{base}/openapi.json", timeout=5).json().get("paths", {}))
    return Server(base, home, workspace, proc, routes)


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
    """Console errors and uncaught exceptions. A 404 from an API path the server does not have yet
    (a back-end route still to land) is recorded apart, in ``missing``, not as a UI error."""

    def __init__(self, routes: set[str]) -> None:
        self.routes = routes
        self.items: list[str] = []
        self.missing: list[str] = []

    def console(self, message: Any) -> None:
        if message.type != "error":
            return
        url = message.location.get("url", "")
        path = urlsplit(url).path
        if "404" in message.text and path.startswith("/api/") and path not in self.routes:
            self.missing.append(path)
            return
        self.items.append(f"console.error: {message.text} @ {url}")

    def page_error(self, error: Any) -> None:
        self.items.append(f"pageerror: {error}")


def _with_csp(route: Any) -> None:
    response = route.fetch()
    headers = dict(response.headers)
    if "content-security-policy" not in {k.lower() for k in headers}:
        headers["content-security-policy"] = CSP
    route.fulfill(response=response, headers=headers)


def open_page(browser: Any, server: Server, request: pytest.FixtureRequest, **context_args: Any) -> Iterator[Any]:
    """A fresh browser context and page on the app; fails the test on any console error."""
    options: dict[str, Any] = {"viewport": {"width": 1280, "height": 800}, "device_scale_factor": 1}
    options.update(context_args)
    context = browser.new_context(base_url=server.base, **options)
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors = PageErrors(server.routes)
    page.on("console", errors.console)
    page.on("pageerror", errors.page_error)
    page.route(lambda url: "/static/" not in url and "/api/" not in url, _with_csp)
    page.errors = errors
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
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.wait_for_timeout(150)
    page.screenshot(path=str(path), animations="disabled", caret="hide")
    return path
