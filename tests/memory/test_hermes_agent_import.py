"""Importing what Hermes Agent keeps in its home: memories, skills and scheduled jobs, each once."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI

from tests.memory.hermes_home import make_hermes_home
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
