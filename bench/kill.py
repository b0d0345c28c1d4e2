"""SIGKILL a Threadline server in the middle of streamed answers, many times (issue 10's acceptance).

Each trial starts a server on the same home, starts a 200-token answer (20 tokens a second, a
typical model's pace), reads a random number of its
tokens, kills the server with SIGKILL, starts it again, and checks what a user would see:

- the client that resumes with the last event id it saw receives exactly one terminal event;
- the session is not stuck: a new ``chat/start`` is accepted;
- tokens lost: tokens the client had received that are not in the stored (interrupted) answer.

Usage: ``python bench/kill.py [--trials 100] [--database-url postgresql+asyncpg://...]``.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.procs import free_port, start_llm, start_threadline  # noqa: E402

TERMINAL = ("stream_end", "apperror", "cancel")


def read_until(base: str, stream_id: str, tokens: int) -> tuple[str, list[str]]:
    """Read ``tokens`` tokens; the last event id seen and the texts."""
    last_id, texts, name = "", [], ""
    with httpx.stream("GET", f"{base}/api/chat/stream", params={"stream_id": stream_id}, timeout=30) as r:
        for line in r.iter_lines():
            if line.startswith("id: "):
                last_id = line[4:]
            elif line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: ") and name == "token":
                texts.append(json.loads(line[6:])["text"])
                if len(texts) >= tokens:
                    break
    return last_id, texts


def resume(base: str, stream_id: str, last_id: str) -> list[str]:
    r = httpx.get(f"{base}/api/chat/stream", params={"stream_id": stream_id},
                  headers={"Last-Event-ID": last_id}, timeout=30)
    return [line[7:] for line in r.text.splitlines() if line.startswith("event: ")]


def trial(base: str, home: Path, port: int, llm_port: int, env: dict[str, str], rng: random.Random,
          ) -> tuple[subprocess.Popen[bytes], dict[str, object]]:
    server = start_threadline(home, port, llm_port, **env)
    sid = httpx.post(f"{base}/api/session/new", json={}, timeout=30).json()["session"]["session_id"]
    started = httpx.post(f"{base}/api/chat/start", timeout=30,
                         json={"session_id": sid, "message": "[[tokens=200 delay=0.05 chunk=1]] go"}).json()
    last_id, received = read_until(base, started["stream_id"], rng.randint(10, 150))
    server.send_signal(signal.SIGKILL)
    server.wait(timeout=10)
    server = start_threadline(home, port, llm_port, **env)
    events = resume(base, started["stream_id"], last_id)
    session = httpx.get(f"{base}/api/session", params={"session_id": sid}, timeout=30).json()["session"]
    stored = "".join(m["content"] for m in session["messages"] if m["role"] == "assistant"
                     and m.get("status") == "interrupted")
    again = httpx.post(f"{base}/api/chat/start", json={"session_id": sid, "message": "[[tokens=3]] again"},
                       timeout=30)
    return server, {
        "terminal_events": sum(1 for e in events if e in TERMINAL),
        "stuck": again.status_code != 200,
        "lost": max(0, len(received) - len(stored.split())),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    env = {"THREADLINE_DATABASE_URL": args.database_url} if args.database_url else {}
    llm_port, port = free_port(), free_port()
    llm = start_llm(llm_port)
    base = f"http://127.0.0.1:{port}"
    results = []
    started = time.monotonic()
    server: subprocess.Popen[bytes] | None = None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp) / "home"
            for _ in range(args.trials):
                server, result = trial(base, home, port, llm_port, env, rng)
                results.append(result)
                server.send_signal(signal.SIGTERM)
                server.wait(timeout=30)
    finally:
        if server is not None and server.poll() is None:
            server.kill()
        llm.terminate()
    lost = [int(r["lost"]) for r in results]  # type: ignore[call-overload]
    print(json.dumps({
        "trials": len(results),
        "seconds": round(time.monotonic() - started, 1),
        "resumed_with_exactly_one_terminal_event": sum(1 for r in results if r["terminal_events"] == 1),
        "stuck_sessions": sum(1 for r in results if r["stuck"]),
        "tokens_lost": {"mean": round(statistics.mean(lost), 2), "max": max(lost)},
    }))


if __name__ == "__main__":
    main()
