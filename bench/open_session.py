"""Opening a long session (issue 11 item 2): ``GET /api/session`` for the 2,000-message agent transcript
that ``bench/seed.py`` writes (about 1 MB of JSON), over HTTP from a real server, compressed as a
browser asks for it (``Accept-Encoding: gzip``), timed to the last byte on the wire:

- ``full``: the whole session (goal: <= 40 ms);
- ``window_300``: the UI's window, ``msg_limit=300`` (goal: <= 10 ms);
- ``last_30``: ``msg_limit=30`` (goal: <= 3 ms);
- ``first full``: the first full open after start-up, once (nothing of it redacted yet).

With ``--baseline REV`` (default: the revision before this work, ``BASELINE``), the same three rows are
measured side by side on a server running that revision's code (unpacked with ``git archive``) on the
same database, one request to each in turn, so both see the same load; the ratio of the medians is
the acceptance line: the full form answers compressed (``Content-Encoding``) and at least 3x faster.

Usage: ``python bench/open_session.py [--sessions 10000] [--home DIR] [--baseline REV | --no-baseline]
[--rounds 40] [--settle 15]``. Writes ``bench/results/open-<sessions>.json``; exits 1 when the acceptance line fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from bench.procs import free_port, wait_http  # noqa: E402
from bench.results import save  # noqa: E402
from bench.seed import OPEN_MESSAGES, OPEN_SESSION, seed  # noqa: E402

BASELINE = "47f3509"  # main before issue 11 item 2 (messages as a tree included): "today" in the acceptance line
ROWS: dict[str, dict[str, Any]] = {"full": {}, "window_300": {"msg_limit": 300}, "last_30": {"msg_limit": 30}}
GOALS_MS = {"full": 40.0, "window_300": 10.0, "last_30": 3.0}
REQUIRED_RATIO = 3.0


def fetch(client: httpx.Client, params: dict[str, Any]) -> tuple[float, int, str]:
    """One ``GET /api/session``: milliseconds to the last byte, bytes on the wire, Content-Encoding."""
    started = time.perf_counter()
    with client.stream("GET", "/api/session", params={"session_id": OPEN_SESSION, **params},
                       headers={"Accept-Encoding": "gzip"}) as response:
        response.raise_for_status()
        wire = sum(len(chunk) for chunk in response.iter_raw())
    return (time.perf_counter() - started) * 1000, wire, response.headers.get("content-encoding", "")


def first_open(client: httpx.Client) -> float:
    """The first full open after start-up, in milliseconds: nothing of the session redacted yet (see
    ``threadline.redact.MEMO``). Also checks that the server answers the seeded session in full (a
    wrong id or an empty page would time nothing)."""
    elapsed, _wire, _encoding = fetch(client, {})
    body = client.get("/api/session", params={"session_id": OPEN_SESSION}).json()["session"]
    assert len(body["messages"]) == OPEN_MESSAGES, len(body["messages"])
    return elapsed


def measure(clients: dict[str, httpx.Client], rounds: int, warmup: int = 5) -> dict[str, dict[str, Any]]:
    """Each row on each server, one request to each server in turn, ``rounds`` times after a warm-up."""
    result: dict[str, dict[str, Any]] = {}
    for row, params in ROWS.items():
        times: dict[str, list[float]] = {name: [] for name in clients}
        wire: dict[str, tuple[int, str]] = {}
        for index in range(warmup + rounds):
            for name, client in clients.items():
                elapsed, size, encoding = fetch(client, params)
                wire[name] = (size, encoding)
                if index >= warmup:
                    times[name].append(elapsed)
        for name, values in times.items():
            ordered = sorted(values)
            result.setdefault(name, {})[row] = {
                "median_ms": round(statistics.median(values), 2),
                "p95_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 2),
                "wire_bytes": wire[name][0],
                "content_encoding": wire[name][1] or None,
            }
    return result


def open_rows(client: httpx.Client, rounds: int = 40) -> dict[str, Any]:
    """The three rows on one server (``bench/run.py``), as flat keys: ``open_full_median_ms``..."""
    first = first_open(client)
    rows = measure({"server": client}, rounds)["server"]
    flat: dict[str, Any] = {}
    for row, values in rows.items():
        flat[f"open_{row}_median_ms"] = values["median_ms"]
        flat[f"open_{row}_p95_ms"] = values["p95_ms"]
    flat["open_first_full_ms"] = round(first, 2)
    flat["open_full_wire_bytes"] = rows["full"]["wire_bytes"]
    flat["open_full_content_encoding"] = rows["full"]["content_encoding"]
    return flat


@contextlib.contextmanager
def server(home: Path, src: Path) -> Iterator[httpx.Client]:
    """``threadline serve`` of the package under ``src`` on ``home``'s database as it is."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("THREADLINE_")}
    env.update(PYTHONPATH=str(src), THREADLINE_LOG_LEVEL="WARNING", THREADLINE_DETECT_OLLAMA="false")
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "serve_as_is.py"), "--home", str(home), "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/health", process, timeout=120)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            yield client
    finally:
        process.terminate()
        process.wait(timeout=15)


