"""Seed a Threadline home with N sessions x 10 messages, straight through the store.

Rows are written in big batched transactions (thousands of sessions per commit) with the same tables,
triggers and indexes the server uses, so the full-text index is built exactly as in production. Text is
drawn from a vocabulary of a few thousand random words, so a full-text query matches a small fraction
of the messages. Two extra sessions serve the append benchmark: one with 10 messages, one with 10,000;
a third, an agent transcript of 2,000 messages (about 1 MB), the open benchmark (``bench/open.py``).

Usage: ``python bench/seed.py --home DIR [--sessions 100000] [--database-url URL]`` (default from
``BENCH_SESSIONS``; the URL, e.g. an empty PostgreSQL database, replaces the home's SQLite file).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from threadline.store import tables as t  # noqa: E402
from threadline.store.engine import Store  # noqa: E402

VOCABULARY_SIZE = 4000
MESSAGES_PER_SESSION = 10
SESSIONS_PER_BATCH = 5000
SMALL_SESSION = "benchsmall01"
LARGE_SESSION = "benchlarge01"
LARGE_MESSAGES = 10_000
OPEN_SESSION = "benchopen001"  # the session the open benchmark reads: an agent transcript of about 1 MB
OPEN_MESSAGES = 2_000
NOW = 1_780_000_000.0
RNG_SEED = 42
YEAR = 365 * 24 * 3600.0


@dataclass
class SeedResult:
    sessions: int
    messages: int
    seconds: float
    vocabulary: list[str]


def vocabulary(rng: random.Random, size: int = VOCABULARY_SIZE) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choices(letters, k=rng.randint(4, 10))))
    return sorted(words)


def _session_row(session_id: str, title: str, created: float, last: float, count: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": session_id,
        "title": title,
        "workspace": "/srv/bench/workspace",
        "model": "openai/bench-model",
        "project_id": None,
        "pinned": False,
        "archived": False,
        "kind": "chat",
        "parent_id": None,
        "created_at": created,
        "updated_at": last,
        "last_message_at": last,
        "sort_at": last,
        "message_count": count,
        "input_tokens": 0,
        "output_tokens": 0,
        "estimated_cost": 0.0,
        "active_run_id": None,
        "runtime": None,
        "active_leaf_id": None,  # set by _link_paths once the messages have ids
        "extra": {},
        **extra,
    }


def _message_row(session_id: str, seq: int, text: str, stamp: float) -> dict[str, Any]:
    return {
        "session_id": session_id,
        "seq": seq,
        "parent_id": None,  # set by _link_paths
        "position": seq,
        "active_at": stamp,
        "role": "user" if seq % 2 == 0 else "assistant",
        "content": text,
        "parts": None,
        "tool_calls": None,
        "tool_call_id": None,
        "reasoning": None,
        "status": "complete",
        "in_context": True,
        "meta": None,
        "run_id": None,
        "created_at": stamp,
    }


def open_transcript(session_id: str, rng: random.Random, words: list[str], count: int = OPEN_MESSAGES,
                    start: float = NOW - YEAR) -> list[dict[str, Any]]:
    """An agent session's rows: turns of a user question, a tool call, its output, and a markdown answer
    (some with reasoning, parts or attachments), about 500 characters a message, with non-ASCII text and
    a secret now and then, as the redaction and the encoder meet them in real transcripts."""
    secrets = ("OPENAI_API_KEY=sk-proj-" + "a1B2c3D4e5F6g7H8i9J0" * 2, "Authorization: Bearer " + "tok3n" * 8,
               'config = {"api_key": "' + "k9" * 12 + '"}', "ghp_" + "Zx9" * 12)
    rows: list[dict[str, Any]] = []
    stamp = start
    for seq in range(count):
        stamp += rng.random() * 30
        kind = seq % 4
        text = " ".join(rng.choices(words, k=rng.randint(40, 110)))
        row = _message_row(session_id, seq, text, stamp)
        if kind == 0:  # the user's question, sometimes with an attachment
            row.update(role="user", content=text[:300] + " \u00e9t\u00e9 \u2014 \u65e5\u672c\u8a9e?")
            if seq % 20 == 0:
                row["meta"] = {"attachments": [f"notes-{seq}.md"]}
        elif kind == 1:  # a tool call
            call = f"call_{seq:06d}"
            row.update(role="assistant", content="", tool_calls=[{"id": call, "type": "function", "function": {
                "name": "read_file", "arguments": json.dumps({"path": f"src/module_{seq}.py", "limit": 200})}}])
        elif kind == 2:  # its output
            row.update(role="tool", tool_call_id=f"call_{seq - 1:06d}",
                       content="def handler(event):\n    return " + repr(text[:400]) + "\n")
        else:  # the answer: markdown, sometimes reasoning or parts
            answer = f"## Answer {seq}\n\n- {text[:250]}\n- {text[250:]} \u2713 caf\u00e9 \u00fcber"
            row.update(role="assistant", content=answer)
            if seq % 12 == 3:
                row["reasoning"] = " ".join(rng.choices(words, k=40))
            if seq % 16 == 7:
                row["parts"] = [{"type": "text", "text": answer}]
        if seq % 40 == 5:
            row["content"] += "\n" + secrets[(seq // 40) % len(secrets)]
        rows.append(row)
    return rows


def _insert_sql(table: Any, columns: list[str], dollar: bool = False) -> str:
    marks = [f"${i}" if dollar else "?" for i in range(1, len(columns) + 1)]  # asyncpg: $1, $2...
    return f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join(marks)})"


SESSION_COLUMNS = [c.name for c in t.sessions.columns]
MESSAGE_COLUMNS = [c.name for c in t.messages.columns if c.name != "id"]
JSON_COLUMNS = {"extra", "parts", "tool_calls", "meta"}


def _tuples(rows: list[dict[str, Any]], columns: list[str]) -> list[tuple[Any, ...]]:
    """Driver-level parameters: JSON columns encoded here, so SQLAlchemy does no per-row work."""
    return [
        tuple(json.dumps(row[c]) if c in JSON_COLUMNS and row[c] is not None else row[c] for c in columns)
        for row in rows
    ]


async def _write(store: Store, sessions: list[dict[str, Any]], messages: list[dict[str, Any]]) -> None:
    dollar = not store.is_sqlite
    async with store.write() as conn:
        await conn.exec_driver_sql(_insert_sql(t.sessions, SESSION_COLUMNS, dollar), _tuples(sessions, SESSION_COLUMNS))
        if messages:
            await conn.exec_driver_sql(_insert_sql(t.messages, MESSAGE_COLUMNS, dollar),
                                       _tuples(messages, MESSAGE_COLUMNS))


async def _link_paths(store: Store) -> None:
    """Every seeded transcript is one path: each message follows the one before it, the last is the
    session's leaf (set-based, through ``uq_messages_session_position``)."""
    async with store.write() as conn:
        await conn.exec_driver_sql(
            "UPDATE messages SET parent_id = (SELECT p.id FROM messages p WHERE p.session_id = messages.session_id "
            "AND p.position = messages.position - 1) WHERE position > 0"
        )
        await conn.exec_driver_sql(
            "UPDATE sessions SET active_leaf_id = (SELECT m.id FROM messages m WHERE m.session_id = sessions.id "
            "AND m.position = sessions.message_count - 1)"
        )


