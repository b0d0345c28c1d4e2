"""Projects (reference §2.6) and preferences (``/api/settings``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body

from threadline.errors import BadRequest
from threadline.web.deps import JSON, PreferencesDep, ProjectsDep
from threadline.web.schemas import ProjectCreate, ProjectRef, ProjectRename

router = APIRouter(prefix="/api", tags=["projects"])


@router.get("/projects")
async def list_projects(projects: ProjectsDep) -> JSON:
    return {"projects": await projects.list()}


@router.post("/projects/create")
async def create_project(body: ProjectCreate, projects: ProjectsDep) -> JSON:
    return {"ok": True, "project": await projects.create(body.name, body.color)}


@router.post("/projects/rename")
async def rename_project(body: ProjectRename, projects: ProjectsDep) -> JSON:
    return {"ok": True, "project": await projects.rename(body.project_id, body.name, body.color)}


@router.post("/projects/delete")
async def delete_project(body: ProjectRef, projects: ProjectsDep) -> JSON:
    await projects.delete(body.project_id)
    return {"ok": True}


settings_router = APIRouter(prefix="/api", tags=["settings"])


@settings_router.get("/settings")
async def get_settings(preferences: PreferencesDep) -> JSON:
    return await preferences.get_all()


@settings_router.post("/settings")
async def update_settings(preferences: PreferencesDep, body: dict[str, Any] = Body(...)) -> JSON:  # noqa: B008
    if not isinstance(body, dict):
        raise BadRequest("body must be a JSON object")
    return await preferences.update(body)