def unpack(revision: str, into: Path) -> Path:
    """The ``src/`` tree of ``revision`` of this repository, unpacked under ``into``."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "src"], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into / "src"


def load() -> str:
    """The load average (1, 5, 15 minutes), as ``uptime`` shows it."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def report(result: dict[str, Any]) -> bool:
    print(f"\n  N = {result['sessions']:,} sessions; load average before: {result['load_before']}, "
          f"after: {result['load_after']}")
    names = list(result["servers"])
    print(f"  {'row':<12}" + "".join(f"{name + ' median (p95), wire':>40}" for name in names))
    for row in ROWS:
        cells = []
        for name in names:
            values = result["servers"][name][row]
            cells.append(f"{values['median_ms']:>8} ms ({values['p95_ms']} ms), {values['wire_bytes']:,} B "
                         f"{values['content_encoding'] or 'identity'}")
        print(f"  {row:<12}" + "".join(f"{cell:>40}" for cell in cells))
    print(f"  {'first full':<12}" + "".join(f"{str(result['servers'][name]['first_full_ms']) + ' ms':>40}"
                                             for name in names))
    new = result["servers"]["current"]
    for row, goal in GOALS_MS.items():
        met = new[row]["median_ms"] <= goal
        print(f"  {'OK    ' if met else 'MISSED'} goal: {row} <= {goal} ms (median {new[row]['median_ms']} ms)")
    if "ratio_full" not in result:
        return True
    compressed = new["full"]["content_encoding"] == "gzip"
    ok = compressed and float(result["ratio_full"]) >= REQUIRED_RATIO
    print(f"\n  {'OK    ' if ok else 'MISSED'} acceptance: the full form answers compressed ({compressed}) and "
          f"{result['ratio_full']}x faster than {result['baseline']} (at least {REQUIRED_RATIO}x); "
          f"window_300 {result['ratio_window_300']}x, last_30 {result['ratio_last_30']}x")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark opening a 2,000-message session over HTTP.")
    parser.add_argument("--sessions", type=int, default=int(os.environ.get("BENCH_SESSIONS", 10_000)))
    parser.add_argument("--home", type=Path, help="reuse a home seeded by bench/seed.py with --sessions N")
    parser.add_argument("--baseline", default=BASELINE, help="the revision to compare with (default %(default)s)")
    parser.add_argument("--no-baseline", action="store_true", help="measure the checkout only")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--settle", type=float, default=15.0, help="seconds to wait after start-up")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="threadline-bench-open-") as tmp:
        home = args.home
        if home is None:
            home = Path(tmp) / "home"
            print(f"seeding {args.sessions:,} sessions into {home} ...", flush=True)
            asyncio.run(seed(home, args.sessions))
        sources = {"current": ROOT / "src"}
        if not args.no_baseline:
            sources["baseline"] = unpack(args.baseline, Path(tmp))
        result: dict[str, Any] = {"sessions": args.sessions, "load_before": load(), "database": "sqlite"}
        with contextlib.ExitStack() as stack:
            clients = {name: stack.enter_context(server(home, src)) for name, src in sources.items()}
            time.sleep(args.settle)  # start-up work in the background (provider SDK imports) ends first
            first = {name: first_open(client) for name, client in clients.items()}
            result["servers"] = measure(clients, args.rounds)
            for name, value in first.items():
                result["servers"][name]["first_full_ms"] = round(value, 2)
        result["load_after"] = load()
        if "baseline" in sources:
            result["baseline"] = args.baseline
            for row in ROWS:
                old, new = (result["servers"][name][row]["median_ms"] for name in ("baseline", "current"))
                result[f"ratio_{row}"] = round(old / new, 2)
    ok = report(result)
    save(f"open-{args.sessions}", result)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
