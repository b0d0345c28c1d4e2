"""Start-up time: ``threadline serve`` until ``/health`` answers, on an empty home and on homes of N
sessions (issue 11 item 3: <= 0.5 s, at N = 100k too), what the start-up imports, and the first run.

For each N (``--sessions 0,10000,100000``; 10 messages each, ``bench/seed.py``) the home is seeded
once and the server started ``--runs`` times on it; the median and the maximum are reported, wall
clock and the process's CPU time (which depends far less on what else the machine runs). One more
start runs under ``python -X importtime``: the imports made before ``/health`` answered are summed per
top-level package (self time), the largest listed. Then the first run (issue 11 item 4): a start with
the scripted LLM server, its first ``chat/start`` sent as soon as ``/health`` answers, timed, with
``/health`` asked every 20 ms until the run's stream ends. Writes ``bench/results/startup.json``.

Usage: ``python bench/startup.py [--runs 5] [--sessions 0,10000,100000] [--top 15]``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from bench.procs import free_port  # noqa: E402
from bench.results import save  # noqa: E402
from bench.seed import seed  # noqa: E402
from bench.servers import start_llm  # noqa: E402

TARGET_SECONDS = 0.5
IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux): unlike the wall clock, it hardly depends
    on what else the machine is doing."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_start(home: Path, *, importtime: Path | None = None) -> tuple[float, float, int]:
    """Seconds from the process's start to the first answer of ``/health``, the CPU seconds the
    process used until then, and how many bytes of stderr (the import-time log) it had written.
    Compiled bytecode is kept (in a cache beside the homes, as an installed package has it), so the
    first start only warms it."""
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("THREADLINE_", "OPENAI_", "ANTHROPIC_")) and k != "PYTHONDONTWRITEBYTECODE"}
    env.update(THREADLINE_LOG_LEVEL="WARNING",
               PYTHONPYCACHEPREFIX=str(home.parent / "pycache"))
    command = [sys.executable, *(["-X", "importtime"] if importtime else []), "-m", "threadline", "serve",
               "--home", str(home), "--port", str(port)]
    log = importtime or home.parent / "serve.log"
    err = log.open("wb")
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=err)
    try:
        with httpx.Client(timeout=0.5) as client:
            while True:
                try:
                    client.get(f"http://127.0.0.1:{port}/health").raise_for_status()
                    elapsed = time.perf_counter() - started
                    return elapsed, cpu_seconds(proc.pid), log.stat().st_size
                except httpx.HTTPError:
                    if proc.poll() is not None:
                        tail = log.read_text(errors="replace")[-2000:]
                        raise RuntimeError(f"server exited during start-up:\n{tail}") from None
                    time.sleep(0.005)
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        err.close()


def first_run(home: Path, llm_url: str) -> dict[str, Any]:
    """The first chat/start after start-up and /health while that run streams."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("THREADLINE_", "OPENAI_", "ANTHROPIC_"))}
    env.update(THREADLINE_LOG_LEVEL="WARNING", PYTHONPYCACHEPREFIX=str(home.parent / "pycache"),
               OPENAI_API_KEY="bench", OPENAI_BASE_URL=llm_url + "/v1", THREADLINE_DEFAULT_MODEL="openai/test-model",
               THREADLINE_LLM_TITLES="false")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    proc = subprocess.Popen([sys.executable, "-m", "threadline", "serve", "--home", str(home), "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    health: list[float] = []
    stop = threading.Event()

    def probe() -> None:
        with httpx.Client(base_url=base, timeout=30) as client:
            while not stop.is_set():
                began = time.perf_counter()
                client.get("/health")
                health.append((time.perf_counter() - began) * 1000)
                time.sleep(0.02)

    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            while True:
                try:
                    client.get("/health").raise_for_status()
                    break
                except httpx.HTTPError:
                    time.sleep(0.005)
            prober = threading.Thread(target=probe)
            prober.start()
            session = client.post("/api/session/new", json={}).json()["session"]["session_id"]
            began = time.perf_counter()
            started = client.post("/api/chat/start", json={"session_id": session,
                                                            "message": "first [[tokens=40 delay=0.02]]"})
            start_ms = (time.perf_counter() - began) * 1000
            first_token_ms = None
            params = {"stream_id": started.json()["stream_id"]}
            with client.stream("GET", "/api/chat/stream", params=params) as response:
                for line in response.iter_lines():
                    if line == "event: token" and first_token_ms is None:
                        first_token_ms = (time.perf_counter() - began) * 1000
                    if line.startswith("event: ") and line[7:] in ("stream_end", "apperror"):
                        break
            stop.set()
            prober.join()
    finally:
        stop.set()
        proc.terminate()
        proc.wait(timeout=15)
    return {"chat_start_ms": round(start_ms, 1), "first_token_ms": round(first_token_ms or 0.0, 1),
            "health_max_ms": round(max(health), 1), "health_median_ms": round(statistics.median(health), 1),
            "health_samples": len(health)}


def import_report(log: Path, upto: int, top: int) -> dict[str, Any]:
    """Self time per top-level package of the imports logged in the first ``upto`` bytes."""
    per_package: collections.Counter[str] = collections.Counter()
    modules = 0
    for line in log.read_bytes()[:upto].decode(errors="replace").splitlines():
        match = IMPORT_LINE.match(line)
        if match:
            modules += 1
            per_package[match.group(4).split(".")[0]] += int(match.group(1))
    return {
        "modules": modules,
        "total_ms": round(sum(per_package.values()) / 1000, 1),
        "top_packages_ms": {name: round(us / 1000, 1) for name, us in per_package.most_common(top)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sessions", default=os.environ.get("BENCH_STARTUP_SESSIONS", "0,10000,100000"),
                        help="comma-separated session counts to seed and start on")
    parser.add_argument("--top", type=int, default=15, help="packages listed in the import report")
    args = parser.parse_args()
    counts = [int(n) for n in args.sessions.split(",") if n.strip()]
    result: dict[str, Any] = {"runs": args.runs, "target_s": TARGET_SECONDS, "by_sessions": {},
                              "load_average": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        for count in counts:
            home = base / f"home{count}"
            if count:
                asyncio.run(seed(home, count, progress=False))
            else:
                home.mkdir()
            one_start(home)  # migrates a new home: not a measurement
            starts = [one_start(home) for _ in range(args.runs)]
            times, cpu = [s[0] for s in starts], [s[1] for s in starts]
            result["by_sessions"][str(count)] = {"median_s": round(statistics.median(times), 3),
                                                  "max_s": round(max(times), 3),
                                                  "cpu_median_s": round(statistics.median(cpu), 3)}
            print(f"  N = {count:>7,}: start-up to /health median {statistics.median(times):.3f} s, "
                  f"max {max(times):.3f} s, CPU {statistics.median(cpu):.3f} s", flush=True)
            if count == counts[0]:
                log = base / "importtime.log"
                _elapsed, _cpu, upto = one_start(home, importtime=log)
                result["imports_before_health"] = import_report(log, upto, args.top)
            llm = start_llm(base)
            try:
                result["by_sessions"][str(count)]["first_run"] = run = first_run(home, llm.url)
            finally:
                llm.stop()
            print(f"             first chat/start {run['chat_start_ms']} ms, first token {run['first_token_ms']} ms, "
                  f"/health max {run['health_max_ms']} ms while it ran", flush=True)
            shutil.rmtree(home)
    print(json.dumps(result, indent=2))
    worst = max(entry["median_s"] for entry in result["by_sessions"].values())
    print(f"start-up to /health, worst median {worst} s (target <= {TARGET_SECONDS} s) — "
          f"{'OK' if worst <= TARGET_SECONDS else 'MISSED'}")
    save("startup", {**result, "database": "sqlite"})


if __name__ == "__main__":
    main()
