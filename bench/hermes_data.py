"""Generate a Hermes WebUI ``sessions/`` directory (reference §1.1, §1.3, §1.4) for the import benchmark."""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path
from typing import Any


def hermes_session(rng: random.Random, words: list[str], *, turns: int, project_id: str | None) -> dict[str, Any]:
    sid = uuid.UUID(int=rng.getrandbits(128)).hex[:12]
    created = 1_760_000_000 + rng.random() * 10_000_000
    stamp = created
    messages: list[dict[str, Any]] = []
    for turn in range(turns):
        stamp += rng.random() * 600
        question = " ".join(rng.choices(words, k=rng.randint(5, 25)))
        messages.append({"role": "user", "content": question, "timestamp": int(stamp)})
        if turn % 3 == 1:
            call_id = f"call_{uuid.UUID(int=rng.getrandbits(128)).hex[:16]}"
            messages.append({
                "role": "assistant",
                "content": "",
                "tool_calls": [{"id": call_id, "type": "function",
                                "function": {"name": "read_file", "arguments": json.dumps({"path": "README.md"})}}],
                "timestamp": int(stamp) + 1,
            })
            messages.append({"role": "tool", "tool_call_id": call_id, "content": "# Project\n" * 5})
        answer = " ".join(rng.choices(words, k=rng.randint(20, 120)))
        if turn % 4 == 3:
            messages.append({"role": "assistant", "timestamp": int(stamp) + 2, "reasoning": "thinking...",
                             "content": [{"type": "thinking", "thinking": "hmm"}, {"type": "text", "text": answer}]})
        else:
            messages.append({"role": "assistant", "content": answer, "_ts": stamp + 2.5})
    return {
        "session_id": sid,
        "title": messages[0]["content"][:64],
        "workspace": "/home/someone/projects/demo",
        "model": "openai/gpt-5.4-mini",
        "created_at": created,
        "updated_at": stamp + 3,
        "pinned": rng.random() < 0.05,
        "archived": rng.random() < 0.1,
        "project_id": project_id,
        "profile": "default",
        "input_tokens": rng.randint(100, 100_000),
        "output_tokens": rng.randint(100, 50_000),
        "estimated_cost": round(rng.random(), 4),
        "active_stream_id": None,
        "pending_user_message": None,
        "messages": messages,
        "tool_calls": [],
    }


def write_hermes_dir(state_dir: Path, count: int, *, seed: int = 7, turns: int = 6) -> Path:
    """Write ``count`` sessions under ``state_dir/sessions`` plus ``state_dir/projects.json``."""
    rng = random.Random(seed)
    words = ["".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(3, 9))) for _ in range(2000)]
    sessions_dir = state_dir / "sessions"
    sessions_dir.mkdir(parents=True, exist_ok=True)
    projects = [{"project_id": uuid.UUID(int=rng.getrandbits(128)).hex[:12], "name": f"Project {i}",
                 "color": "#3b82f6", "created_at": 1_760_000_000 + i} for i in range(5)]
    (state_dir / "projects.json").write_text(json.dumps(projects))
    index = []
    for _ in range(count):
        project = rng.choice(projects)["project_id"] if rng.random() < 0.3 else None
        session = hermes_session(rng, words, turns=turns, project_id=project)
        (sessions_dir / f"{session['session_id']}.json").write_text(json.dumps(session, indent=2))
        index.append({k: v for k, v in session.items() if k != "messages"})
    (sessions_dir / "_index.json").write_text(json.dumps(index))
    return sessions_dir
