"""Scheduled tasks (reference §2.7): Hermes WebUI's ``/api/crons`` paths, parameters and job JSON. Each
firing is an ordinary run in the task's session; ``/api/crons/run`` answers with its ``stream_id``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field

from threadline.schedules.jobs import MAX_NAME, MAX_PROMPT
from threadline.web.deps import JSON, TasksDep
from threadline.web.schemas import Body

router = APIRouter(prefix="/api", tags=["scheduled tasks"])

JobIdQuery = Annotated[str, Query(min_length=1, max_length=32)]


class TaskFields(Body):
    prompt: str | None = Field(default=None, max_length=MAX_PROMPT)
    schedule: str | None = Field(default=None, max_length=200)
    name: str | None = Field(default=None, max_length=MAX_NAME)
    model: str | None = Field(default=None, max_length=300)
    skills: list[str] | str | None = Field(default=None, max_length=20)
    skill: str | None = Field(default=None, max_length=64)
    session_id: str | None = Field(default=None, max_length=64)
    timezone: str | None = Field(default=None, max_length=64)
    repeat: int | dict[str, Any] | None = None
    deliver: str | None = Field(default=None, max_length=64)


class TaskUpdate(TaskFields):
    job_id: str | None = Field(default=None, max_length=32)
    id: str | None = Field(default=None, max_length=32)


class TaskRef(Body):
    job_id: str | None = Field(default=None, max_length=32)
    id: str | None = Field(default=None, max_length=32)

    @property
    def ref(self) -> str | None:
        return self.job_id or self.id


@router.get("/crons")
async def list_tasks(tasks: TasksDep) -> JSON:
    """``{jobs: [...]}``: every task with its ``next_run_at``, ``last_status`` and ``last_result``."""
    return await tasks.listing()


@router.post("/crons/create")
async def create_task(body: TaskFields, tasks: TasksDep) -> JSON:
    """``{prompt, schedule, name?, model?, skills?, session_id?, timezone?, repeat?}``. Without
    ``session_id`` the task gets a hidden session of its own."""
    return {"ok": True, "job": await tasks.create(body.model_dump(exclude_unset=True))}


@router.post("/crons/update")
async def update_task(body: TaskUpdate, tasks: TasksDep) -> JSON:
    """``{job_id, ...}`` with any of prompt, name, schedule, timezone, model, skills, repeat."""
    return {"ok": True, "job": await tasks.update(body.model_dump(exclude_unset=True))}


@router.post("/crons/delete")
async def delete_task(body: TaskRef, tasks: TasksDep) -> JSON:
    """Delete a task, its firings and its own session (a running firing is cancelled first)."""
    return await tasks.delete(body.ref)


@router.post("/crons/run")
async def run_task(body: TaskRef, tasks: TasksDep) -> JSON:
    """Fire a task now, outside its schedule; 409 while its session is busy."""
    return await tasks.run(body.ref)


@router.post("/crons/pause")
async def pause_task(body: TaskRef, tasks: TasksDep) -> JSON:
    return {"ok": True, "job": await tasks.pause(body.ref)}


@router.post("/crons/resume")
async def resume_task(body: TaskRef, tasks: TasksDep) -> JSON:
    return {"ok": True, "job": await tasks.resume(body.ref)}


@router.get("/crons/output")
async def task_output(tasks: TasksDep, job_id: JobIdQuery, limit: Annotated[int, Query(ge=1, le=100)] = 10) -> JSON:
    """``{job_id, outputs: [{filename, content, status, trigger, due_at, started_at, finished_at, run_id,
    session_id, answer, error}]}``, newest first."""
    return await tasks.output(job_id, limit)


@router.get("/crons/recent")
async def recent_firings(tasks: TasksDep, since: Annotated[float, Query(ge=0)] = 0) -> JSON:
    """Firings that ended after ``since`` (epoch seconds): ``{completions: [...], now}``."""
    return await tasks.recent(since)
