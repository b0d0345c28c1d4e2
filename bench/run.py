"""Session-store benchmarks against a real server on loopback.

1. Seed N sessions x 10 messages (``bench/seed.py``; N from ``--sessions`` or ``BENCH_SESSIONS``, default
   100,000) into a fresh home.
2. Start ``threadline serve`` (uvicorn, its own process) on that home and measure over HTTP:
   - the first page of the list (``GET /api/sessions?limit=50``): median and p95 over 200 calls;
   - full-text search (``GET /api/sessions/search``): median over 50 different queries.
   - opening the 2,000-message session (``bench/open_session.py``): full, the UI's window of 300 and
     the last 30 messages, compressed, median and p95 over 40 calls each (goals, not targets: 40, 10
     and 3 ms; ``bench/open_session.py`` compares them with the previous revision side by side).
3. Append: there is no HTTP endpoint that only appends (``chat/start`` also starts a run), so appending
   is timed in-process through ``SessionService.append_user_message`` on the same database file:
   a 10-message session against a 10,000-message one, median over 200 appends each.
4. ``threadline import hermes`` of 1,000 generated Hermes WebUI sessions (a subprocess, wall clock).

Prints a table, writes ``bench/results/sessions.json`` and exits 1 when a target is missed.
``--database-url URL`` (or ``BENCH_DATABASE_URL``) runs it all on that database instead, e.g. an empty
PostgreSQL one, and writes ``bench/results/sessions-<dialect>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from bench.hermes_data import write_hermes_dir  # noqa: E402
from bench.open_session import GOALS_MS, open_rows  # noqa: E402
from bench.procs import free_port, wait_http  # noqa: E402
from bench.results import database_name, save  # noqa: E402
from bench.seed import (  # noqa: E402
    LARGE_MESSAGES,
    LARGE_SESSION,
    MESSAGES_PER_SESSION,
    RNG_SEED,
    SMALL_SESSION,
    SeedResult,
    seed,
    vocabulary,
)

TARGETS = {
    "list_median_ms": 20.0,
    "append_ratio": 2.0,
    "search_median_ms": 200.0,
    "hermes_import_seconds": 30.0,
}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def timed_get(client: httpx.Client, path: str, params: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    response = client.get(path, params=params)
    elapsed = (time.perf_counter() - started) * 1000
    response.raise_for_status()
    return elapsed, response.json()


def bench_list(client: httpx.Client, calls: int = 200) -> dict[str, Any]:
    for _ in range(20):
        timed_get(client, "/api/sessions", {"limit": 50})
    times = []
    for _ in range(calls):
        elapsed, body = timed_get(client, "/api/sessions", {"limit": 50})
        assert len(body["sessions"]) == 50
        times.append(elapsed)
    # A deep page, through the cursor, to show paging stays cheap.
    cursor = None
    deep = []
    for _ in range(20):
        elapsed, body = timed_get(client, "/api/sessions", {"limit": 50, **({"cursor": cursor} if cursor else {})})
        deep.append(elapsed)
        cursor = body["next_cursor"]
    return {
        "list_median_ms": round(statistics.median(times), 2),
        "list_p95_ms": round(percentile(times, 0.95), 2),
        "list_calls": calls,
        "list_page20_median_ms": round(statistics.median(deep), 2),
    }


def search_queries(words: list[str], count: int = 50) -> list[str]:
    rng = random.Random(99)
    queries = []
    for index in range(count):
        if index % 3 == 0:
            queries.append(f"{rng.choice(words)} {rng.choice(words)}")
        elif index % 3 == 1:
            queries.append(rng.choice(words))
        else:
            queries.append(rng.choice(words)[:4])  # a prefix
    return queries


def bench_search(client: httpx.Client, words: list[str]) -> dict[str, Any]:
    queries = search_queries(words)
    for query in queries[:5]:
        timed_get(client, "/api/sessions/search", {"q": query})
    times = []
    hits = []
    for query in queries:
        elapsed, body = timed_get(client, "/api/sessions/search", {"q": query})
        times.append(elapsed)
        hits.append(body["count"])
    return {
        "search_median_ms": round(statistics.median(times), 2),
        "search_p95_ms": round(percentile(times, 0.95), 2),
        "search_queries": len(queries),
        "search_median_hits": statistics.median(hits),
    }


async def bench_append(home: Path, appends: int = 200, database_url: str | None = None) -> dict[str, Any]:
    from threadline.services import Services
    from threadline.sessions import history
    from threadline.settings import Settings

    settings = Settings(home=home, default_workspace=home / "workspace", detect_ollama=False,
                        database_url=database_url)
    services = await Services.open(settings, migrate=False)
    sessions = services.sessions
    timings: dict[str, list[float]] = {SMALL_SESSION: [], LARGE_SESSION: []}
    sizes = {SMALL_SESSION: MESSAGES_PER_SESSION, LARGE_SESSION: LARGE_MESSAGES}
    order = [SMALL_SESSION, LARGE_SESSION]
    rng = random.Random(5)
    try:
        for index in range(appends + 20):
            # A random order each round, so periodic work (full-text segment merges, WAL checkpoints)
            # does not always land on the same session.
            rng.shuffle(order)
            for session_id in order:
                started = time.perf_counter()
                await sessions.append_user_message(session_id, f"append number {index} with a few words of text")
                elapsed = (time.perf_counter() - started) * 1000
                # Back to the original length (untimed), so every append sees the same transcript size.
                await history.truncate(sessions, session_id, sizes[session_id])
                if index >= 20:
                    timings[session_id].append(elapsed)
    finally:
        await services.close()
    small = statistics.median(timings[SMALL_SESSION])
    large = statistics.median(timings[LARGE_SESSION])
    return {
        "append_10_median_ms": round(small, 3),
        "append_10000_median_ms": round(large, 3),
        "append_ratio": round(large / small, 3),
        "append_calls": appends,
        "append_method": "in-process SessionService.append_user_message (no append-only HTTP endpoint)",
    }


def bench_hermes_import(home: Path, count: int = 1000, database_url: str | None = None) -> dict[str, Any]:
    """Into the seeded home, as a user with history would; fresh ids every run, so ``--home`` can be reused."""
    with tempfile.TemporaryDirectory() as tmp:
        directory = write_hermes_dir(Path(tmp) / "hermes", count, seed=time.time_ns())
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "threadline", "import", "hermes", str(directory), "--home", str(home)],
            capture_output=True, text=True,
            env={**os.environ, "TERM": "dumb", **({"THREADLINE_DATABASE_URL": database_url} if database_url else {})},
        )
        elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"hermes import failed: {result.stdout}\n{result.stderr}")
    assert f"Imported {count} session(s)" in result.stdout, result.stdout
    return {"hermes_import_seconds": round(elapsed, 2), "hermes_import_sessions": count}


def query_plans(db: Path) -> dict[str, list[str]]:
    """EXPLAIN QUERY PLAN of the list's first page and of a content search, for the record."""
    with sqlite3.connect(db) as conn:
        listing = conn.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM sessions WHERE kind = 'chat' AND NOT (message_count = 0 AND "
            "title = 'Untitled') AND archived = 0 ORDER BY pinned DESC, sort_at DESC, id DESC LIMIT 51"
        ).fetchall()
        search = conn.execute(
            "EXPLAIN QUERY PLAN SELECT m.session_id, bm25(messages_fts) AS score FROM messages_fts "
            "JOIN messages m ON m.id = messages_fts.rowid WHERE messages_fts MATCH 'x' ORDER BY score LIMIT 400"
        ).fetchall()
    return {"list": [row[-1] for row in listing], "search": [row[-1] for row in search]}


