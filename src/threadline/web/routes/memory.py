"""Memory (reference §2.7): Hermes WebUI's ``GET /api/memory`` and ``POST /api/memory/write``, plus the
history of each document and undo. ``project_id`` selects a project's memory instead of the shared one
(the ``user`` document is always the shared one). Answers are redacted like every JSON answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from threadline.memory.service import MAX_DOCUMENT_CHARS
from threadline.web.deps import JSON, MemoryDep
from threadline.web.schemas import Body

router = APIRouter(prefix="/api", tags=["memory"])

ProjectQuery = Annotated[str | None, Query(max_length=64)]


class MemoryWrite(Body):
    section: str = Field(min_length=1, max_length=16)
    content: str = Field(max_length=MAX_DOCUMENT_CHARS)
    project_id: str | None = Field(default=None, max_length=64)
    expected_revision: int | None = Field(default=None, ge=0)


class MemoryUndo(Body):
    section: str = Field(min_length=1, max_length=16)
    project_id: str | None = Field(default=None, max_length=64)
    revision: int | None = Field(default=None, ge=0)


@router.get("/memory")
async def get_memory(memory: MemoryDep, project_id: ProjectQuery = None) -> JSON:
    """``{memory, user, memory_mtime, user_mtime}`` (Hermes WebUI's keys; no ``*_path``: the documents are
    kept in the database) plus each document's ``*_revision``, ``*_limit`` (its budget in the
    instructions, in characters) and ``*_entries``."""
    return await memory.public(await memory.scope_for(project_id))


@router.post("/memory/write")
async def write_memory(body: MemoryWrite, memory: MemoryDep) -> JSON:
    """Replace a document. With ``expected_revision``, 409 (and nothing written) when it changed since."""
    scope = await memory.scope_for(body.project_id)
    await memory.write(scope, body.section, body.content, expected_revision=body.expected_revision)
    return {"ok": True} | await memory.public(scope)


@router.get("/memory/history")
async def memory_history(
    memory: MemoryDep, section: Annotated[str, Query(min_length=1, max_length=16)], project_id: ProjectQuery = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> JSON:
    """The document's revisions, newest first: ``{revision, content, source, note, session_id, created_at}``."""
    scope = await memory.scope_for(project_id)
    return {"section": section, "revisions": await memory.history(scope, section, limit)}


@router.post("/memory/undo")
async def undo_memory(body: MemoryUndo, memory: MemoryDep) -> JSON:
    """Restore ``revision`` (default: the one before the current) as a new revision."""
    scope = await memory.scope_for(body.project_id)
    await memory.undo(scope, body.section, body.revision)
    return {"ok": True} | await memory.public(scope)
