"""Importing what Hermes Agent keeps in its home: memories, skills and scheduled jobs, each once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from tests.memory_skills_tasks.hermes_home import make_hermes_home
from threadline.memory.imports import import_memory_files
from threadline.schedules.imports import import_jobs, schedule_text


async def test_memories_skills_and_jobs_come_in_once(client: httpx.AsyncClient, app: FastAPI, tmp_path: Path) -> None:
    services = app.state.services
    hermes = make_hermes_home(tmp_path)
    await client.post("/api/memory/write", json={"section": "memory", "content": "CI runs on Fridays."})

    memory = await import_memory_files(services.memory, hermes / "memories")
    assert memory.added == {"memory": 1, "user": 2} and memory.failed == []
    got = (await client.get("/api/memory")).json()
    assert got["memory"] == "CI runs on Fridays.\n§\nProject uses uv."
    assert got["user"] == "Name: Ada\n§\nPrefers short answers."
    history = (await client.get("/api/memory/history", params={"section": "user"})).json()["revisions"]
    assert history[0]["source"] == "import"

    skills = await services.skills.import_from(hermes / "skills")
    assert sorted(skills.imported) == ["haiku", "pr-review"]
    assert [f[0] for f in skills.failed] == ["broken"]
    listed = {s["name"]: s for s in (await client.get("/api/skills")).json()["skills"]}
    assert listed["pr-review"]["category"] == "github" and listed["pr-review"]["files"] == ["references/checklist.md"]

    jobs = await import_jobs(services.tasks, hermes / "cron" / "jobs.json")
    assert sorted(jobs.imported) == ["Launch", "Morning brief", "Stretch"]
    assert sorted(jobs.skipped) == [("Done", "its repeat count is used up"),
                                    ("Old", "a one-shot whose time has passed")]
    assert [name for name, _ in jobs.failed] == ["Bad", "?"]
    assert any("gone" in note for note in jobs.notes) and any("nowhere/none" in note for note in jobs.notes)
    tasks = {j["name"]: j for j in (await client.get("/api/crons")).json()["jobs"]}
    brief = tasks["Morning brief"]
    assert (brief["schedule"]["expr"], brief["skills"], brief["model"], brief["state"]) == (
        "0 8 * * *", ["haiku"], None, "scheduled")
    assert (brief["hermes_id"], brief["hermes_deliver"], brief["deliver"]) == ("a1b2c3d4e5f6", "telegram", "local")
    stretch = tasks["Stretch"]
    assert (stretch["schedule"]["minutes"], stretch["state"], stretch["repeat"]["times"]) == (90, "paused", 6)
    assert tasks["Launch"]["schedule"]["kind"] == "once" and tasks["Launch"]["repeat"]["times"] == 1

    # A second import adds nothing.
    again = await import_memory_files(services.memory, hermes / "memories")
    assert again.added == {"memory": 0, "user": 0}
    assert (await services.skills.import_from(hermes / "skills")).imported == []
    second = await import_jobs(services.tasks, hermes / "cron" / "jobs.json")
    assert second.imported == [] and len(second.skipped) == 5
    assert len((await client.get("/api/crons")).json()["jobs"]) == 3


async def test_a_jobs_file_that_cannot_be_read_is_reported(app: FastAPI, tmp_path: Path) -> None:
    bad = tmp_path / "jobs.json"
    bad.write_text("{not json")
    report = await import_jobs(app.state.services.tasks, bad)
    assert report.imported == [] and report.failed[0][0] == "jobs.json"
    missing = await import_memory_files(app.state.services.memory, tmp_path / "nowhere")
    assert missing.added == {} and missing.failed == []


def test_schedule_text_reads_every_hermes_shape() -> None:
    assert schedule_text({"schedule": {"kind": "cron", "expr": "*/5 * * * *"}}) == "*/5 * * * *"
    assert schedule_text({"schedule": {"kind": "interval", "minutes": 30}}) == "every 30m"
    assert schedule_text({"schedule": {"kind": "once", "run_at": "2030-01-01T09:00:00+00:00"}}) == (
        "2030-01-01T09:00:00+00:00")
    assert schedule_text({"schedule": "every 2h"}) == "every 2h"
    assert schedule_text({"schedule": {"kind": "weird"}, "schedule_display": "@daily"}) == "@daily"
    assert schedule_text({}) is None


@pytest.mark.slow
def test_import_hermes_with_a_hermes_home_and_import_skills(tmp_path: Path) -> None:
    """The command as a user runs it: ``import hermes ~/.hermes`` brings the memories, skills, jobs and the
    WebUI's sessions; ``import skills DIR`` a folder of skills; a second run adds nothing."""
    hermes = make_hermes_home(tmp_path)
    sessions = hermes / "webui" / "sessions"
    sessions.mkdir(parents=True)
    (sessions / "0000000abc01.json").write_text(json.dumps({
        "session_id": "0000000abc01", "title": "From Hermes", "created_at": 1_761_000_000.0,
        "updated_at": 1_761_000_100.0, "messages": [{"role": "user", "content": "hi"},
                                                    {"role": "assistant", "content": "hello"}]}))
    home = tmp_path / "threadline"
    env = {k: v for k, v in os.environ.items() if not k.startswith("THREADLINE_")}
    command = [sys.executable, "-m", "threadline", "import", "hermes", str(hermes), "--home", str(home)]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 1, first.stdout + first.stderr  # the broken skill and the bad job are reported
    out = first.stdout
    assert "Memory: entries added: 2 memory, 2 user" in out
    assert "Skills: 2 imported" in out and "failed broken" in out
    assert "Scheduled tasks: 3 imported" in out and "skipped Old: a one-shot whose time has passed" in out
    assert "Imported 1 session(s)" in out
    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert "entries added: 0 memory, 0 user" in second.stdout and "Skills: 0 imported" in second.stdout
    assert "Scheduled tasks: 0 imported" in second.stdout and "Imported 0 session(s)" in second.stdout

    extra = tmp_path / "claude-skills"
    (extra / "deploy").mkdir(parents=True)
    (extra / "deploy" / "SKILL.md").write_text("---\nname: deploy\ndescription: Deploy the app\n---\nShip it.\n")
    skills = [sys.executable, "-m", "threadline", "import", "skills", str(extra), "--home", str(home)]
    result = subprocess.run(skills, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "Skills: 1 imported" in result.stdout, result.stdout + result.stderr
    (extra / "deploy" / "SKILL.md").write_text("---\nname: deploy\ndescription: Deploy it again\n---\nShip.\n")
    again = subprocess.run([*skills, "--overwrite"], env=env, capture_output=True, text=True, timeout=120)
    assert "Skills: 1 imported" in again.stdout
    assert (home / "skills" / "deploy" / "SKILL.md").read_text().startswith("---\nname: deploy\ndescription: Deploy it")
    missing = subprocess.run([*skills[:-3], str(tmp_path / "nope")], env=env, capture_output=True, text=True,
                             timeout=60)
    assert missing.returncode == 2
