"""Import Hermes' scheduled jobs (``<HERMES_HOME>/cron/jobs.json``: ``{"jobs": [...]}``). Each job becomes
a task with its name, prompt, schedule, skills and repeat count, paused when it was paused; a job
already imported (``extra.hermes_id``) is skipped, as is one with nothing left to run (a one-shot whose
time has passed, a repeat count used up). A skill or model unknown here is dropped and reported, the
task kept."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from threadline.errors import BadRequest, NotFound
from threadline.schedules.service import TaskService

MAX_FILE_BYTES = 20 * 1024 * 1024


@dataclass
class JobImport:
    imported: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def schedule_text(job: dict[str, Any]) -> str | None:
    """The schedule as a user would write it, from Hermes' parsed ``schedule`` (or its display text)."""
    schedule = job.get("schedule")
    if isinstance(schedule, str):
        return schedule
    if isinstance(schedule, dict):
        kind = schedule.get("kind") or schedule.get("type")
        if kind == "cron" and isinstance(schedule.get("expr"), str):
            return str(schedule["expr"])
        minutes = schedule.get("minutes")
        if kind == "interval" and isinstance(minutes, int | float) and not isinstance(minutes, bool) and minutes > 0:
            return f"every {minutes:g}m"
        if kind == "once" and isinstance(schedule.get("run_at"), str):
            return str(schedule["run_at"])
    display = job.get("schedule_display")
    return display if isinstance(display, str) else None


def _read(path: Path) -> list[Any]:
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ValueError(f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
    data = json.loads(path.read_text(encoding="utf-8"))
    jobs = data.get("jobs") if isinstance(data, dict) else data
    if not isinstance(jobs, list):
        raise ValueError("expected {\"jobs\": [...]}")
    return jobs


async def import_jobs(tasks: TaskService, path: Path) -> JobImport:
    report = JobImport()
    try:
        jobs = await asyncio.to_thread(_read, path)
    except (OSError, ValueError) as exc:
        report.failed.append((path.name, str(exc)))
        return report
    known = {j.get("hermes_id") for j in await tasks.jobs.all()}
    for job in jobs:
        if not isinstance(job, dict):
            report.failed.append(("?", "a job that is not an object"))
            continue
        hermes_id = str(job.get("id") or "")[:64]
        label = str(job.get("name") or hermes_id or "?")[:80]
        if hermes_id and hermes_id in known:
            report.skipped.append((label, "already imported"))
            continue
        try:
            created = await _import_one(tasks, job, hermes_id, report)
        except (BadRequest, NotFound) as exc:
            reason = exc.message
            if "has already passed" in reason:
                report.skipped.append((label, "a one-shot whose time has passed"))
            else:
                report.failed.append((label, reason))
            continue
        if created:
            report.imported.append(label)
    tasks.scheduler.wake()
    return report


async def _import_one(tasks: TaskService, job: dict[str, Any], hermes_id: str, report: JobImport) -> bool:
    label = str(job.get("name") or hermes_id)
    repeat = job.get("repeat")
    times, done = (repeat.get("times"), repeat.get("completed") or 0) if isinstance(repeat, dict) else (None, 0)
    if isinstance(times, int) and not isinstance(times, bool) and times > 0:
        if isinstance(done, int) and done >= times:
            report.skipped.append((label, "its repeat count is used up"))
            return False
        times -= done if isinstance(done, int) else 0
    else:
        times = None
    skills = [s for s in job.get("skills") or ([job["skill"]] if job.get("skill") else []) if isinstance(s, str)]
    known_skills = [s.name for s in await tasks.skills.all()]
    dropped = [s for s in skills if s not in known_skills]
    if dropped:
        report.notes.append(f"{label}: skills not found here, left out: {', '.join(dropped)}")
    model = job.get("model") if isinstance(job.get("model"), str) and job.get("model") else None
    if model is not None:
        try:
            await tasks.runs.check_model(None, model, None)
        except BadRequest:
            report.notes.append(f"{label}: model {model!r} is not available here; it uses the default model")
            model = None
    body = {"prompt": job.get("prompt"), "schedule": schedule_text(job), "name": job.get("name"), "model": model,
            "skills": [s for s in skills if s in known_skills], "repeat": times}
    kept = {"hermes_id": hermes_id} if hermes_id else {}
    if isinstance(job.get("deliver"), str) and job["deliver"] != "local":
        kept["hermes_deliver"] = job["deliver"][:64]  # where Hermes sent it; here: a notice and the task's chat
    created = await tasks.create(body, extra=kept)
    if job.get("state") == "paused" or job.get("enabled") is False:
        await tasks.pause(created["job_id"])
    return True
