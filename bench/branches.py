"""Versions cost nothing on the hot paths: a page of the active path, an append and the model's context
on a session with many versions against the same session without them.

Two sessions get the same 10,000-message active path; the second also gets ``--versions`` other versions
(default 200) of 20 messages each, branching at random depths, so its tree holds 14,000 messages. Then,
in-process through ``SessionService`` on a fresh database (SQLite, or ``--database-url``):

- a page (``msg_limit=50`` before a random position, with each message's versions): median over 300;
- an append (one INSERT and one UPDATE): median over 200;
- the model's context (``context_messages``, the whole path): median over 20;
- switching versions (``POST /api/session/branch``'s work), near the end (20 messages change) and near the
  start (about 10,000 change): the cost follows the messages that change, not the tree.

Prints a table, writes ``bench/results/branches.json`` (``branches-<dialect>.json`` with a URL, see
``bench/results.py``) and exits 1
when a branched session's page or append is more than ``RATIO`` times the linear one's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from bench.results import database_name, save  # noqa: E402
from threadline.sessions import branches, history  # noqa: E402
from threadline.sessions.rows import NewMessage  # noqa: E402
from threadline.sessions.service import SessionService  # noqa: E402

PATH_LENGTH = 10_000
VERSION_LENGTH = 20
RATIO = 2.0


async def _timed(calls: int, call: Callable[[int], Awaitable[Any]]) -> float:
    for index in range(10):  # warm-up
        await call(index)
    times = []
    for index in range(calls):
        started = time.perf_counter()
        await call(index)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


async def _path(sessions: SessionService, session_id: str) -> None:
    """A stored session with a ``PATH_LENGTH``-message active path."""
    async with sessions.store.write() as conn:
        for index in range(PATH_LENGTH):
            role = "user" if index % 2 == 0 else "assistant"
            await sessions.append_message(conn, session_id, NewMessage(role=role, content=f"message {index} text"))


async def _versions(sessions: SessionService, session_id: str, count: int, rng: random.Random) -> None:
    """``count`` other versions at random depths; the original path is shown again afterwards."""
    async with sessions.store.read() as conn:
        leaf = (await sessions.row(conn, session_id))["active_leaf_id"]
    for number in range(count):
        depth = rng.randrange(PATH_LENGTH - VERSION_LENGTH)
        await history.truncate(sessions, session_id, depth)
        async with sessions.store.write() as conn:
            for index in range(VERSION_LENGTH):
                role = "user" if (depth + index) % 2 == 0 else "assistant"
                await sessions.append_message(conn, session_id, NewMessage(role=role, content=f"v{number} {index}"))
    await history.switch(sessions, session_id, leaf, msg_limit=1)


async def bench(database_url: str | None, versions: int) -> dict[str, Any]:
    from threadline.services import Services
    from threadline.settings import Settings

    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home), default_workspace=Path(home) / "workspace", detect_ollama=False,
                            database_url=database_url)
        services = await Services.open(settings)
        sessions = services.sessions
        try:
            linear = (await sessions.create_draft())["session_id"]
            branched = (await sessions.create_draft())["session_id"]
            started = time.perf_counter()
            await _path(sessions, linear)
            await _path(sessions, branched)
            await _versions(sessions, branched, versions, rng)
            built = time.perf_counter() - started
            async with sessions.store.read() as conn:
                rows = await branches.count_rows(conn, branched)
            result: dict[str, Any] = {"path_messages": PATH_LENGTH, "versions": versions, "tree_messages": rows,
                                      "build_seconds": round(built, 1)}
            positions = [rng.randrange(50, PATH_LENGTH) for _ in range(310)]
            for name, sid in (("linear", linear), ("branched", branched)):
                result[f"page_{name}_median_ms"] = round(await _timed(
                    300, lambda i, sid=sid: sessions.get(sid, msg_limit=50, msg_before=positions[i])), 3)
                result[f"context_{name}_median_ms"] = round(await _timed(
                    20, lambda _i, sid=sid: sessions.context_messages(sid)), 3)
                result[f"append_{name}_median_ms"] = round(await _timed(
                    200, lambda i, sid=sid: sessions.append_user_message(sid, f"append {i}")), 3)
            result["page_ratio"] = round(result["page_branched_median_ms"] / result["page_linear_median_ms"], 3)
            result["append_ratio"] = round(result["append_branched_median_ms"] / result["append_linear_median_ms"], 3)
            result.update(await _switches(sessions, branched))
        finally:
            await services.close()
    return result


async def _switches(sessions: SessionService, session_id: str) -> dict[str, Any]:
    """Back and forth between two versions of one message, near the end and near the start of the path."""
    out: dict[str, Any] = {}
    for name, keep in (("end", PATH_LENGTH - VERSION_LENGTH), ("start", 2)):
        await history.truncate(sessions, session_id, keep)
        async with sessions.store.write() as conn:
            await sessions.append_message(conn, session_id, NewMessage(role="user", content=f"switch {name}"))
            here = await branches.last_on_path(conn, session_id)
            versions = await branches.versions(conn, session_id, here["id"])
        ids = [v["message_id"] for v in versions["versions"]]
        other = next(i for i in ids if i != here["id"])
        targets = [other, here["id"]]
        changed = []

        async def flip(index: int, targets: list[int] = targets, changed: list[int] = changed) -> None:
            async with sessions.store.write() as conn:
                row = await sessions.row(conn, session_id, lock=True)
                changed.append((await branches.switch(conn, row, targets[index % 2])).left)

        out[f"switch_{name}_median_ms"] = round(await _timed(20, flip), 3)
        out[f"switch_{name}_messages_changed"] = max(changed)
    return out


def report(result: dict[str, Any]) -> bool:
    rows = [
        ("tree", f"{result['tree_messages']:,} messages, {result['versions']} versions; "
                 f"active path {result['path_messages']:,}"),
        ("page of 50, linear", f"median {result['page_linear_median_ms']} ms"),
        ("page of 50, branched", f"median {result['page_branched_median_ms']} ms ({result['page_ratio']}x)"),
        ("append, linear", f"median {result['append_linear_median_ms']} ms"),
        ("append, branched", f"median {result['append_branched_median_ms']} ms ({result['append_ratio']}x)"),
        ("model context, linear", f"median {result['context_linear_median_ms']} ms"),
        ("model context, branched", f"median {result['context_branched_median_ms']} ms"),
        ("switch near the end", f"median {result['switch_end_median_ms']} ms "
                                f"({result['switch_end_messages_changed']} messages change)"),
        ("switch near the start", f"median {result['switch_start_median_ms']} ms "
                                  f"({result['switch_start_messages_changed']:,} messages change)"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    ok = result["page_ratio"] <= RATIO and result["append_ratio"] <= RATIO
    print(f"\n  targets: page and append on the branched session within {RATIO}x of the linear one: "
          f"{'met' if ok else 'MISSED'}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"),
                        help="an empty database to use instead of a temporary SQLite file")
    parser.add_argument("--versions", type=int, default=200)
    args = parser.parse_args()
    result = asyncio.run(bench(args.database_url, args.versions))
    result["database"] = database_name(args.database_url)
    ok = report(result)
    save("branches", result)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
