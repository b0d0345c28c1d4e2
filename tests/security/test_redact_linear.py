"""Redaction takes linear time on any input (issue 10 item 4): 1 MB of adversarial text per rule is
redacted in well under a second (the old patterns took 40 s on 100 KB of ``sk-sk-sk-...``), and a
server fetching a 1 MB adversarial session keeps answering ``/health`` within 100 ms."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import httpx
import pytest
from bench.procs import free_port, wait_http

from tests.security.adversarial import corpus, mixed
from threadline.redact import MASK, RULES, redact_text

SIZE = 1_000_000
BUDGET = 1.0  # seconds per megabyte; the bench (bench/redact.py) measures 5-100 ms on an idle machine


@functools.cache
def texts() -> dict[str, dict[str, str]]:
    return corpus(SIZE)


CASES = [(rule, case) for rule, cases in corpus(100).items() for case in cases]


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Stop the code inside after ``seconds`` (SIGALRM: the regex engine checks for signals), so a
    super-linear pattern fails the test instead of running for hours."""

    def expire(_signum: int, _frame: FrameType | None) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_the_corpus_attacks_every_rule() -> None:
    assert {rule.name for rule in RULES} <= set(corpus(100)) - {"all"}


@pytest.mark.parametrize(("rule", "case"), CASES)
def test_a_megabyte_of_adversarial_text_is_redacted_in_well_under_a_second(rule: str, case: str) -> None:
    text = texts()[rule][case]
    assert len(text) == SIZE
    started = time.perf_counter()
    with deadline(5 * BUDGET):
        redact_text(text)
    elapsed = time.perf_counter() - started
    assert elapsed < BUDGET, f"{rule} / {case}: {elapsed:.2f} s for 1 MB"


def test_adversarial_inputs_are_still_redacted_right() -> None:
    """The rewritten patterns keep what they catch at this size too."""
    with deadline(30 * BUDGET):
        headers = redact_text(texts()["pem"]["repeated unterminated headers"])
        keys = redact_text(texts()["pem"]["many whole keys"])
        run = redact_text(texts()["sk"]["digit at the very end"])
        no_digit = redact_text(texts()["sk"]["repeated prefix"])
        near = redact_text(texts()["bearer"]["near misses"])
    assert headers == "-----BEGIN RSA PRIVATE KEY-----\n" + MASK  # one block, unterminated: all of it
    blocks = keys.count("-----BEGIN EC PRIVATE KEY-----")
    assert "MIIE" not in keys and keys.count(MASK) == blocks > 15_000  # the last one is cut: unterminated
    assert run == "sk-" + MASK  # one run holding a digit
    assert no_digit == texts()["sk"]["repeated prefix"]  # no digit: no key
    assert near == texts()["bearer"]["near misses"]


def start_server(home: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("THREADLINE_", "OPENAI_", "ANTHROPIC_"))}
    env |= {"THREADLINE_DETECT_OLLAMA": "false", "THREADLINE_LOG_LEVEL": "WARNING"}
    process = subprocess.Popen([sys.executable, "-m", "threadline", "serve", "--home", str(home), "--port",
                                str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/health", process)
    return process, url


@pytest.mark.slow
async def test_health_answers_within_100_ms_while_a_megabyte_session_is_redacted(tmp_path: Path) -> None:
    """A real server process: redacting a large session happens off its event loop."""
    process, url = start_server(tmp_path / "home")
    try:
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            messages = [{"role": "user" if i % 2 == 0 else "assistant", "content": mixed(SIZE // 16, seed=i)}
                        for i in range(16)]
            imported = await client.post("/api/session/import", json={"title": "adversarial", "messages": messages})
            assert imported.status_code == 200, imported.text
            session_id = imported.json()["session"]["session_id"]
            fetched = asyncio.Event()
            latencies: list[float] = []

            async def fetch() -> list[httpx.Response]:
                try:
                    return [await client.get(path, params={"session_id": session_id})
                            for path in ("/api/session", "/api/session/export", "/api/session")]
                finally:
                    fetched.set()

            async def ping() -> None:
                async with httpx.AsyncClient(base_url=url, timeout=30) as other:
                    while not fetched.is_set():
                        started = time.perf_counter()
                        health = await other.get("/health")
                        latencies.append(time.perf_counter() - started)
                        assert health.status_code == 200
                        await asyncio.sleep(0.01)

            responses, _ = await asyncio.gather(fetch(), ping())
    finally:
        process.terminate()
        process.wait(10)
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert all(len(r.content) > SIZE // 2 for r in responses)  # the whole session, redacted
    assert len(latencies) >= 3, latencies  # /health was asked while the session was being shaped
    # Redacting on the event loop blocked /health for the whole fetch (27 s on main for 100 KB). Off the
    # loop it answers as usual: half the pings within 100 ms, none near a second, even on a loaded CI
    # machine (the idle-machine figure, every ping under 100 ms, is bench/redact.py's to report).
    assert statistics.median(latencies) < 0.1, f"/health median {statistics.median(latencies) * 1000:.0f} ms"
    assert max(latencies) < 1.0, f"/health took up to {max(latencies) * 1000:.0f} ms: {latencies}"
