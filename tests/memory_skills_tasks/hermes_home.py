"""A Hermes home as Hermes Agent leaves it: ``memories/``, ``skills/`` (with categories) and
``cron/jobs.json`` (its job JSON: parsed schedules, repeat counts, states)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path


def skill(folder: Path, name: str, description: str, body: str = "Steps.") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "SKILL.md").write_text(f"---\nname: {name}\ndescription: {description}\n---\n\n{body}\n")


def make_hermes_home(root: Path) -> Path:
    home = root / ".hermes"
    (home / "memories").mkdir(parents=True)
    (home / "memories" / "MEMORY.md").write_text("Project uses uv.\n§\nCI runs on Fridays.\n")
    (home / "memories" / "USER.md").write_text("Name: Ada\n§\nPrefers short answers.")
    skill(home / "skills" / "github" / "pr-review", "pr-review", "Review a pull request", "Read the diff first.")
    (home / "skills" / "github" / "pr-review" / "references").mkdir()
    (home / "skills" / "github" / "pr-review" / "references" / "checklist.md").write_text("- tests\n- docs\n")
    skill(home / "skills" / "haiku", "haiku", "Write a haiku")
    (home / "skills" / "broken").mkdir()
    (home / "skills" / "broken" / "SKILL.md").write_text("no front matter")
    (home / "cron").mkdir()
    future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    past = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    jobs = [
        {"id": "a1b2c3d4e5f6", "name": "Morning brief", "prompt": "Summarize my inbox",
         "schedule": {"kind": "cron", "expr": "0 8 * * *", "display": "0 8 * * *"}, "skills": ["haiku", "gone"],
         "model": "nowhere/none", "repeat": {"times": None, "completed": 3}, "enabled": True, "state": "scheduled",
         "deliver": "telegram", "origin": {"platform": "telegram", "chat_id": "42"}},
        {"id": "b2c3d4e5f6a1", "name": "Stretch", "prompt": "Remind me to stretch",
         "schedule": {"kind": "interval", "minutes": 90, "display": "every 90m"},
         "repeat": {"times": 10, "completed": 4},
         "enabled": False, "state": "paused"},
        {"id": "c3d4e5f6a1b2", "name": "Launch", "prompt": "Post the launch note",
         "schedule": {"kind": "once", "run_at": future, "display": "once"}, "repeat": {"times": 1, "completed": 0}},
        {"id": "d4e5f6a1b2c3", "name": "Old", "prompt": "Too late", "schedule": {"kind": "once", "run_at": past},
         "repeat": {"times": 1, "completed": 0}},
        {"id": "e5f6a1b2c3d4", "name": "Done", "prompt": "Finished", "schedule": {"kind": "cron", "expr": "@daily"},
         "repeat": {"times": 2, "completed": 2}},
        {"id": "f6a1b2c3d4e5", "name": "Bad", "prompt": "", "schedule": {"kind": "cron", "expr": "@daily"}},
        "not a job",
    ]
    (home / "cron" / "jobs.json").write_text(json.dumps({"jobs": jobs, "updated_at": future}))
    return home
