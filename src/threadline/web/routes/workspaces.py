"""Saved workspaces (reference §2.5): ``/api/workspaces`` and its add, remove, rename and reorder,
with Hermes WebUI's paths and shapes. The work is ``sessions.workspaces.SavedWorkspaces``'s."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field, StrictBool

from threadline.web.deps import JSON, SessionsDep
from threadline.web.schemas import Body

router = APIRouter(prefix="/api", tags=["workspaces"])

PathField = Field(max_length=4096)


class WorkspaceAdd(Body):
    path: str = PathField
    name: str | None = Field(default=None, max_length=1000)
    create: StrictBool = False


class WorkspaceRef(Body):
    path: str = PathField


class WorkspaceRename(WorkspaceRef):
    name: str = Field(max_length=1000)


class WorkspaceReorder(Body):
    paths: list[Any] = Field(max_length=1000)


@router.get("/workspaces")
async def list_workspaces(sessions: SessionsDep) -> JSON:
    """``{workspaces: [{path, name}], last}``: the saved list in its order, and the workspace a new
    session gets when it names none (the default workspace until one is used)."""
    return await sessions.workspaces.public()


@router.get("/workspaces/suggest")
async def suggest(sessions: SessionsDep, prefix: Annotated[str, Query(max_length=4096)] = "") -> JSON:
    """``{suggestions, prefix}``: folders under the allowed roots whose path starts with ``prefix``."""
    return await sessions.workspaces.suggest(prefix)


@router.post("/workspaces/add")
async def add(body: WorkspaceAdd, sessions: SessionsDep) -> JSON:
    """Save a folder (``create: true`` makes it first); 400 for a system folder, the home folder
    itself, the state directory, a folder outside the allowed roots, or one already saved."""
    return await sessions.workspaces.add(body.path, body.name, body.create)


@router.post("/workspaces/remove")
async def remove(body: WorkspaceRef, sessions: SessionsDep) -> JSON:
    """Forget a saved folder (the folder itself is not touched); a path not in the list changes nothing."""
    return await sessions.workspaces.remove(body.path)


@router.post("/workspaces/rename")
async def rename(body: WorkspaceRename, sessions: SessionsDep) -> JSON:
    return await sessions.workspaces.rename(body.path, body.name)


@router.post("/workspaces/reorder")
async def reorder(body: WorkspaceReorder, sessions: SessionsDep) -> JSON:
    """``{paths: [...]}``: these first, in this order; the others keep their order after them."""
    return await sessions.workspaces.reorder(body.paths)
