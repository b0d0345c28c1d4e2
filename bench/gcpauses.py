"""Garbage-collection pauses of a real server under load, with CPython's default collector settings and
with ``threadline.cli.gcpolicy.server_gc`` (``gc.freeze()`` after start-up, server thresholds).

The server runs under a wrapper (this file with ``--serve``) that records every collection with
``gc.callbacks`` (generation, start, duration) and writes them to a file; ``--streams`` streams of
``--tokens`` tokens run through it, and the collections made while they ran are summed up per
generation: count, p99 and longest pause, total time. Also the server's CPU time per relayed token.
Writes ``bench/results/gcpauses.json``.

Usage: ``python bench/gcpauses.py [--streams 200] [--tokens 500] [--delay 0.05]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.results import save  # noqa: E402

REPORT_ENV = "BENCH_GC_REPORT"
DEFAULTS_ENV = "BENCH_GC_DEFAULTS"


def serve(argv: list[str]) -> int:
    """The server with its collections recorded (``--serve`` mode, in the server process)."""
    log: list[tuple[int, float, float]] = []
    began = [0.0]

    def record(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            began[0] = time.time()
        else:
            log.append((int(info["generation"]), began[0], (time.time() - began[0]) * 1000))

    def write_forever(path: Path) -> None:
        while True:  # uvicorn ends the process with the signal it got: no exit hook would run
            time.sleep(0.5)
            path.write_text(json.dumps(list(log)))

    gc.callbacks.append(record)
    threading.Thread(target=write_forever, args=(Path(os.environ[REPORT_ENV]),), daemon=True).start()
    import threadline.cli.gcpolicy

    if os.environ.get(DEFAULTS_ENV):
        threadline.cli.gcpolicy.server_gc = lambda: None  # CPython's defaults, for the comparison
    from threadline.cli import main

    return main(argv)


def summary(log: list[list[float]], window: tuple[float, float]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for generation in (0, 1, 2):
        pauses = sorted(ms for gen, at, ms in log if gen == generation and window[0] <= at <= window[1])
        out[f"gen{generation}"] = {
            "count": len(pauses), "total_ms": round(sum(pauses), 1),
            "p99_ms": round(pauses[min(len(pauses) - 1, int(len(pauses) * 0.99))], 2) if pauses else 0.0,
            "max_ms": round(pauses[-1], 2) if pauses else 0.0,
        }
    return out


def measure(defaults: bool, args: argparse.Namespace) -> dict[str, Any]:
    from bench.servers import Deployment, start_llm
    from bench.streams import StreamJob, check_stored, client_pool, delivery, directive, run_streams

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        report = root / "gc.json"
        llm = start_llm(root)
        deployment = Deployment(root, llm, launcher=[str(Path(__file__).resolve()), "--serve"],
                                extra_env={REPORT_ENV: str(report), **({DEFAULTS_ENV: "1"} if defaults else {})})
        server = deployment.start("i0")
        try:
            jobs = [StreamJob(i, server.url, server.url, 2.0 * i / args.streams) for i in range(args.streams)]
            with client_pool(2, [server.url]) as pool:
                cpu, began = server.cpu(), time.time()
                futures = [pool.submit(run_streams, jobs[k::2], directive(args.tokens, args.delay)) for k in range(2)]
                results = [r for future in futures for r in future.result()]
                window = (began, time.time())
                cpu = server.cpu() - cpu
            check_stored(results, server.url)
            time.sleep(1.0)
            log = json.loads(report.read_text())
        finally:
            server.stop()
            llm.stop()
    counts = delivery(results, args.tokens)
    return {"collector": "CPython defaults" if defaults else "server_gc", **summary(log, window),
            "cpu_ms_per_token": round(cpu * 1000 / max(1, counts["tokens_received"]), 4),
            "tokens_lost": counts["lost"], "seconds": round(window[1] - window[0], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--tokens", type=int, default=500)
    parser.add_argument("--delay", type=float, default=0.05)
    args = parser.parse_args()
    result = {"load_average_before": os.getloadavg()[0], "runs": [measure(True, args), measure(False, args)],
              "streams": args.streams, "tokens": args.tokens}
    print(json.dumps(result, indent=2))
    for run in result["runs"]:
        print(f"{run['collector']:>16}: full collections {run['gen2']['count']} (longest {run['gen2']['max_ms']} ms), "
              f"longest pause of any generation {max(run[g]['max_ms'] for g in ('gen0', 'gen1', 'gen2'))} ms, "
              f"GC total {sum(run[g]['total_ms'] for g in ('gen0', 'gen1', 'gen2')):.0f} ms in {run['seconds']} s, "
              f"CPU {run['cpu_ms_per_token']} ms per token")
    save("gcpauses", {**result, "database": "sqlite"})


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        sys.path.insert(0, str(ROOT / "src"))
        raise SystemExit(serve(sys.argv[2:]))
    main()
