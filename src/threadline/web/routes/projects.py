"""Projects (reference §2.6). Preferences (``/api/settings``) are in ``settings.py``."""

from __future__ import annotations

from fastapi import APIRouter

from threadline.web.deps import JSON, ProjectsDep
from threadline.web.schemas import ProjectCreate, ProjectRef, ProjectRename

router = APIRouter(prefix="/api", tags=["projects"])


@router.get("/projects")
async def list_projects(projects: ProjectsDep) -> JSON:
    return {"projects": await projects.list()}


@router.post("/projects/create")
async def create_project(body: ProjectCreate, projects: ProjectsDep) -> JSON:
    return {"ok": True, "project": await projects.create(body.name, body.color, instructions=body.instructions)}


@router.post("/projects/rename")
async def rename_project(body: ProjectRename, projects: ProjectsDep) -> JSON:
    project = await projects.rename(body.project_id, body.name, body.color, instructions=body.instructions)
    return {"ok": True, "project": project}


@router.post("/projects/delete")
async def delete_project(body: ProjectRef, projects: ProjectsDep) -> JSON:
    await projects.delete(body.project_id)
    return {"ok": True}