async def seed(
    home: Path, count: int, *, rng_seed: int = RNG_SEED, progress: bool = True, database_url: str | None = None
) -> SeedResult:
    started = time.perf_counter()
    rng = random.Random(rng_seed)
    words = vocabulary(rng)
    home.mkdir(parents=True, exist_ok=True)
    store = Store(database_url) if database_url else Store.for_sqlite_path(home / "threadline.db")
    await store.migrate()
    total_messages = 0
    try:
        for batch_start in range(0, count, SESSIONS_PER_BATCH):
            sessions: list[dict[str, Any]] = []
            messages: list[dict[str, Any]] = []
            for index in range(batch_start, min(count, batch_start + SESSIONS_PER_BATCH)):
                session_id = f"{rng.getrandbits(48):012x}"
                created = NOW - rng.random() * YEAR
                stamp = created
                for seq in range(MESSAGES_PER_SESSION):
                    stamp += rng.random() * 120
                    text = " ".join(rng.choices(words, k=rng.randint(8, 40)))
                    messages.append(_message_row(session_id, seq, text, stamp))
                title = " ".join(rng.choices(words, k=rng.randint(2, 6))).capitalize()
                sessions.append(_session_row(
                    session_id, title, created, stamp, MESSAGES_PER_SESSION,
                    pinned=index % 500 == 0, archived=index % 20 == 1,
                ))
            await _write(store, sessions, messages)
            total_messages += len(messages)
            if progress:
                done = min(count, batch_start + SESSIONS_PER_BATCH)
                print(f"  seeded {done:,}/{count:,} sessions ({time.perf_counter() - started:.0f} s)", flush=True)
        # The append benchmark's pair: the same shape, 10 vs 10,000 messages.
        for session_id, size in ((SMALL_SESSION, MESSAGES_PER_SESSION), (LARGE_SESSION, LARGE_MESSAGES)):
            stamps = [NOW - YEAR + i for i in range(size)]
            rows = [_message_row(session_id, i, " ".join(rng.choices(words, k=20)), stamps[i]) for i in range(size)]
            await _write(store, [_session_row(session_id, f"Append bench {size}", stamps[0], stamps[-1], size)], rows)
            total_messages += size
        rows = open_transcript(OPEN_SESSION, rng, words)
        await _write(store, [_session_row(OPEN_SESSION, "Open bench", rows[0]["created_at"], rows[-1]["created_at"],
                                          len(rows))], rows)
        total_messages += len(rows)
        await _link_paths(store)
        async with store.write() as conn:
            await conn.exec_driver_sql("ANALYZE")
            if store.is_sqlite:
                await conn.exec_driver_sql("INSERT INTO messages_fts(messages_fts) VALUES ('optimize')")
    finally:
        await store.close()
    return SeedResult(count + 3, total_messages, time.perf_counter() - started, words)


def main() -> None:
    parser = argparse.ArgumentParser(description="Seed a Threadline home for benchmarks.")
    parser.add_argument("--home", required=True, type=Path)
    parser.add_argument("--sessions", type=int, default=int(os.environ.get("BENCH_SESSIONS", 100_000)))
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"),
                        help="seed this (empty) database instead of the home's SQLite file")
    args = parser.parse_args()
    result = asyncio.run(seed(args.home, args.sessions, database_url=args.database_url))
    print(json.dumps({"sessions": result.sessions, "messages": result.messages, "seconds": round(result.seconds, 1)}))


if __name__ == "__main__":
    main()
