"""Schemathesis over every operation of the app's OpenAPI schema, against a real uvicorn server (in a
thread) wired to the scripted LLM: valid and invalid data, a bounded number of examples each. The
checks: no 5xx (``not_a_server_error``), and every error answer is JSON with an ``error`` string.

Half of the generated ``session_id`` values are swapped for real sessions (a draft and a stored one
per run), so the file API, chat and session operations are exercised past "session not found".
The SSE stream is called too (its generated ids name no stream, so it answers at once); a 200 from it
would be an event stream, which is not checked for the JSON error shape.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import schemathesis
import uvicorn
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup

from tests.conftest import make_settings
from tests.llm_server import ScriptedLLM
from tests.runs.conftest import llm_env
from threadline.web.app import create_app

pytestmark = pytest.mark.slow

MAX_EXAMPLES = int(os.environ.get("THREADLINE_FUZZ_EXAMPLES", "25"))
STREAMING = {"/api/chat/stream"}
ENDLESS = {"/api/sessions/events"}  # takes no input and never ends; tests/runs/test_session_feed.py reads it


class ThreadServer:
    """uvicorn in a background thread, on a free loopback port."""

    def __init__(self, app: Any) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(app, log_level="critical", lifespan="on", timeout_graceful_shutdown=2)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=lambda: asyncio.run(self.server.serve(sockets=[self.sock])),
                                       daemon=True)

    def __enter__(self) -> ThreadServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "server did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.sock.close()


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    home: Path = tmp_path_factory.mktemp("fuzz") / "home"
    home.mkdir()
    (home / "workspace").mkdir()
    (home / "workspace" / "hello.txt").write_text("hello\n")
    with ScriptedLLM() as llm:
        app = create_app(make_settings(home, default_model="openai/test-model", approval_timeout_seconds=1.0),
                         env=llm_env(llm))
        with ThreadServer(app) as server:
            yield server.url, app


def _sessions(url: str) -> list[str]:
    with httpx.Client(base_url=url, timeout=10) as client:
        draft = client.post("/api/session/new", json={}).json()["session"]["session_id"]
        stored = client.post("/api/session/import", json={
            "title": "fuzz", "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}],
        }).json()["session"]["session_id"]
    return [draft, stored]


def _swap_session(case: Any, real: str) -> None:
    for container in (case.query, case.body if isinstance(case.body, dict) else None):
        if isinstance(container, dict) and "session_id" in container:
            container["session_id"] = real


def rejected_by_http_server(response: schemathesis.Response) -> bool:
    """uvicorn's own answer to a request it cannot parse (a request line over h11's 16 KB limit...),
    sent before the app sees anything."""
    return response.status_code == 400 and response.content == b"Invalid HTTP request received."


def check_error_shape(response: schemathesis.Response) -> str | None:
    if response.status_code < 400 or rejected_by_http_server(response):
        return None
    headers = {name.lower(): values for name, values in response.headers.items()}
    content_type = (headers.get("content-type") or [""])[0]
    if not content_type.startswith("application/json"):
        return f"{response.status_code} with content-type {content_type!r}"
    try:
        body = json.loads(response.content)
    except ValueError:
        return f"{response.status_code} with a body that is not JSON: {response.text[:200]!r}"
    if not isinstance(body, dict) or not isinstance(body.get("error"), str) or not body["error"]:
        return f"{response.status_code} without an 'error' string: {response.text[:200]!r}"
    return None


def fuzz_operation(op: Any, url: str, session: requests.Session, real_ids: list[str], statuses: Counter[int | str],
                   examples: Counter[str], failures: list[str]) -> None:
    """Up to MAX_EXAMPLES cases of one operation, valid and invalid; ``real_ids`` are fresh sessions
    (earlier operations may have deleted the last ones)."""
    strategy = st.one_of(op.as_strategy(GenerationMode.POSITIVE), op.as_strategy(GenerationMode.NEGATIVE))
    stream = op.path in STREAMING

    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=strategy, use_real=st.booleans())
    def run(case: Any, use_real: bool) -> None:
        if use_real:
            _swap_session(case, real_ids[examples[op.label] % len(real_ids)])
        examples[op.label] += 1
        response = case.call(base_url=url, session=session, timeout=15)
        statuses["http-server-400" if rejected_by_http_server(response) else response.status_code] += 1
        problems = []
        try:
            case.validate_response(response, checks=[not_a_server_error])
        except FailureGroup as group:  # schemathesis 4 raises its failures as one group
            problems.extend(f"{failure.title} ({response.status_code})" for failure in group.exceptions)
        if not (stream and response.status_code == 200):
            problem = check_error_shape(response)
            if problem:
                problems.append(problem)
        if problems:
            failures.append(f"{op.label}: {'; '.join(problems)}\n    {case.as_curl_command()[:400]}")

    run()


def test_fuzz_every_operation(fuzz_target: tuple[str, Any], artifacts: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    url, app = fuzz_target
    schema = schemathesis.openapi.from_dict(app.openapi())
    operations = [op for op in (result.ok() for result in schema.get_all_operations()) if op.path not in ENDLESS]
    paths = {op.path for op in operations}
    assert {"/api/list", "/api/file/raw", "/api/upload", "/api/auth/login", "/api/chat/start"} <= paths
    statuses: Counter[int | str] = Counter()
    examples: Counter[str] = Counter()
    failures: list[str] = []
    session = requests.Session()
    started = time.monotonic()
    timings = {}
    for op in operations:
        began = time.monotonic()
        fuzz_operation(op, url, session, _sessions(url), statuses, examples, failures)
        timings[op.label] = round(time.monotonic() - began, 2)
    elapsed = time.monotonic() - started
    summary = {
        "operations": len(operations), "examples": sum(examples.values()), "failures": len(failures),
        "seconds": round(elapsed, 1), "statuses": dict(sorted(statuses.items(), key=str)),
    }
    with capsys.disabled():  # shown in CI output without -s
        print("\nschemathesis:", json.dumps(summary))
        print("slowest operations (s):", sorted(timings.items(), key=lambda kv: -kv[1])[:5])
    (artifacts / "fuzz-summary.json").write_text(json.dumps(summary | {"details": failures[:50]}, indent=2))
    assert not failures, "\n".join(failures[:20])
    assert not [code for code in statuses if isinstance(code, int) and code >= 500]


def test_the_harness_reports_a_server_error() -> None:
    """The checks above can fail: a route that answers 500 on some input is reported, with the
    other cases still run (the failure is collected, not raised out of Hypothesis)."""
    broken = FastAPI()

    @broken.get("/api/boom")
    async def boom(n: int = 0) -> dict[str, int]:
        if n % 2:
            raise RuntimeError("broken on purpose")
        return {"n": n}

    schema = schemathesis.openapi.from_dict(broken.openapi())
    [op] = [result.ok() for result in schema.get_all_operations()]
    statuses: Counter[int | str] = Counter()
    examples: Counter[str] = Counter()
    failures: list[str] = []
    with ThreadServer(broken) as server:
        fuzz_operation(op, server.url, requests.Session(), ["unused"], statuses, examples, failures)
    assert statuses[500] and statuses[200], statuses
    server_errors = [f for f in failures if f.startswith("GET /api/boom: Server error (500); 500 with content-type")]
    assert len(server_errors) == statuses[500], failures
    # FastAPI's own 422 body ({"detail": ...}) is not Threadline's error shape: reported too.
    assert len(failures) == statuses[500] + statuses[422], failures
