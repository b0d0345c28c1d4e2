"""``threadline import hermes`` at growing sizes: sessions per second, and whether time stays linear.

For each size (default 1,000, 4,000 and 10,000 sessions; ``--sizes`` or ``BENCH_IMPORT_SIZES``, and
``--with-100k`` or ``BENCH_IMPORT_100K=1`` adds 100,000) a Hermes WebUI ``sessions/`` directory is
generated (``bench/hermes_data.py``: about 16 messages a session, tool calls, list content, projects),
then imported into a fresh home by the real command in its own process. Reported per size: the import's
own time (from the command's summary) and sessions per second, and the whole command's wall clock
(start-up and migrations included). ``--runs N`` repeats each size and keeps the fastest.

Targets (issue 11): 10,000 sessions in at most 20 s, and 4,000 in at most 4.5x the time of 1,000.
Prints a table, writes ``bench/results/import.json`` and exits 1 when a target is missed.
``--database-url URL`` (or ``BENCH_DATABASE_URL``) imports into that database instead (emptied first:
use a throwaway one), e.g. PostgreSQL; the results go to ``bench/results/import-<dialect>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from bench.hermes_data import write_hermes_dir  # noqa: E402
from bench.results import database_name, save  # noqa: E402

TARGET_10K_SECONDS = 20.0
TARGET_RATIO = 4.5
SUMMARY = re.compile(r"Imported (\d+) session\(s\) in ([\d.]+) s")


async def _empty(url: str) -> None:
    from threadline.store import tables as t
    from threadline.store.engine import Store

    store = Store(url)
    try:
        await store.migrate()
        async with store.write() as conn:
            for table in reversed(t.metadata.sorted_tables):
                await conn.execute(table.delete())
    finally:
        await store.close()


def import_once(directory: Path, home: Path, count: int, database_url: str | None) -> dict[str, float]:
    """One run of the command into an empty database; the import's own seconds and the wall clock."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("THREADLINE_")}
    env.update(PYTHONPATH=str(ROOT / "src"), THREADLINE_DETECT_OLLAMA="false")
    if database_url:
        asyncio.run(_empty(database_url))
        env["THREADLINE_DATABASE_URL"] = database_url
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "threadline", "import", "hermes", str(directory), "--home", str(home)],
        capture_output=True, text=True, env=env,
    )
    wall = time.perf_counter() - started
    found = SUMMARY.search(result.stdout)
    if result.returncode != 0 or found is None or int(found.group(1)) != count:
        raise RuntimeError(f"import of {count} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return {"import_seconds": float(found.group(2)), "command_seconds": round(wall, 2)}


def bench(sizes: list[int], runs: int, database_url: str | None) -> dict[str, Any]:
    results: dict[str, Any] = {"sizes": {}}
    with tempfile.TemporaryDirectory(prefix="threadline-bench-import-") as tmp:
        for count in sizes:
            print(f"generating {count:,} Hermes sessions ...", flush=True)
            directory = write_hermes_dir(Path(tmp) / f"hermes-{count}", count, seed=count)
            best: dict[str, float] | None = None
            for run in range(runs):
                measured = import_once(directory, Path(tmp) / f"home-{count}-{run}", count, database_url)
                print(f"  {count:,}: import {measured['import_seconds']} s, command {measured['command_seconds']} s",
                      flush=True)
                if best is None or measured["import_seconds"] < best["import_seconds"]:
                    best = measured
            assert best is not None
            rate = count / best["import_seconds"] if best["import_seconds"] else float("inf")
            results["sizes"][str(count)] = {**best, "sessions_per_second": round(rate)}
    by_size = results["sizes"]
    if "1000" in by_size and "4000" in by_size:
        results["ratio_4k_1k"] = round(by_size["4000"]["import_seconds"] / by_size["1000"]["import_seconds"], 2)
    return results


def report(results: dict[str, Any]) -> bool:
    print()
    for count, row in results["sizes"].items():
        print(f"  {int(count):>9,} sessions  import {row['import_seconds']:>7.2f} s  "
              f"{row['sessions_per_second']:>7,} sessions/s  command {row['command_seconds']:>7.2f} s")
    ok = True
    if "ratio_4k_1k" in results:
        passed = results["ratio_4k_1k"] <= TARGET_RATIO
        ok = ok and passed
        print(f"\n  {'OK    ' if passed else 'MISSED'} time 4,000 / time 1,000 = {results['ratio_4k_1k']} "
              f"(target <= {TARGET_RATIO})")
    if "10000" in results["sizes"]:
        seconds = results["sizes"]["10000"]["import_seconds"]
        passed = seconds <= TARGET_10K_SECONDS
        ok = ok and passed
        print(f"  {'OK    ' if passed else 'MISSED'} 10,000 sessions in {seconds} s (target <= {TARGET_10K_SECONDS})")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark `threadline import hermes`.")
    default_sizes = os.environ.get("BENCH_IMPORT_SIZES", "1000,4000,10000")
    parser.add_argument("--sizes", default=default_sizes, help="comma-separated session counts")
    parser.add_argument("--with-100k", action="store_true", default=os.environ.get("BENCH_IMPORT_100K") == "1",
                        help="add 100,000 sessions (about 850 MB of files, several minutes)")
    parser.add_argument("--runs", type=int, default=1, help="runs per size; the fastest counts")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"),
                        help="a throwaway database to import into instead of each home's SQLite file")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
    if args.with_100k and 100_000 not in sizes:
        sizes.append(100_000)
    results = bench(sizes, max(1, args.runs), args.database_url)
    results["database"] = database_name(args.database_url)
    ok = report(results)
    save("import", results)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