def start_server(home: Path, port: int, database_url: str | None = None) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("THREADLINE_")}
    env.update(THREADLINE_LOG_LEVEL="WARNING", THREADLINE_DETECT_OLLAMA="false")
    if database_url:
        env["THREADLINE_DATABASE_URL"] = database_url
    process = subprocess.Popen(
        [sys.executable, "-m", "threadline", "serve", "--home", str(home), "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    wait_http(f"http://127.0.0.1:{port}/health", process, timeout=120)
    return process


def report(result: dict[str, Any]) -> bool:
    rows = [
        ("sessions seeded", f"{result['sessions']:,} x {MESSAGES_PER_SESSION} messages ({result['seed_seconds']} s)"),
        ("list, first page of 50", f"median {result['list_median_ms']} ms, p95 {result['list_p95_ms']} ms"),
        ("list, page 20 via cursor", f"median {result['list_page20_median_ms']} ms"),
        ("append to 10 messages", f"median {result['append_10_median_ms']} ms"),
        ("append to 10,000 messages", f"median {result['append_10000_median_ms']} ms"),
        ("append ratio", f"{result['append_ratio']}x"),
        ("full-text search", f"median {result['search_median_ms']} ms, p95 {result['search_p95_ms']} ms"),
        *((f"open 2,000 messages, {row}", f"median {result[f'open_{row}_median_ms']} ms, p95 "
           f"{result[f'open_{row}_p95_ms']} ms (goal {goal} ms)") for row, goal in GOALS_MS.items()),
        ("open, first full after start", f"{result['open_first_full_ms']} ms"),
        ("hermes import of 1,000", f"{result['hermes_import_seconds']} s"),
    ]
    width = max(len(name) for name, _ in rows)
    print()
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    print()
    ok = True
    for key, limit in TARGETS.items():
        passed = result[key] < limit
        ok = ok and passed
        print(f"  {'OK    ' if passed else 'MISSED'} {key} = {result[key]} (target < {limit})")
    print(f"\n  append measured: {result['append_method']}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark the session store over HTTP.")
    parser.add_argument("--sessions", type=int, default=int(os.environ.get("BENCH_SESSIONS", 100_000)))
    parser.add_argument("--home", type=Path, help="reuse a home seeded by bench/seed.py with --sessions N")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"),
                        help="an empty database to run on instead of the home's SQLite file (e.g. PostgreSQL)")
    args = parser.parse_args()
    url = args.database_url
    with tempfile.TemporaryDirectory(prefix="threadline-bench-") as tmp:
        if args.home:
            home = args.home
            seeded = SeedResult(args.sessions, 0, 0.0, vocabulary(random.Random(RNG_SEED)))
        else:
            home = Path(tmp) / "home"
            print(f"seeding {args.sessions:,} sessions into {home} ...", flush=True)
            seeded = asyncio.run(seed(home, args.sessions, database_url=url))
        result: dict[str, Any] = {"sessions": args.sessions, "seed_seconds": round(seeded.seconds, 1)}
        port = free_port()
        server = start_server(home, port, url)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
                result.update(bench_list(client))
                result.update(bench_search(client, seeded.vocabulary))
                result.update(open_rows(client))
        finally:
            server.terminate()
            server.wait(timeout=15)
        result.update(asyncio.run(bench_append(home, database_url=url)))
        if not url:
            result["query_plans"] = query_plans(home / "threadline.db")
        result.update(bench_hermes_import(home, database_url=url))
        result["database"] = database_name(url)
    ok = report(result)
    save("sessions", result)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
