"""Start-up time: ``threadline serve`` on a fresh state directory until ``/health`` answers.

Median of several starts (target: under 2 s). Usage: ``python bench/startup.py [--runs 5]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.procs import free_port  # noqa: E402


def one_start(home: Path) -> float:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("THREADLINE_")}
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "threadline", "serve", "--home", str(home), "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/health", timeout=0.5)
                return time.perf_counter() - started
            except httpx.HTTPError:
                if proc.poll() is not None:
                    raise RuntimeError("server exited during start-up") from None
                time.sleep(0.01)
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            times.append(one_start(Path(tmp) / f"home{i}"))
    result = {"startup_median_s": round(statistics.median(times), 3), "startup_max_s": round(max(times), 3),
              "runs": args.runs}
    print(json.dumps(result, indent=2))
    print(f"start-up to /health median {result['startup_median_s']} s (target < 2 s) — "
          f"{'OK' if result['startup_median_s'] < 2 else 'MISSED'}")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "startup.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
