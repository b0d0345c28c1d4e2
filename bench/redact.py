"""Secrets redaction speed: every adversarial case of ``tests/security/adversarial.py`` at a given size
(default 1 MB), one line per case, the worst per rule last, and the time to redact a 2,000-message
session as ``GET /api/session`` returns it. Target: each case well under 1 s, linear in the size.

Usage: ``python bench/redact.py [--size 1000000] [--timeout 60] [--json]``. A case is run in a child
process so that a super-linear case (the old patterns) can be stopped at ``--timeout``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.security.adversarial import corpus  # noqa: E402

from threadline.redact import redact_obj, redact_text  # noqa: E402


def _time_case(rule: str, case: str, size: int, result: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    text = corpus(size)[rule][case]
    started = time.perf_counter()
    redact_text(text)
    result.put(time.perf_counter() - started)


def time_case(rule: str, case: str, size: int, timeout: float) -> float | None:
    queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    child = multiprocessing.Process(target=_time_case, args=(rule, case, size, queue))
    child.start()
    child.join(timeout)
    if child.is_alive():
        child.kill()
        child.join()
        return None
    return float(queue.get())


def session_page(messages: int = 2000, chars: int = 500) -> float:
    """Redacting a session of ``messages`` messages of ``chars`` characters, as the API shapes it."""
    words = "the quick brown fox jumps over the lazy dog; token usage, api keys and passwords are discussed "
    body = (words * (chars // len(words) + 1))[:chars]
    session = {"session_id": "0123456789ab", "title": "t", "messages": [
        {"id": i, "seq": i, "role": "user" if i % 2 == 0 else "assistant", "content": body, "status": "complete",
         "timestamp": 1.0} for i in range(messages)]}
    started = time.perf_counter()
    redact_obj(session)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results: dict[str, dict[str, float | None]] = {}
    for rule, cases in corpus(1000).items():
        results[rule] = {}
        for case in cases:
            seconds = time_case(rule, case, args.size, args.timeout)
            results[rule][case] = seconds
            shown = f">{args.timeout:.0f} s (stopped)" if seconds is None else f"{seconds * 1000:8.1f} ms"
            print(f"{rule:8} {case:34} {shown}", flush=True)
    print(f"\nworst per rule at {args.size:,} characters:")
    for rule, cases in results.items():
        worst = max((s if s is not None else float("inf")) for s in cases.values())
        print(f"  {rule:8} {'stopped' if worst == float('inf') else f'{worst * 1000:.1f} ms'}")
    page = session_page()
    print(f"\na 2,000-message session (1 MB of text): {page * 1000:.1f} ms")
    if args.json:
        print(json.dumps({"size": args.size, "cases": results, "session_2000": page}))


if __name__ == "__main__":
    main()
