"""Two (three) real server processes sharing PostgreSQL, Redis and a scripted LLM: a session made on A
is used on B, streamed and replayed from A, cancelled through B, answered across instances, and the
runs of an instance killed mid-answer are interrupted by the survivors once its lease expires."""

from __future__ import annotations

import json
import os
import signal
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
from tests.pg import PgDatabases
from tests.sse import TERMINAL, Frame, FrameParser, done
from threadline.cluster.node import sweep_interval

pytestmark = pytest.mark.slow

LEASE = 3.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Instance:
    name: str
    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@dataclass
class Deployment:
    database_url: str
    redis_url: str
    prefix: str
    llm: ScriptedLLM
    root: Path

    def start(self, name: str, extra: dict[str, str] | None = None, *,
              launcher: tuple[str, ...] = ("-m", "threadline"), lease: float = LEASE,
              options: tuple[str, ...] = ()) -> Instance:
        """``extra``: more environment; ``launcher`` follows the interpreter (a wrapper script in place of
        ``-m threadline``); ``options`` are more flags of ``serve``."""
        home = self.root / name
        home.mkdir(parents=True, exist_ok=True)
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("THREADLINE_")}
        env.update({
            "OPENAI_API_KEY": "test-key",
            "OPENAI_BASE_URL": self.llm.openai_url,
            "THREADLINE_DEFAULT_MODEL": "openai/test-model",
            "THREADLINE_DETECT_OLLAMA": "false",
            "THREADLINE_LLM_TITLES": "false",
            "THREADLINE_WORKSPACE_ROOTS": json.dumps([str(self.root)]),
            "THREADLINE_DEFAULT_WORKSPACE": str(self.root / "workspace"),
            "THREADLINE_DATABASE_URL": self.database_url,
            "THREADLINE_REDIS_URL": self.redis_url,
            "THREADLINE_REDIS_PREFIX": self.prefix,
            "THREADLINE_RUN_LEASE_SECONDS": str(lease),
            "THREADLINE_INSTANCE_ID": name,
            "THREADLINE_HEARTBEAT_SECONDS": "1",
            "THREADLINE_LOG_JSON": "1",
        })
        env.update(extra or {})
        log = self.root / f"{name}.log"
        proc = subprocess.Popen(
            [sys.executable, *launcher, "serve", *options, "--home", str(home), "--port", str(port)],
            env=env, stdout=subprocess.DEVNULL, stderr=log.open("wb"),
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            try:
                if httpx.get(f"{url}/health/ready", timeout=0.5).status_code == 200:
                    return Instance(name, url, proc, log)
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        proc.kill()
        raise AssertionError(f"instance {name} did not start:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def deployment(
    pg_server: PgDatabases, redis_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    name = pg_server.create(migrated=False)  # the instances migrate it, together
    root = tmp_path_factory.mktemp("cluster")
    (root / "workspace").mkdir()
    prefix = f"tl-test-{name}"
    with ScriptedLLM() as llm:
        yield Deployment(pg_server.url_for(name), redis_server, prefix, llm, root)
    pg_server.drop(name)
    import redis as sync_redis

    client = sync_redis.Redis.from_url(redis_server)
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(scope="module")
def pair(deployment: Deployment) -> Iterator[tuple[Instance, Instance]]:
    a, b = deployment.start("a"), deployment.start("b")
    yield a, b
    a.stop()
    b.stop()


def read_stream(client: httpx.Client, stream_id: str, *, after: str | None = None,
                limit: int | None = None) -> list[Frame]:
    """(id, event, data) frames until a terminal event (or ``limit`` frames)."""
    headers = {"Last-Event-ID": after} if after else {}
    frames: list[Frame] = []
    parser = FrameParser()
    with client.stream("GET", "/api/chat/stream", params={"stream_id": stream_id}, headers=headers) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            frame = parser.feed(line)
            if frame is not None:
                frames.append(frame)
                if done(frames, TERMINAL, limit):
                    break
    return frames


def new_session(client: httpx.Client) -> str:
    response = client.post("/api/session/new", json={})
    assert response.status_code == 200, response.text
    return str(response.json()["session"]["session_id"])


def start(client: httpx.Client, session_id: str, message: str) -> str:
    response = client.post("/api/chat/start", json={"session_id": session_id, "message": message})
    assert response.status_code == 200, response.text
    return str(response.json()["stream_id"])


def session(client: httpx.Client, session_id: str) -> dict[str, Any]:
    response = client.get("/api/session", params={"session_id": session_id})
    assert response.status_code == 200, response.text
    return dict(response.json()["session"])


def wait_for(predicate: Any, timeout: float, what: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def text_of(frames: list[tuple[str, str, dict[str, Any]]]) -> str:
    return "".join(f[2]["text"] for f in frames if f[1] == "token")


def test_create_on_a_chat_on_b_stream_and_replay_from_a(pair: tuple[Instance, Instance]) -> None:
    a, b = pair
    with a.client() as on_a, b.client() as on_b:
        sid = new_session(on_a)  # a draft, in Redis
        stream_id = start(on_b, sid, "[[tokens=60 delay=0.01 chunk=1]] hello")
        frames = read_stream(on_a, stream_id)  # B runs it; A tails it from Redis
        assert frames[-1][1] == "stream_end"
        assert text_of(frames) == "".join(f"t{i} " for i in range(60))
        seqs = [int(f[0].rsplit(":", 1)[1]) for f in frames]
        assert seqs == list(range(1, len(frames) + 1))
        assert read_stream(on_b, stream_id) == frames  # the owner's own replay agrees

        # Replay from A after the end, from the middle, with Last-Event-ID.
        resumed = read_stream(on_a, stream_id, after=f"{stream_id}:20")
        assert resumed == frames[20:]

        stored = session(on_a, sid)
        assert stored["active_stream_id"] is None
        assert [m["role"] for m in stored["messages"]] == ["user", "assistant"]
        assert stored["messages"][-1]["content"] == text_of(frames)
        status = on_a.get("/api/chat/stream/status", params={"stream_id": stream_id}).json()
        assert status["status"] == "succeeded" and status["active"] is False


def test_replay_from_the_database_once_the_stream_expired(pair: tuple[Instance, Instance],
                                                          deployment: Deployment) -> None:
    import redis as sync_redis

    a, b = pair
    with a.client() as on_a, b.client() as on_b:
        sid = new_session(on_b)
        stream_id = start(on_a, sid, "[[tokens=15]] old")
        frames = read_stream(on_b, stream_id)
        # The owner writes the log's last events to run_events just after sending them.
        # (``last_seq`` turns null once the owner no longer holds the run in memory.)
        wait_for(lambda: on_a.get("/api/chat/stream/status", params={"stream_id": stream_id}).json()["last_seq"]
                 is None, 5, "the run to be flushed on A")
        client = sync_redis.Redis.from_url(deployment.redis_url)
        assert client.delete(f"{deployment.prefix}:run:{stream_id}") == 1
        client.close()
        assert read_stream(on_b, stream_id) == frames
        assert read_stream(on_b, stream_id, after=f"{stream_id}:5") == frames[5:]


def test_cancel_through_b_of_a_run_on_a(pair: tuple[Instance, Instance]) -> None:
    a, b = pair
    with a.client() as on_a, b.client() as on_b:
        sid = new_session(on_b)
        stream_id = start(on_a, sid, "[[tokens=400 delay=0.02 chunk=1]] long")
        first = read_stream(on_b, stream_id, limit=6)
        assert [f[1] for f in first] == ["context_status"] + ["token"] * 5  # the gauge, then the answer
        started = time.monotonic()
        response = on_b.post("/api/chat/cancel", json={"stream_id": stream_id})
        took = time.monotonic() - started
        assert response.status_code == 200 and response.json()["cancelled"] is True, response.text
        # When cancel returns, the session is free, on both instances.
        for client in (on_a, on_b):
            stored = session(client, sid)
            assert stored["active_stream_id"] is None
            assert stored["messages"][-1]["content"] == "*Task cancelled.*"
            assert stored["messages"][-2]["status"] == "partial"
        frames = read_stream(on_b, stream_id, after=f"{stream_id}:5")
        assert frames[-1][1] == "cancel"
        assert took < 5, took
        again = start(on_b, sid, "[[tokens=3]] next")  # accepted at once
        assert read_stream(on_a, again)[-1][1] == "stream_end"


def test_approval_answered_on_the_other_instance(pair: tuple[Instance, Instance]) -> None:
    a, b = pair
    with a.client() as on_a, b.client() as on_b:
        sid = new_session(on_a)
        stream_id = start(on_b, sid, '[[tool=run_shell {"command": "echo cluster-ok"}]] run it')
        pending: dict[str, Any] = {}

        def asked() -> bool:
            pending.update(on_a.get("/api/approval/pending", params={"session_id": sid}).json())
            return pending.get("pending") is not None

        wait_for(asked, 15, "the approval to show on A")
        assert pending["pending"]["stream_id"] == stream_id
        assert pending["pending"]["covers"] == ["echo"]
        # A waits for nothing itself, yet says the session needs approval, in the list and the session.
        assert on_a.get("/api/session", params={"session_id": sid}).json()["session"]["pending_approval"] is True
        assert next(s for s in on_a.get("/api/sessions").json()["sessions"] if s["session_id"] == sid)[
            "pending_approval"] is True
        answer = on_a.post("/api/approval/respond", json={"session_id": sid, "choice": "once",
                                                          "approval_id": pending["pending"]["approval_id"]})
        assert answer.status_code == 200 and answer.json()["matched"] is True, answer.text
        frames = read_stream(on_a, stream_id)
        assert frames[-1][1] == "stream_end"
        assert "cluster-ok" in text_of(frames)
        assert on_b.get("/api/session", params={"session_id": sid}).json()["session"]["pending_approval"] is False


def test_sigkill_mid_run_is_interrupted_by_a_survivor(pair: tuple[Instance, Instance],
                                                      deployment: Deployment) -> None:
    a, _b = pair
    c = deployment.start("c")
    try:
        with a.client() as on_a, c.client() as on_c:
            sid = new_session(on_a)
            stream_id = start(on_c, sid, "[[tokens=2000 delay=0.02 chunk=1]] long")
            assert len(read_stream(on_a, stream_id, limit=30)) == 30
            time.sleep(0.6)  # a checkpoint has stored some text
            c.proc.send_signal(signal.SIGKILL)
            killed = time.monotonic()
            c.proc.wait(timeout=10)

            def interrupted() -> bool:
                status = on_a.get("/api/chat/stream/status", params={"stream_id": stream_id}).json()
                return bool(status["status"] == "interrupted")

            wait_for(interrupted, LEASE + sweep_interval(LEASE) + 5, "the run to be marked interrupted")
            elapsed = time.monotonic() - killed
            print(f"\nrun of the killed instance interrupted {elapsed:.2f} s after SIGKILL (lease {LEASE} s)")
            assert elapsed <= LEASE + sweep_interval(LEASE) + 1.0, elapsed

            stored = session(on_a, sid)
            assert stored["active_stream_id"] is None
            partial, marker = stored["messages"][-2:]
            assert partial["status"] == "interrupted" and partial["content"].startswith("t0 t1 ")
            assert marker["content"].startswith("*Interrupted")
            # A tail of the stream ends with the interruption, and replays agree.
            frames = read_stream(on_a, stream_id, after=f"{stream_id}:30")
            assert frames[-1][1] == "apperror" and frames[-1][2]["type"] == "interrupted"
            again = start(on_a, sid, "[[tokens=3]] after the crash")
            assert read_stream(on_a, again)[-1][1] == "stream_end"
    finally:
        c.stop(signal.SIGKILL)


def test_instances_log_json_lines(pair: tuple[Instance, Instance]) -> None:
    a, _b = pair
    with a.client() as on_a:
        assert on_a.get("/health").status_code == 200
        metrics = on_a.get("/metrics").text
    assert 'threadline_http_requests_total{method="GET",route="/health",status="200"}' in metrics
    lines = [line for line in a.log.read_text().splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]
    assert any(e.get("path") == "/health" and e.get("status") == 200 for e in entries)
    assert all(e["instance"] == "a" for e in entries)
